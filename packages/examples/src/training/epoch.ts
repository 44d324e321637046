/**
 * One epoch over a dataset: the seeded loader's batches through `trainStep`, releasing
 * each replaced state, reporting progress per step and reading the loss back only at
 * the end (the running sum stays on the device).
 */
import type { Dataset } from "@effect-nn/data"
import { loader } from "@effect-nn/data"
import type { AnyModule, ModelOf } from "@effect-nn/layers"
import type { Optimizer } from "@effect-nn/optim"
import { disposeReplaced, item } from "@effect-nn/tensor"
import { Effect, Stream } from "effect"
import type { TrainState } from "./step.ts"
import { trainStep } from "./step.ts"

/** Options of one epoch. */
export interface EpochOptions {
  readonly batchSize: number
  readonly seed: number
  readonly epoch: number
  /** Called after every step with the number of steps done (for progress bars). */
  readonly onStep?: (done: number) => void
}

/** Result of an epoch: the new state and the mean training loss over its steps. */
export interface EpochResult<P, S> {
  readonly state: TrainState<P, S>
  readonly meanLoss: number
  readonly steps: number
}

export const trainEpoch = <M extends AnyModule, S>(
  module: M,
  optimizer: Optimizer<S>,
  dataset: Dataset,
  initial: TrainState<ModelOf<M>, S>,
  options: EpochOptions
) =>
  Effect.gen(function*() {
    const step = trainStep(module, optimizer, dataset.features)
    let steps = 0
    const batches = loader(dataset, { batchSize: options.batchSize, shuffle: true, seed: options.seed, epoch: options.epoch, dropLast: false })
    const start: TrainState<ModelOf<M>, S> = { ...initial, lossSum: undefined }
    const state = yield* Stream.runFoldEffect(batches, () => start, (s, batch) =>
      Effect.gen(function*() {
        const next = yield* step(s, batch)
        yield* disposeReplaced(s, next)
        steps++
        options.onStep?.(steps)
        return next
      }))
    const total = state.lossSum === undefined ? 0 : yield* item(state.lossSum)
    return { state, meanLoss: steps === 0 ? Number.NaN : total / steps, steps } satisfies EpochResult<ModelOf<M>, S>
  })
