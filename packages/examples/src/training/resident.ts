/**
 * A training set kept on the device: the images as bytes packed 4 to a word (MNIST's
 * 60,000 × 784 pixels take 47 MB instead of 188 MB of float32), the labels as int32 and
 * the 256-entry normalisation table. A step then uploads only its batch's indices (from
 * the loader's seeded shuffle) and gathers x and y on the device — bit-identical to the
 * host loader's normalised batches, since both use the same table.
 */
import type { Dataset } from "@effect-nn/data"
import { MNIST_STATS, normalizationTable, type NormalizationStats } from "@effect-nn/data"
import type { DeviceHandle, Tensor } from "@effect-nn/tensor"
import { Device, DeviceError, fromHostSync, gatherBytes, gatherRows, uploadBytes } from "@effect-nn/tensor"
import { Effect } from "effect"

/** A dataset resident on the device (see the module comment). */
export interface ResidentDataset {
  readonly count: number
  readonly features: number
  /** The images, packed bytes (`uploadBytes`). */
  readonly images: Tensor<[number], "int32">
  /** One int32 class index per sample. */
  readonly labels: Tensor<[number], "int32">
  /** byte → normalised float32. */
  readonly table: Tensor<[256]>
}

/**
 * Uploads `dataset` to the current device when its packed images fit one binding
 * (`maxBindingBytes`); `undefined` otherwise (then batches are streamed from the host).
 * The tensors live in the caller's memory arena: dispose them with `dispose` when done.
 */
export const residentDataset = (dataset: Dataset, stats: NormalizationStats = MNIST_STATS): Effect.Effect<ResidentDataset | undefined, DeviceError, Device> =>
  Effect.flatMap(Effect.service(Device), (device) =>
    Effect.try({ try: () => {
      const bytes = dataset.count * dataset.features
      if (Math.ceil(bytes / 4) * 4 > device.backend.maxBindingBytes || dataset.count * 4 > device.backend.maxBindingBytes) return undefined
      return {
        count: dataset.count,
        features: dataset.features,
        images: uploadBytes(device, dataset.images.subarray(0, bytes)),
        labels: fromHostSync(device, [dataset.count], Int32Array.from(dataset.labels.subarray(0, dataset.count)), "int32"),
        table: fromHostSync(device, [256] as [256], normalizationTable(stats))
      }
    }, catch: (e) => (e instanceof DeviceError ? e : new DeviceError({ reason: `uploading the training set failed: ${String(e)}`, cause: e })) }))

/** x [size, features] and y [size] of the samples at `indices`, gathered on the device. */
export const residentBatch = (data: ResidentDataset, device: DeviceHandle, indices: Int32Array): { readonly x: Tensor<[number, number]>; readonly y: Tensor<[number], "int32"> } => {
  const index = fromHostSync(device, [indices.length], indices, "int32")
  return {
    x: gatherBytes(data.images, index, data.table, data.features),
    y: gatherRows(data.labels, index) as Tensor<[number], "int32">
  }
}
