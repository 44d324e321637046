/**
 * One training step as an Effect: upload the batch, a train-mode forward, cross-entropy,
 * backward, the optimiser update — all encoded for the device with no readback. Runs in
 * its own memory arena (`tidy`): only the new model, the new optimiser state and the
 * running loss sum survive it; the caller releases the replaced ones (`disposeReplaced`).
 */
import type { AnyModule, ModelOf, RequirementsOf } from "@effect-nn/layers"
import { Mode, crossEntropy, forward, run } from "@effect-nn/layers"
import type { Optimizer } from "@effect-nn/optim"
import type { Tensor } from "@effect-nn/tensor"
import { Device, addSame, fromHostSync, tidy, valueAndGradWithAux } from "@effect-nn/tensor"
import { Effect } from "effect"
import type { ResidentDataset } from "./resident.ts"
import { residentBatch } from "./resident.ts"

/**
 * A host batch: `x` [size, features] normalised, `y` [size] class indices, and the
 * dataset `indices` of its samples (used instead of x and y when the training set is
 * resident on the device).
 */
export interface HostBatch {
  readonly size: number
  readonly x: Float32Array
  readonly y: Int32Array
  readonly indices?: Int32Array
}

/** What a training run carries from step to step. */
export interface TrainState<M, S> {
  readonly model: M
  readonly opt: S
  /** Σ of the step losses since the last reset, on the device (read at log points). */
  readonly lossSum: Tensor<[]> | undefined
}

/**
 * `trainStep(module, optimizer, features, resident?)`: state, batch → next state. With a
 * `resident` training set the batch is gathered on the device from its `indices`. The
 * step's work is submitted as one command buffer at its end (so the device starts on it
 * while the host encodes the next one). Errors are shape and device failures; nothing is
 * read back.
 */
export const trainStep = <M extends AnyModule, S>(module: M, optimizer: Optimizer<S>, features: number, resident?: ResidentDataset) =>
  (state: TrainState<ModelOf<M>, S>, batch: HostBatch) =>
    tidy(Effect.gen(function*() {
      const device = yield* Device
      const { x, y } = yield* run(() =>
        resident !== undefined && batch.indices !== undefined
          ? residentBatch(resident, device, batch.indices)
          : {
            x: fromHostSync(device, [batch.size, features], batch.x),
            y: fromHostSync(device, [batch.size], batch.y, "int32")
          }
      )
      const buffers = state.model.buffers
      const { value, grads, aux } = yield* valueAndGradWithAux((params: ModelOf<M>["params"]) =>
        Effect.flatMap(
          forward(module, { params, buffers } as ModelOf<M>, x as never, Mode.train),
          (trained) => run(() => [crossEntropy(trained.output as Tensor<[number, number]>, y), trained.buffers] as const)
        )
      )(state.model.params)
      const next = yield* optimizer.step(state.model.params, grads, state.opt)
      const lossSum = state.lossSum === undefined ? value : yield* run(() => addSame(state.lossSum as Tensor<[]>, value) as Tensor<[]>)
      const model = { params: next.params, buffers: aux } as ModelOf<M>
      device.backend.flush()
      return { model, opt: next.state, lossSum } satisfies TrainState<ModelOf<M>, S>
    })) as Effect.Effect<TrainState<ModelOf<M>, S>, import("@effect-nn/layers").ForwardError, Device | RequirementsOf<M>>
