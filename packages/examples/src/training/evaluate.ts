/**
 * Accuracy of a classifier on a dataset, in eval mode: forward passes only (nothing is
 * recorded for backward), argmax on the device, one readback per batch.
 */
import type { Dataset } from "@effect-nn/data"
import { normalizeImages } from "@effect-nn/data"
import type { AnyModule, ModelOf } from "@effect-nn/layers"
import { Mode, forward, run } from "@effect-nn/layers"
import type { Tensor } from "@effect-nn/tensor"
import { Device, argmax, fromHostSync, tidy, toArray } from "@effect-nn/tensor"
import { Effect } from "effect"

/** Fraction (0..1) of `dataset` whose argmax logit equals the label. */
export const accuracy = <M extends AnyModule>(module: M, model: ModelOf<M>, dataset: Dataset, batchSize = 1000) =>
  Effect.gen(function*() {
    const device = yield* Device
    let correct = 0
    const buffer = new Float32Array(batchSize * dataset.features)
    for (let start = 0; start < dataset.count; start += batchSize) {
      const size = Math.min(batchSize, dataset.count - start)
      const predicted = yield* tidy(Effect.gen(function*() {
        const x = yield* run(() => {
          const host = normalizeImages(dataset.images, start, size, dataset.features, buffer.subarray(0, size * dataset.features))
          return fromHostSync(device, [size, dataset.features], host)
        })
        const logits = (yield* forward(module, model, x as never, Mode.eval)) as Tensor<[number, number]>
        return yield* toArray(argmax(logits))
      }))
      for (let i = 0; i < size; i++) if (predicted[i] === dataset.labels[start + i]) correct++
    }
    return correct / dataset.count
  })
