/**
 * `Conv2d(inChannels, outChannels, kernelSize, options)`: 2-D convolution over NCHW
 * inputs, PyTorch's `nn.Conv2d` (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html):
 * cross-correlation with zero padding, stride, dilation and groups. Parameters `weight`
 * [out, in/groups, kH, kW] and `bias` [out] (unless `bias: false`).
 *
 * The output shape is computed in the types: `Conv2d(1, 32, 3)` maps [B, 1, 28, 28] to
 * [B, 32, 26, 26], `Conv2d(1, 32, 3, { padding: 1 })` to [B, 32, 28, 28]; an input with
 * other channels, or one too small for the kernel, is a compile error naming the layer,
 * the input and the dim.
 */
import type { DimText, FloorDiv, ShapeMismatch, ShapeText } from "@effect-nn/shape"
import type { Conv2dGeometry, Tensor } from "@effect-nn/tensor"
import { Device, Rng, conv2d, fromHostSync, planConv2d } from "@effect-nn/tensor"
import { Effect } from "effect"
import { ConfigError } from "./errors.ts"
import type { InitScheme } from "./init.ts"
import { fansOf, linearDefaultBias, linearDefaultWeight } from "./init.ts"
import { leaf } from "./leaf.ts"
import type { Module, ShapeFn } from "./module.ts"
import type { OptionOf, Pair, Size2, Size2Text, Window2, WindowOut } from "./spatial-types.ts"
import { pythonPair } from "./spatial-types.ts"

/** Options of `Conv2d`; defaults are PyTorch's. */
export interface Conv2dOptions {
  /** Step between windows; default 1. */
  readonly stride?: Size2
  /** Zeros added on each side; default 0. */
  readonly padding?: Size2
  /** Spacing between kernel taps; default 1. */
  readonly dilation?: Size2
  /** Split the channels into this many independent convolutions; must divide both channel counts. Default 1. */
  readonly groups?: number
  /** A learnable per-channel `bias`; default true. */
  readonly bias?: boolean
  /**
   * Initialisation of the weight; default PyTorch's, kaiming_uniform with a = √5, i.e.
   * U(±1/√fan_in) with fan_in = in/groups·kH·kW.
   */
  readonly weightInit?: InitScheme
  /** Initialisation of the bias; default PyTorch's U(±1/√fan_in). */
  readonly biasInit?: InitScheme
}

/** The window of a `Conv2d` with kernel size `K` and options `Opt`, as types. */
export interface Conv2dWindow<K, Opt> extends Window2 {
  readonly k: Pair<K, 1>
  readonly s: Pair<OptionOf<Opt, "stride">, 1>
  readonly p: Pair<OptionOf<Opt, "padding">, 0>
  readonly d: Pair<OptionOf<Opt, "dilation">, 1>
}

/** The groups of options `Opt` (1 when absent). */
export type GroupsOf<Opt> = OptionOf<Opt, "groups"> extends infer G extends number ? G : 1

/** `false` when options `Opt` say `bias: false`, `true` when absent or true, `boolean` when unknown. */
export type HasBias<Opt> = [OptionOf<Opt, "bias">] extends [false] ? false
  : [OptionOf<Opt, "bias">] extends [true | undefined] ? true
  : boolean

/** How a `Conv2d` is named in compile errors: `Conv2d(1, 32, 3)`. */
export type Conv2dLabel<C extends number, O extends number, K> = `Conv2d(${C}, ${O}, ${Size2Text<K>})`

/**
 * Shape transform of a `Conv2d` (see `Conv2dOut`). `Label` names it in messages, `C` and
 * `O` are its channel counts, `G` its window.
 */
export interface Conv2dFn<Label extends string, C extends number, O extends number, G extends Window2> extends ShapeFn {
  readonly Out: Conv2dOut<Label, C, O, G, this["In"]>
}

/**
 * The output of a convolution on `S`: [N, C, H, W] → [N, O, OH, OW] and [C, H, W] →
 * [O, OH, OW], OH = floor((H + 2P − D(K − 1) − 1)/S) + 1 per spatial dim (`ConvOut`).
 * Mismatches, each naming the layer and the input: a channel dim other than `C`; a spatial
 * dim whose output would be ≤ 0; a rank other than 3 or 4. Dims unknown until run time
 * (`number`, a `Sym`) give `number` and are checked there. An input of unknown rank (how a
 * chain is checked before its input is given) keeps its leading dims: [..., C, H, W] →
 * [..., O, OH, OW], so channel mismatches between layers are caught even then.
 */
export type Conv2dOut<Label extends string, C extends number, O extends number, G extends Window2, S> = number[] extends S ? Array<number>
  : S extends readonly [infer N, infer Ci, infer H extends number, infer W extends number]
    ? ChannelCheck<Label, C, Ci, S, WindowOut<Label, S, H, W, G> extends infer HW ? HW extends readonly [infer OH, infer OW] ? [N, O, OH, OW] : HW : never>
  : S extends readonly [infer Ci, infer H extends number, infer W extends number]
    ? ChannelCheck<Label, C, Ci, S, WindowOut<Label, S, H, W, G> extends infer HW ? HW extends readonly [infer OH, infer OW] ? [O, OH, OW] : HW : never>
  : S extends readonly [...infer Pre extends Array<number>, infer Ci, infer H extends number, infer W extends number]
    ? number extends S["length"]
      // Rank unknown, last three dims known (a chain checked before its input is given).
      ? ChannelCheck<Label, C, Ci, S, WindowOut<Label, S, H, W, G> extends infer HW ? HW extends readonly [infer OH, infer OW] ? [...Pre, O, OH, OW] : HW : never>
      : ShapeMismatch<`${Label} expects an input [N, ${C}, H, W] or [${C}, H, W], got ${ShapeText<S>}`>
  : S extends ReadonlyArray<unknown> ? number extends S["length"] ? [...Array<number>, O, number, number]
    : ShapeMismatch<`${Label} expects an input [N, ${C}, H, W] or [${C}, H, W], got ${ShapeText<S>}`>
  : ShapeMismatch<`${Label} expects an input [N, ${C}, H, W] or [${C}, H, W], got ${ShapeText<S>}`>

/** `Out` when the input's channel dim `Ci` is `C` or unknown; otherwise the mismatch naming both. */
export type ChannelCheck<Label extends string, C extends number, Ci, S, Out> = number extends Ci ? Out
  : [Ci] extends [C] ? Out
  : ShapeMismatch<`${Label} expects ${C} input channels (in_channels), got ${DimText<Ci>} (input ${SpatialText<S>})`>

/** How an NCHW shape reads in a message; one of unknown rank as `[..., C, H, W]`. */
export type SpatialText<S> = S extends readonly [...Array<number>, infer C, infer H, infer W]
  ? number extends S["length"] ? `[..., ${DimText<C>}, ${DimText<H>}, ${DimText<W>}]` : ShapeText<S>
  : ShapeText<S>

/** The parameters of a `Conv2d` with a bias. */
export interface Conv2dParams<O extends number, Cg extends number, KH extends number, KW extends number> {
  /** [out_channels, in_channels/groups, kH, kW]. */
  readonly weight: Tensor<[O, Cg, KH, KW]>
  /** [out_channels]. */
  readonly bias: Tensor<[O]>
}

/**
 * The parameter record of `Conv2d(C, O, K, Opt)`: weight, and bias unless `bias: false`
 * (either record when the flag is only known as `boolean`).
 */
export type Conv2dParamsOf<C extends number, O extends number, K, Opt> = Pair<K, 1> extends [infer KH extends number, infer KW extends number]
  ? [HasBias<Opt>] extends [false] ? { readonly weight: Tensor<[O, FloorDiv<C, GroupsOf<Opt>>, KH, KW]> }
  : [HasBias<Opt>] extends [true] ? Conv2dParams<O, FloorDiv<C, GroupsOf<Opt>>, KH, KW>
  : Conv2dParams<O, FloorDiv<C, GroupsOf<Opt>>, KH, KW> | { readonly weight: Tensor<[O, FloorDiv<C, GroupsOf<Opt>>, KH, KW]> }
  : never

/** A `Conv2d` description. */
export interface Conv2d<C extends number, O extends number, K extends Size2, Opt extends Conv2dOptions = {}>
  extends Module<Conv2dFn<Conv2dLabel<C, O, K>, C, O, Conv2dWindow<K, Opt>>, Conv2dParamsOf<C, O, K, Opt>, {}>
{
  readonly _tag: "Conv2d"
  readonly inChannels: C
  readonly outChannels: O
  /** [kH, kW]. */
  readonly kernelSize: readonly [number, number]
  readonly stride: readonly [number, number]
  readonly padding: readonly [number, number]
  readonly dilation: readonly [number, number]
  readonly groups: number
  readonly bias: boolean
}

/** [h, w] of a size argument, or a `ConfigError` naming the layer and argument. */
export const pairArgument = (module: string, argument: string, value: Size2 | undefined, fallback: number, min: number): readonly [number, number] => {
  const pair: ReadonlyArray<unknown> = value === undefined ? [fallback, fallback] : typeof value === "number" ? [value, value] : value
  if (pair.length !== 2 || !pair.every((v) => typeof v === "number" && Number.isInteger(v) && v >= min)) {
    throw new ConfigError({ module, argument, expected: `${min === 0 ? "a non-negative" : "a positive"} integer or a pair of them`, value: JSON.stringify(value) })
  }
  return pair as readonly [number, number]
}

/**
 * `Conv2d(inChannels, outChannels, kernelSize, { stride = 1, padding = 0, dilation = 1,
 * groups = 1, bias = true, weightInit, biasInit })`: maps [N, in, H, W] (or [in, H, W]) to
 * [N, out, OH, OW] with OH = floor((H + 2·padding − dilation·(kH − 1) − 1)/stride) + 1
 * (likewise OW; each size may be a number or an [h, w] pair):
 *
 *     out[n, o] = bias[o] + Σ_c weight[o, c] ⋆ in[n, g·in/groups + c]   (⋆: cross-correlation)
 *
 * over the in/groups channels c of output channel o's group g. Parameter count
 * out·(in/groups)·kH·kW + out (no + out without bias). Initialisation as PyTorch's
 * `reset_parameters`: kaiming_uniform(a = √5) for the weight, i.e. U(±1/√fan_in), and
 * U(±1/√fan_in) for the bias, fan_in = (in/groups)·kH·kW.
 *
 * Errors: throws `ConfigError` at construction (synchronously) for a channel count that is
 * not a positive integer, sizes out of range, or groups not dividing both channel counts.
 * A forward fails with `ShapeError` naming the layer path when the input's rank or
 * channels do not fit or an output dim would be ≤ 0 (the same conditions are compile
 * errors when the dims are known to the types).
 *
 * Label: PyTorch's repr, `Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))`, with
 * `padding`, `dilation`, `groups` and `bias=False` shown when not the default.
 */
export const Conv2d = <const C extends number, const O extends number, const K extends Size2, const Opt extends Conv2dOptions = {}>(
  inChannels: C,
  outChannels: O,
  kernelSize: K,
  options?: Opt
): Conv2d<C, O, K, Opt> => {
  const opts: Conv2dOptions = options ?? {}
  const name = "Conv2d"
  for (const [argument, value] of [["inChannels", inChannels], ["outChannels", outChannels]] as const) {
    if (!(Number.isInteger(value) && value > 0)) throw new ConfigError({ module: name, argument, expected: "a positive integer", value })
  }
  const kernel = pairArgument(name, "kernelSize", kernelSize, 1, 1)
  const stride = pairArgument(name, "stride", opts.stride, 1, 1)
  const padding = pairArgument(name, "padding", opts.padding, 0, 0)
  const dilation = pairArgument(name, "dilation", opts.dilation, 1, 1)
  const groups = opts.groups ?? 1
  if (!(Number.isInteger(groups) && groups > 0 && inChannels % groups === 0 && outChannels % groups === 0)) {
    throw new ConfigError({ module: name, argument: "groups", expected: `a positive integer dividing inChannels ${inChannels} and outChannels ${outChannels}`, value: groups })
  }
  const hasBias = opts.bias ?? true
  const weightInit = opts.weightInit ?? linearDefaultWeight
  const biasInit = opts.biasInit ?? linearDefaultBias
  const cg = inChannels / groups
  const weightShape = [outChannels, cg, kernel[0], kernel[1]] as const
  const weightCount = outChannels * cg * kernel[0] * kernel[1]
  const geometry: Conv2dGeometry = { stride, padding, dilation, groups }
  let label = `Conv2d(${inChannels}, ${outChannels}, kernel_size=${pythonPair(kernel)}, stride=${pythonPair(stride)}`
  if (padding[0] !== 0 || padding[1] !== 0) label += `, padding=${pythonPair(padding)}`
  if (dilation[0] !== 1 || dilation[1] !== 1) label += `, dilation=${pythonPair(dilation)}`
  if (groups !== 1) label += `, groups=${groups}`
  if (!hasBias) label += ", bias=False"
  label += ")"

  type P = Conv2dParamsOf<C, O, K, Opt>
  interface Loose {
    readonly weight: Tensor<unknown>
    readonly bias?: Tensor<unknown>
  }

  return leaf<Conv2dFn<Conv2dLabel<C, O, K>, C, O, Conv2dWindow<K, Opt>>, P, {}, never, {
    _tag: "Conv2d"
    inChannels: C
    outChannels: O
    kernelSize: readonly [number, number]
    stride: readonly [number, number]
    padding: readonly [number, number]
    dilation: readonly [number, number]
    groups: number
    bias: boolean
  }>({
    tag: "Conv2d",
    label,
    parameterCount: weightCount + (hasBias ? outChannels : 0),
    init: Effect.gen(function*() {
      const device = yield* Device
      const rng = yield* Rng
      const fans = fansOf(weightShape)
      const w = weightInit(rng, weightCount, fans)
      const b = hasBias ? biasInit(rng, outChannels, fans) : undefined
      return yield* Effect.sync(() => {
        const params: Loose = b === undefined
          ? { weight: fromHostSync(device, weightShape, w) }
          : { weight: fromHostSync(device, weightShape, w), bias: fromHostSync(device, [outChannels], b) }
        // The bias flag chose the entries at run time exactly as P chooses them in the types.
        return { params: params as P, buffers: {} }
      })
    }),
    apply: (_ctx, model, x, path) => {
      const params: Loose = model.params
      return { output: conv2d(x, params.weight, params.bias, geometry, path === "" ? name : path), buffers: model.buffers }
    },
    outputShape: (input, path) => planConv2d(path === "" ? name : path, input, weightShape, hasBias ? [outChannels] : undefined, geometry).outDims
  }, { _tag: "Conv2d", inChannels, outChannels, kernelSize: kernel, stride, padding, dilation, groups, bias: hasBias })
}
