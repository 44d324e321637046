/** Running a module: `forward(module, params, x)` as an Effect. */
import type { ShapeMismatch } from "@effect-nn/shape"
import { ShapeError } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { DeviceError } from "@effect-nn/tensor"
import { Effect } from "effect"
import type { AnyModule, ForwardError, OutputOf, ParamsOf } from "./module.ts"

/** `unknown` when `S` fits `M`'s input; otherwise the mismatch naming both shapes. */
export type InputCheck<M, S> = OutputOf<M, S> extends ShapeMismatch<infer Msg> ? ShapeMismatch<Msg> : unknown

/** Lifts a synchronous op body into an Effect with typed shape and device errors. */
export const run = <A>(body: () => A): Effect.Effect<A, ForwardError> =>
  Effect.try({
    try: body,
    catch: (e) => (e instanceof ShapeError || e instanceof DeviceError ? e : new DeviceError({ reason: `forward failed: ${String(e)}`, cause: e }))
  })

/**
 * Applies `module` with `params` to `x`: [input shape S] → [OutputOf<M, S>].
 * An `x` whose type does not fit is a compile error naming the dims; a run-time misfit
 * fails with a `ShapeError` naming the module's path. Inside `valueAndGrad` the ops are
 * recorded for backward; outside it nothing is recorded.
 */
export const forward = <M extends AnyModule, S>(
  module: M,
  params: ParamsOf<M>,
  x: Tensor<S> & InputCheck<M, S>
): Effect.Effect<Tensor<OutputOf<M, S>>, ForwardError> =>
  run(() => module.apply(params, x, "") as Tensor<OutputOf<M, S>>)

/** Creates a module's parameters on the current device from the seeded `Rng`. */
export const init = <M extends AnyModule>(module: M): M["init"] => module.init
