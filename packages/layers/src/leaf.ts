/** Building leaf modules (no children) with little ceremony. */
import type { Shape } from "@effect-nn/shape"
import { ShapeError } from "@effect-nn/shape"
import type { Device, DeviceError, Rng, Tensor } from "@effect-nn/tensor"
import { isTensor } from "@effect-nn/tensor"
import { Effect } from "effect"
import { run } from "./run.ts"
import type { AnyModule, ForwardError, Model, Module, Path, Ran, RunContext, ShapeFn } from "./module.ts"
import { carryFlattenOrigin } from "./provenance.ts"

/** What a leaf module is made of. `apply` is synchronous (ops encode device work). */
export interface LeafSpec<P, B> {
  readonly tag: string
  readonly label: string
  readonly parameterCount: number
  readonly bufferCount?: number
  readonly init: Effect.Effect<Model<P, B>, DeviceError, Device | Rng>
  readonly apply: (ctx: RunContext, model: Model<P, B>, x: Tensor<unknown>, path: Path) => Ran<B>
  readonly outputShape: (input: Shape, path: Path) => Shape
}

/** A leaf module from its spec; shape and device errors thrown by `apply` become failures. */
export const leaf = <F extends ShapeFn, P, B, R = never, Extra extends object = {}>(spec: LeafSpec<P, B>, extra?: Extra): Module<F, P, B, R> & Extra => {
  const self: Module<F, P, B, R> & Extra = {
    _tag: spec.tag,
    label: spec.label,
    name: undefined,
    parameterCount: spec.parameterCount,
    bufferCount: spec.bufferCount ?? 0,
    children: [],
    init: spec.init,
    run: (ctx, model, x, path): Effect.Effect<Ran<B>, ForwardError> =>
      run(() => {
        if (!isTensor(x)) {
          throw new ShapeError({ op: path === "" ? spec.tag : path, reason: `${spec.tag} takes one tensor, got a tuple or record of tensors`, shapes: [] })
        }
        const ran = spec.apply(ctx, model, x, path)
        carryFlattenOrigin(x, ran.output)
        ctx.trace?.(path, self as unknown as AnyModule, ran.output.dims)
        return ran
      }),
    outputShape: spec.outputShape,
    ...(extra ?? ({} as Extra))
  }
  return self
}

/** The model of a module without state. */
export const stateless: Model<{}, {}> = { params: {}, buffers: {} }
