/**
 * `Linear(inFeatures, outFeatures)`: y = x·Wᵀ + b over the last dim, PyTorch's
 * `nn.Linear`. Parameters `weight` [out, in] and `bias` [out].
 */
import type { DimText, ShapeMismatch, ShapeText } from "@effect-nn/shape"
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { Device, Rng, fromHostSync, linear } from "@effect-nn/tensor"
import { Effect } from "effect"
import { ConfigError } from "./errors.ts"
import type { InitScheme } from "./init.ts"
import { linearDefaultBias, linearDefaultWeight } from "./init.ts"
import { showValue } from "./keys.ts"
import { leaf } from "./leaf.ts"
import { describeFlatten, flattenOrigin } from "./provenance.ts"
import type { Module, ShapeFn } from "./module.ts"

/** The parameters of a `Linear(I, O)`. */
export interface LinearParams<I extends number, O extends number> {
  readonly weight: Tensor<[O, I]>
  readonly bias: Tensor<[O]>
}

/** Shape transform of `Linear(I, O)`: [..., I] → [..., O]; otherwise a mismatch naming both dims. */
export interface LinearFn<I extends number, O extends number> extends ShapeFn {
  readonly Out: number[] extends this["In"]
    ? Array<number> // rank unknown until run time: checked there
    : this["In"] extends readonly [...infer Pre, infer L]
      ? number extends L
        ? [...Pre, O]
        : [L] extends [I]
          ? [...Pre, O]
          : ShapeMismatch<`Linear(${I}, ${O}) expects last dim ${I}, got ${DimText<L>} (input ${ShapeText<this["In"]>})`>
      : ShapeMismatch<`Linear(${I}, ${O}) expects an input [..., ${I}], got ${ShapeText<this["In"]>}`>
}

/** Options of `Linear`. */
export interface LinearOptions {
  /** Initialisation of the weight; default PyTorch's (kaiming_uniform, a = √5). */
  readonly weightInit?: InitScheme
  /** Initialisation of the bias; default PyTorch's U(±1/√fan_in). */
  readonly biasInit?: InitScheme
}

/** A `Linear` description. */
export interface Linear<I extends number, O extends number> extends Module<LinearFn<I, O>, LinearParams<I, O>, {}> {
  readonly _tag: "Linear"
  readonly inFeatures: I
  readonly outFeatures: O
}

/**
 * `Linear(inFeatures, outFeatures, options?)`: maps [..., in] to [..., out].
 * Parameter count in·out + out. Source: PyTorch `torch.nn.Linear`.
 *
 * Errors: throws `ConfigError` at construction (synchronously; a description is a plain
 * value) when `inFeatures` or `outFeatures` is not a non-negative integer, e.g.
 * `Linear: inFeatures must be a non-negative integer, got -1`. Zero is allowed, as in
 * PyTorch (`Linear(0, 3)` outputs its bias, which is then 0; `Linear(3, 0)` outputs
 * [..., 0]). A forward fails with `ShapeError` naming the layer path when the input's last
 * dim is not `inFeatures` (a compile error when the dims are known to the types).
 */
export const Linear = <const I extends number, const O extends number>(inFeatures: I, outFeatures: O, options: LinearOptions = {}): Linear<I, O> => {
  for (const [argument, value] of [["inFeatures", inFeatures], ["outFeatures", outFeatures]] as const) {
    if (!(Number.isInteger(value) && value >= 0)) throw new ConfigError({ module: "Linear", argument, expected: "a non-negative integer", value: typeof value === "number" ? value : showValue(value) })
  }
  const weightInit = options.weightInit ?? linearDefaultWeight
  const biasInit = options.biasInit ?? linearDefaultBias
  return leaf<LinearFn<I, O>, LinearParams<I, O>, {}, never, { _tag: "Linear"; inFeatures: I; outFeatures: O }>({
    tag: "Linear",
    label: `Linear(in_features=${inFeatures}, out_features=${outFeatures}, bias=True)`,
    parameterCount: inFeatures * outFeatures + outFeatures,
    init: Effect.gen(function*() {
      const device = yield* Device
      const rng = yield* Rng
      const fans = { fanIn: inFeatures, fanOut: outFeatures, shape: [outFeatures, inFeatures] }
      const w = weightInit(rng, inFeatures * outFeatures, fans)
      const b = biasInit(rng, outFeatures, fans)
      return yield* Effect.sync(() => ({
        params: {
          weight: fromHostSync(device, [outFeatures, inFeatures] as [O, I], w),
          bias: fromHostSync(device, [outFeatures] as [O], b)
        },
        buffers: {}
      }))
    }),
    apply: (_ctx, model, x, path) => {
      const where = path === "" ? "Linear" : path
      const dims = x.dims
      const origin = flattenOrigin(x)
      if (origin !== undefined && dims[dims.length - 1] !== inFeatures) {
        // The last dim was made by a Flatten: say which dims it multiplied out, and where.
        throw new ShapeError({
          op: where,
          reason: `expects input [..., ${inFeatures}] (in_features ${inFeatures}), got ${formatShape(dims)}, where ${describeFlatten(origin)}`,
          shapes: [dims, origin.input]
        })
      }
      return { output: linear(x as Tensor<[number, I]>, model.params.weight, model.params.bias, where), buffers: model.buffers }
    },
    outputShape: (input, path) => {
      if (input[input.length - 1] !== inFeatures) {
        throw new ShapeError({ op: path === "" ? "Linear" : path, reason: `Linear expects input [..., ${inFeatures}] (in_features ${inFeatures}), got ${formatShape(input)}`, shapes: [input] })
      }
      return [...input.slice(0, -1), outFeatures]
    }
  }, { _tag: "Linear", inFeatures, outFeatures })
}
