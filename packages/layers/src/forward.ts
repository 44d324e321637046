/** Running a module: `forward(module, model, x, mode)` as an Effect. */
import type { ShapeMismatch, ShapeText } from "@effect-nn/shape"
import type { DType, Tensor } from "@effect-nn/tensor"
import { Rng, detach, mapTensors } from "@effect-nn/tensor"
import { Effect, Option } from "effect"
import type { Eval, Train } from "./mode.ts"
import type { AnyModule, BuffersOf, ForwardError, ModelOf, ModuleInput, OutputOf, RequirementsOf } from "./module.ts"

export { run } from "./run.ts"

/** The shape (or tuple/record of shapes) of a module input. */
export type ShapesOf<X> = X extends Tensor<infer S, DType> ? S : { [K in keyof X]: X[K] extends Tensor<infer S, DType> ? S : never }

/** `unknown` when `S` fits `M`'s input; otherwise the mismatch naming both shapes. */
export type InputCheck<M, S> = OutputOf<M, S> extends ShapeMismatch<infer Msg> ? ShapeMismatch<Msg> : unknown

/** True when a buffer record holds batch-norm running statistics anywhere inside. */
export type HasBatchStats<B> = B extends Tensor<unknown, DType>
  ? false
  : B extends { readonly running_mean: unknown }
    ? true
    : B extends object
      ? true extends { [K in keyof B]: HasBatchStats<B[K]> }[keyof B] ? true : false
      : false

/**
 * `unknown`, unless the input is [1, C] (a batch of one row) and the module normalises with
 * batch statistics (BatchNorm) — then a mismatch saying so: in train mode one value per
 * channel has no variance (PyTorch raises "Expected more than 1 value per channel"). Only
 * rank-2 inputs are refused: a batch of one image [1, C, H, W] still has H·W values per
 * channel for a BatchNorm2d (a run-time check covers the rest).
 */
export type TrainBatchCheck<M, S> = S extends readonly [1, unknown]
  ? HasBatchStats<BuffersOf<M>> extends true
    ? ShapeMismatch<`BatchNorm in train mode needs more than one value per channel, got input ${ShapeText<S>}; use Mode.eval or a batch larger than 1`>
    : unknown
  : unknown

/** A train forward's result: the output and the module's buffers after the pass. */
export interface Trained<Out, B> {
  readonly output: Tensor<Out>
  readonly buffers: B
}

/**
 * Applies `module` to `x` in eval mode: [S] → [OutputOf<M, S>]. Uses running statistics,
 * no dropout; the parameters are detached, so nothing is recorded for backward (no
 * `no_grad` to forget). An `x` whose type does not fit is a compile error naming the dims;
 * a run-time misfit fails with a `ShapeError` naming the module's path.
 */
export function forward<M extends AnyModule, X extends ModuleInput>(
  module: M,
  model: ModelOf<M>,
  x: X & InputCheck<M, ShapesOf<X>>,
  mode: Eval
): Effect.Effect<Tensor<OutputOf<M, ShapesOf<X>>>, ForwardError>
/**
 * Applies `module` to `x` in train mode: batch statistics, dropout (drawing from the
 * `Rng` when a module needs it — the Effect's requirements say so), ops recorded for
 * backward when the parameters are tracked (inside `valueAndGrad`). Returns the output
 * and the new buffers; nothing is mutated.
 */
export function forward<M extends AnyModule, X extends ModuleInput>(
  module: M,
  model: ModelOf<M>,
  x: X & InputCheck<M, ShapesOf<X>> & TrainBatchCheck<M, ShapesOf<X>>,
  mode: Train
): Effect.Effect<Trained<OutputOf<M, ShapesOf<X>>, BuffersOf<M>>, ForwardError, RequirementsOf<M>>
export function forward<M extends AnyModule, X extends ModuleInput>(
  module: M,
  model: ModelOf<M>,
  x: X,
  mode: Train | Eval
): Effect.Effect<Tensor<OutputOf<M, ShapesOf<X>>> | Trained<OutputOf<M, ShapesOf<X>>, BuffersOf<M>>, ForwardError, RequirementsOf<M>> {
  type Out = OutputOf<M, ShapesOf<X>>
  if (mode._tag === "eval") {
    const params = mapTensors(model.params, (t) => detach(t))
    const input = mapTensors(x as ModuleInput, (t) => detach(t))
    return Effect.map(
      module.run({ mode: "eval", rng: undefined }, { params, buffers: model.buffers }, input, ""),
      (ran) => ran.output as Tensor<Out>
    )
  }
  return Effect.flatMap(Effect.serviceOption(Rng), (rng) =>
    Effect.map(
      module.run({ mode: "train", rng: Option.getOrUndefined(rng) }, model, x, ""),
      (ran) => ({ output: ran.output as Tensor<Out>, buffers: ran.buffers as BuffersOf<M> })
    ))
}

/** Creates a module's parameters and buffers on the current device from the seeded `Rng`. */
export const init = <M extends AnyModule>(module: M): Effect.Effect<ModelOf<M>, import("@effect-nn/tensor").DeviceError, import("@effect-nn/tensor").Device | Rng> =>
  module.init as Effect.Effect<ModelOf<M>, import("@effect-nn/tensor").DeviceError, import("@effect-nn/tensor").Device | Rng>
