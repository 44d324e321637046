/**
 * One training step as an Effect: upload the batch, forward, cross-entropy, backward, the
 * optimiser update — all encoded for the device with no readback. Runs in its own memory
 * arena (`tidy`): only the new parameters, the new optimiser state and the running loss
 * sum survive it; the previous ones are released by the caller.
 */
import type { AnyModule, ParamsOf } from "@effect-nn/layers"
import { crossEntropy, run } from "@effect-nn/layers"
import type { Optimizer } from "@effect-nn/optim"
import type { Tensor } from "@effect-nn/tensor"
import { Device, addSame, fromHostSync, tidy, valueAndGrad } from "@effect-nn/tensor"
import { Effect } from "effect"

/** A host batch: `x` [size, features] normalised, `y` [size] class indices. */
export interface HostBatch {
  readonly size: number
  readonly x: Float32Array
  readonly y: Int32Array
}

/** What a training run carries from step to step. */
export interface TrainState<P, S> {
  readonly params: P
  readonly opt: S
  /** Σ of the step losses since the last reset, on the device (read at log points). */
  readonly lossSum: Tensor<[]> | undefined
}

/**
 * `trainStep(module, optimizer, features)`: state, batch → next state. Errors are shape
 * and device failures; nothing is read back.
 */
export const trainStep = <M extends AnyModule, S>(module: M, optimizer: Optimizer<S>, features: number) =>
  (state: TrainState<ParamsOf<M>, S>, batch: HostBatch) =>
    tidy(Effect.gen(function*() {
      const device = yield* Device
      const { x, y } = yield* run(() => ({
        x: fromHostSync(device, [batch.size, features], batch.x),
        y: fromHostSync(device, [batch.size], batch.y, "int32")
      }))
      const { value, grads } = yield* valueAndGrad((p: ParamsOf<M>) =>
        run(() => crossEntropy(module.apply(p, x, "") as Tensor<[number, number]>, y))
      )(state.params)
      const next = yield* optimizer.step(state.params, grads, state.opt)
      const lossSum = state.lossSum === undefined ? value : yield* run(() => addSame(state.lossSum as Tensor<[]>, value) as Tensor<[]>)
      return { params: next.params, opt: next.state, lossSum } satisfies TrainState<ParamsOf<M>, S>
    }))
