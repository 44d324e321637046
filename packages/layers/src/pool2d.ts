/**
 * `MaxPool2d(kernelSize, options)` and `AvgPool2d(kernelSize, options)`: 2-D pooling over
 * NCHW inputs, PyTorch's `nn.MaxPool2d` and `nn.AvgPool2d` with `ceil_mode=False`
 * (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html,
 * https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html). No parameters.
 *
 * The output shape is computed in the types: `MaxPool2d(2)` maps [B, 32, 26, 26] to
 * [B, 32, 13, 13]; a window larger than the padded input is a compile error.
 */
import type { ShapeMismatch, ShapeText } from "@effect-nn/shape"
import type { AvgPool2dGeometry, MaxPool2dGeometry } from "@effect-nn/tensor"
import { avgPool2d, maxPool2d, planPool2d } from "@effect-nn/tensor"
import { Effect } from "effect"
import { ConfigError } from "./errors.ts"
import { pairArgument } from "./conv2d.ts"
import { leaf, stateless } from "./leaf.ts"
import type { Module, ShapeFn } from "./module.ts"
import type { OptionOf, Pair, Size2, Size2Text, Window2, WindowOut } from "./spatial-types.ts"
import { pythonSize } from "./spatial-types.ts"

/** Options of `MaxPool2d`; defaults are PyTorch's. */
export interface MaxPool2dOptions {
  /** Step between windows; default the kernel size. */
  readonly stride?: Size2
  /** Implicit −∞ padding on each side, at most half the kernel span; default 0. */
  readonly padding?: Size2
  /** Spacing between the window's taps; default 1. */
  readonly dilation?: Size2
}

/** Options of `AvgPool2d`; defaults are PyTorch's. */
export interface AvgPool2dOptions {
  /** Step between windows; default the kernel size. */
  readonly stride?: Size2
  /** Implicit zero padding on each side, at most half the kernel; default 0. */
  readonly padding?: Size2
  /** Count the padding in each window's divisor; default true. */
  readonly countIncludePad?: boolean
  /** Divide every window's sum by this instead; default none. */
  readonly divisorOverride?: number
}

/** The window of a pooling layer with kernel size `K` and options `Opt`, as types (stride defaults to `K`). */
export interface PoolWindow<K, Opt> extends Window2 {
  readonly k: Pair<K, 1>
  readonly s: Pair<OptionOf<Opt, "stride"> extends undefined ? K : OptionOf<Opt, "stride">, 1>
  readonly p: Pair<OptionOf<Opt, "padding">, 0>
  readonly d: Pair<OptionOf<Opt, "dilation">, 1>
}

/** Shape transform of a pooling layer named `Label` with window `G` (see `Pool2dOut`). */
export interface Pool2dFn<Label extends string, G extends Window2> extends ShapeFn {
  readonly Out: Pool2dOut<Label, G, this["In"]>
}

/**
 * The output of pooling `S`: [N, C, H, W] → [N, C, OH, OW] and [C, H, W] → [C, OH, OW],
 * OH = floor((H + 2P − D(K − 1) − 1)/S) + 1 per spatial dim. A spatial dim whose output
 * would be ≤ 0, or a rank other than 3 or 4, is a mismatch naming the layer and the input;
 * unknown dims give `number` (checked at run time); an input of unknown rank keeps its
 * leading dims ([..., C, H, W] → [..., C, OH, OW]).
 */
export type Pool2dOut<Label extends string, G extends Window2, S> = number[] extends S ? Array<number>
  : S extends readonly [infer N, infer C, infer H extends number, infer W extends number]
    ? WindowOut<Label, S, H, W, G> extends infer HW ? HW extends readonly [infer OH, infer OW] ? [N, C, OH, OW] : HW : never
  : S extends readonly [infer C, infer H extends number, infer W extends number]
    ? WindowOut<Label, S, H, W, G> extends infer HW ? HW extends readonly [infer OH, infer OW] ? [C, OH, OW] : HW : never
  : S extends readonly [...infer Pre extends Array<number>, infer C, infer H extends number, infer W extends number]
    ? number extends S["length"]
      ? WindowOut<Label, S, H, W, G> extends infer HW ? HW extends readonly [infer OH, infer OW] ? [...Pre, C, OH, OW] : HW : never
      : ShapeMismatch<`${Label} expects an input [N, C, H, W] or [C, H, W], got ${ShapeText<S>}`>
  : S extends ReadonlyArray<unknown> ? number extends S["length"] ? Array<number>
    : ShapeMismatch<`${Label} expects an input [N, C, H, W] or [C, H, W], got ${ShapeText<S>}`>
  : ShapeMismatch<`${Label} expects an input [N, C, H, W] or [C, H, W], got ${ShapeText<S>}`>

/** A `MaxPool2d` description. */
export interface MaxPool2d<K extends Size2, Opt extends MaxPool2dOptions = {}>
  extends Module<Pool2dFn<`MaxPool2d(${Size2Text<K>})`, PoolWindow<K, Opt>>, {}, {}>
{
  readonly _tag: "MaxPool2d"
  readonly kernelSize: readonly [number, number]
  readonly stride: readonly [number, number]
  readonly padding: readonly [number, number]
  readonly dilation: readonly [number, number]
}

/** A `AvgPool2d` description. */
export interface AvgPool2d<K extends Size2, Opt extends AvgPool2dOptions = {}>
  extends Module<Pool2dFn<`AvgPool2d(${Size2Text<K>})`, PoolWindow<K, Opt>>, {}, {}>
{
  readonly _tag: "AvgPool2d"
  readonly kernelSize: readonly [number, number]
  readonly stride: readonly [number, number]
  readonly padding: readonly [number, number]
  readonly countIncludePad: boolean
  readonly divisorOverride: number | undefined
}

/** Validates a window at construction; returns [kernel, stride, padding, dilation]. */
const windowArguments = (module: string, kernelSize: Size2, stride: Size2 | undefined, padding: Size2 | undefined, dilation: Size2 | undefined) => {
  const k = pairArgument(module, "kernelSize", kernelSize, 1, 1)
  const s = pairArgument(module, "stride", stride ?? kernelSize, 1, 1)
  const p = pairArgument(module, "padding", padding, 0, 0)
  const d = pairArgument(module, "dilation", dilation, 1, 1)
  // PyTorch: "pad should be at most half of effective kernel size".
  const span = [d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1] as const
  if (2 * p[0] > span[0] || 2 * p[1] > span[1]) {
    throw new ConfigError({ module, argument: "padding", expected: `at most half the kernel span (${span[0]}, ${span[1]})`, value: JSON.stringify(padding) })
  }
  return [k, s, p, d] as const
}

/**
 * `MaxPool2d(kernelSize, { stride = kernelSize, padding = 0, dilation = 1 })`: the maximum
 * of each window, [N, C, H, W] (or [C, H, W]) → [N, C, OH, OW] with OH = floor((H +
 * 2·padding − dilation·(kernel − 1) − 1)/stride) + 1 (floor mode; PyTorch's `ceil_mode`
 * and `return_indices` are not offered). Padding never wins (−∞). Gradient: to each
 * window's arg-max, the first maximum in row-major window order on ties (PyTorch's rule).
 *
 * Errors: `ConfigError` at construction for sizes out of range or padding over half the
 * kernel span; a forward fails with `ShapeError` naming the layer path when the input is
 * not rank 3 or 4 or an output dim would be ≤ 0.
 *
 * Label: PyTorch's repr, `MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)`.
 */
export const MaxPool2d = <const K extends Size2, const Opt extends MaxPool2dOptions = {}>(kernelSize: K, options?: Opt): MaxPool2d<K, Opt> => {
  const opts: MaxPool2dOptions = options ?? {}
  const [k, s, p, d] = windowArguments("MaxPool2d", kernelSize, opts.stride, opts.padding, opts.dilation)
  const geometry: MaxPool2dGeometry = { kernelSize: k, stride: s, padding: p, dilation: d }
  const label = `MaxPool2d(kernel_size=${pythonSize(kernelSize)}, stride=${pythonSize(opts.stride ?? kernelSize)}, padding=${pythonSize(opts.padding ?? 0)}, dilation=${pythonSize(opts.dilation ?? 1)}, ceil_mode=False)`
  return leaf<Pool2dFn<`MaxPool2d(${Size2Text<K>})`, PoolWindow<K, Opt>>, {}, {}, never, {
    _tag: "MaxPool2d"
    kernelSize: readonly [number, number]
    stride: readonly [number, number]
    padding: readonly [number, number]
    dilation: readonly [number, number]
  }>({
    tag: "MaxPool2d",
    label,
    parameterCount: 0,
    init: Effect.succeed(stateless),
    apply: (_ctx, model, x, path) => ({ output: maxPool2d(x, geometry, path === "" ? "MaxPool2d" : path), buffers: model.buffers }),
    outputShape: (input, path) => {
      const spec = planPool2d(path === "" ? "MaxPool2d" : path, "max_pool2d", input, geometry)
      return [...input.slice(0, -2), spec.outH, spec.outW]
    }
  }, { _tag: "MaxPool2d", kernelSize: k, stride: s, padding: p, dilation: d })
}

/**
 * `AvgPool2d(kernelSize, { stride = kernelSize, padding = 0, countIncludePad = true,
 * divisorOverride })`: the mean of each window, [N, C, H, W] (or [C, H, W]) → [N, C, OH,
 * OW] with OH as `MaxPool2d` (dilation 1, floor mode). The divisor is `divisorOverride`
 * when given, else kH·kW when `countIncludePad`, else the window's positions inside the
 * input. Gradient: each output's gradient divided by its divisor, spread over its window.
 *
 * Errors as `MaxPool2d`; `divisorOverride` must be a positive integer.
 *
 * Label: PyTorch's repr, `AvgPool2d(kernel_size=2, stride=2, padding=0)`.
 */
export const AvgPool2d = <const K extends Size2, const Opt extends AvgPool2dOptions = {}>(kernelSize: K, options?: Opt): AvgPool2d<K, Opt> => {
  const opts: AvgPool2dOptions = options ?? {}
  const [k, s, p] = windowArguments("AvgPool2d", kernelSize, opts.stride, opts.padding, undefined)
  const divisorOverride = opts.divisorOverride
  if (divisorOverride !== undefined && !(Number.isInteger(divisorOverride) && divisorOverride > 0)) {
    throw new ConfigError({ module: "AvgPool2d", argument: "divisorOverride", expected: "a positive integer", value: divisorOverride })
  }
  const countIncludePad = opts.countIncludePad ?? true
  const geometry: AvgPool2dGeometry = { kernelSize: k, stride: s, padding: p, countIncludePad, ...(divisorOverride === undefined ? {} : { divisorOverride }) }
  // PyTorch's `_AvgPoolNd.extra_repr` prints only these three.
  const label = `AvgPool2d(kernel_size=${pythonSize(kernelSize)}, stride=${pythonSize(opts.stride ?? kernelSize)}, padding=${pythonSize(opts.padding ?? 0)})`
  return leaf<Pool2dFn<`AvgPool2d(${Size2Text<K>})`, PoolWindow<K, Opt>>, {}, {}, never, {
    _tag: "AvgPool2d"
    kernelSize: readonly [number, number]
    stride: readonly [number, number]
    padding: readonly [number, number]
    countIncludePad: boolean
    divisorOverride: number | undefined
  }>({
    tag: "AvgPool2d",
    label,
    parameterCount: 0,
    init: Effect.succeed(stateless),
    apply: (_ctx, model, x, path) => ({ output: avgPool2d(x, geometry, path === "" ? "AvgPool2d" : path), buffers: model.buffers }),
    outputShape: (input, path) => {
      const spec = planPool2d(path === "" ? "AvgPool2d" : path, "avg_pool2d", input, { kernelSize: k, stride: s, padding: p })
      return [...input.slice(0, -2), spec.outH, spec.outW]
    }
  }, { _tag: "AvgPool2d", kernelSize: k, stride: s, padding: p, countIncludePad, divisorOverride })
}
