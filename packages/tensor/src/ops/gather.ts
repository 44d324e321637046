/**
 * Gathering rows by index: how a batch is cut from a dataset that lives on the device
 * (the indices come from the host's shuffle; the data never leaves the device).
 */
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { DType } from "../dtype.ts"
import type { DeviceHandle, Tensor } from "../tensor.ts"
import { wrap } from "../tensor.ts"
import { deviceOf, result, retype } from "./record.ts"

const checkIndex = (op: string, index: Tensor<unknown, DType>): number => {
  if (index.dtype !== "int32" || index.dims.length !== 1) {
    throw new ShapeError({ op, reason: `indices must be int32 [B], got ${index.dtype} ${formatShape(index.dims)}`, shapes: [index.dims] })
  }
  return index.dims[0]!
}

/**
 * `gatherRows(a, index)`: rows of a [N, ...rest] (float32 or int32) at int32 `index` [B] →
 * [B, ...rest]. Indices must lie in [0, N): the caller's to ensure (out-of-range reads are
 * clamped on the GPU and undefined). Not differentiable.
 */
export const gatherRows = <D extends DType>(a: Tensor<unknown, D>, index: Tensor<[number], "int32">): Tensor<Array<number>, D> => {
  const rows = checkIndex("gatherRows", index)
  if (a.dims.length < 1) throw new ShapeError({ op: "gatherRows", reason: "needs a tensor with at least one dim", shapes: [a.dims] })
  const cols = a.dims.slice(1).reduce((p, d) => p * d, 1)
  const device = deviceOf("gatherRows", a, index)
  return retype(result(device, device.backend.gatherRows(a.storage, index.storage, rows, cols), [rows, ...a.dims.slice(1)], a.dtype, []))
}

/** True on little-endian hosts (where an Int32Array view of the bytes is already the packing). */
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/**
 * Uploads bytes (samples of `features` bytes each) packed 4 to an int32 word,
 * little-endian, zero-padded to a whole word: a [⌈length/4⌉] int32 tensor for `gatherBytes`.
 * A quarter of the memory of int32 pixels, a sixteenth of normalised float32 ones.
 */
export const uploadBytes = (device: DeviceHandle, bytes: Uint8Array): Tensor<[number], "int32"> => {
  const words = Math.ceil(bytes.length / 4)
  const padded = new Uint8Array(words * 4)
  padded.set(bytes)
  let data = new Int32Array(padded.buffer)
  if (!littleEndian) {
    const view = new DataView(padded.buffer)
    data = new Int32Array(words)
    for (let i = 0; i < words; i++) data[i] = view.getInt32(i * 4, true)
  }
  return wrap(device, device.backend.upload(data), [words] as [number], "int32")
}

/**
 * `gatherBytes(packed, index, table, features)`: the samples at `index` [B] of the packed
 * bytes of `uploadBytes`, each byte mapped through `table` [256] (e.g. MNIST's
 * ((p/255) − mean)/std, as the CPU normalises) → float32 [B, features]. Indices must lie
 * within the packed samples. Not differentiable.
 */
export const gatherBytes = (packed: Tensor<[number], "int32">, index: Tensor<[number], "int32">, table: Tensor<[256]>, features: number): Tensor<[number, number]> => {
  const rows = checkIndex("gatherBytes", index)
  if (packed.dtype !== "int32" || packed.dims.length !== 1) throw new ShapeError({ op: "gatherBytes", reason: `packed bytes must be int32 [W], got ${packed.dtype} ${formatShape(packed.dims)}`, shapes: [packed.dims] })
  if (table.dtype !== "float32" || table.dims.length !== 1 || table.dims[0] !== 256) throw new ShapeError({ op: "gatherBytes", reason: `the table must be float32 [256], got ${formatShape(table.dims)}`, shapes: [table.dims] })
  if (!Number.isInteger(features) || features < 1) throw new ShapeError({ op: "gatherBytes", reason: `features must be a positive integer, got ${features}`, shapes: [] })
  const device = deviceOf("gatherBytes", packed, index, table)
  return retype(result(device, device.backend.gatherBytes(packed.storage, index.storage, table.storage, rows, features), [rows, features], "float32", []))
}
