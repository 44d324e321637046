/**
 * One epoch over a dataset: the seeded loader's batches through `trainStep`, releasing
 * each replaced state, reporting progress per step and reading the loss back only at
 * the end (the running sum stays on the device). A resumed epoch skips the batches it
 * already trained (`startBatch`); a stop request (`shouldStop`, polled before each step)
 * ends it after the step in progress.
 */
import type { Dataset } from "@effect-nn/data"
import { loader } from "@effect-nn/data"
import type { AnyModule, ModelOf } from "@effect-nn/layers"
import type { Optimizer } from "@effect-nn/optim"
import type { Tensor } from "@effect-nn/tensor"
import { DeviceError, disposeReplaced, item } from "@effect-nn/tensor"
import { Effect, Stream } from "effect"
import type { ResidentDataset } from "./resident.ts"
import type { TrainState } from "./step.ts"
import { trainStep } from "./step.ts"

/** Options of one epoch. */
export interface EpochOptions {
  readonly batchSize: number
  readonly seed: number
  readonly epoch: number
  /** Called after every step with the number of steps done (for progress bars). */
  readonly onStep?: (done: number) => void
  /** Log the loader's single-sample last batch warning (default true; see `LoaderOptions`). */
  readonly warnSingleSample?: boolean
  /** Batches of this epoch already trained (a resumed run skips them); default 0. */
  readonly startBatch?: number
  /**
   * Polled before each step: true ends the epoch early, after the step in progress. When
   * given, each step ends with a turn of the event loop (`Effect.yieldNow`, a
   * `setImmediate`), so that a request made from a callback — a SIGINT listener — is seen
   * before the next step, even on a device whose steps never wait for I/O (the CPU).
   */
  readonly shouldStop?: () => boolean
  /** The loss sum of the `startBatch` batches already trained, on the device (a resumed epoch). */
  readonly lossSum?: Tensor<[]>
  /** The training set on the device (`residentDataset`): batches are gathered there from their indices. */
  readonly resident?: ResidentDataset
  /**
   * Read the running loss back every this many steps (default 100), one interval late:
   * the read queued at a log point is collected at the next, when the device has long
   * finished it, so the host never waits on work it just queued and stays at most two
   * intervals ahead of the device. 0: only at the end of the epoch.
   */
  readonly logEvery?: number
  /** Called with the mean loss over the epoch's first `steps` steps when a log-point read arrives. */
  readonly onLoss?: (steps: number, meanLoss: number) => void
}

/** Result of an epoch: the new state and the mean training loss over its steps. */
export interface EpochResult<P, S> {
  readonly state: TrainState<P, S>
  /** Mean loss over the epoch's steps so far, `startBatch`'s included. */
  readonly meanLoss: number
  /** Σ of those step losses, as summed on the device. */
  readonly lossSum: number
  /** Steps run by this call (not counting `startBatch`). */
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
    const step = trainStep(module, optimizer, dataset.features, options.resident)
    let steps = 0
    const logEvery = options.logEvery ?? 100
    let pendingLoss: { readonly steps: number; readonly value: Promise<Float32Array | Int32Array> } | undefined
    const collect = (p: NonNullable<typeof pendingLoss>) =>
      Effect.map(
        Effect.tryPromise({ try: () => p.value, catch: (e) => (e instanceof DeviceError ? e : new DeviceError({ reason: `reading the loss back failed: ${String(e)}`, cause: e })) }),
        (v) => options.onLoss?.(p.steps, v[0]! / p.steps)
      )
    const shouldStop = options.shouldStop ?? (() => false)
    const batches = loader(dataset, { batchSize: options.batchSize, shuffle: true, seed: options.seed, epoch: options.epoch, dropLast: false, images: options.resident === undefined, warnSingleSample: options.warnSingleSample ?? true }).pipe(
      Stream.drop(options.startBatch ?? 0),
      Stream.takeWhile(() => !shouldStop())
    )
    const start: TrainState<ModelOf<M>, S> = { ...initial, lossSum: options.lossSum }
    const state = yield* Stream.runFoldEffect(batches, () => start, (s, batch) =>
      Effect.gen(function*() {
        const next = yield* step(s, batch)
        yield* disposeReplaced(s, next)
        steps++
        options.onStep?.(steps)
        if (options.shouldStop !== undefined) yield* Effect.yieldNow
        if (logEvery > 0 && steps % logEvery === 0 && next.lossSum !== undefined) {
          const previous = pendingLoss
          const sum = next.lossSum
          const value = sum.device.backend.read(sum.storage, "float32")
          value.catch(() => undefined) // a failure surfaces when it is collected, never as an unhandled rejection
          pendingLoss = { steps: steps + (options.startBatch ?? 0), value }
          if (previous !== undefined) yield* collect(previous)
        }
        return next
      }))
    if (pendingLoss !== undefined) yield* collect(pendingLoss)
    const total = state.lossSum === undefined ? 0 : yield* item(state.lossSum)
    const done = steps + (options.startBatch ?? 0)
    return { state, meanLoss: done === 0 ? Number.NaN : total / done, lossSum: total, steps } satisfies EpochResult<ModelOf<M>, S>
  })
