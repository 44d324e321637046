/**
 * What `train` shows before training, and `train --summary --json` prints: the summary
 * table, the parameter counts and the ordered state-dict keys with shapes — all computed on
 * the meta device (shapes only), so no real device is touched.
 */
import type { AnyModule } from "@effect-nn/layers"
import { formatSummary, parameterCounts, printModule, stateEntries, summary } from "@effect-nn/layers"
import { Meta, Rng } from "@effect-nn/tensor"
import { Effect, Layer } from "effect"

/** The summary of a network for a batch of MNIST images, as text and as JSON. */
export const describeModel = (module: AnyModule, inputShape: ReadonlyArray<number> = [1, 784]) =>
  Effect.gen(function*() {
    const s = yield* Effect.try({ try: () => summary(module, inputShape), catch: (e) => e })
    const model = yield* module.init
    const counts = parameterCounts(module, model)
    const stateDict = stateEntries(module, model).map((e) => ({ key: e.key, shape: e.tensor.dims, dtype: e.tensor.dtype === "int32" ? "int64" : e.tensor.dtype }))
    return {
      text: `${printModule(module)}\n${formatSummary(s)}`,
      json: {
        summary: s.rows.map((r) => ({ layer: r.layer, path: r.path, output_shape: r.outputShape, params: r.params })),
        parameter_counts: { trainable: counts.trainable, non_trainable: counts.nonTrainable, total: counts.total, buffer_elements: counts.buffers },
        state_dict: stateDict
      }
    }
  }).pipe(Effect.provide(Layer.merge(Meta.layer, Rng.seeded(0))))
