/**
 * `BatchNorm2d(numFeatures)`: batch normalisation of the channels of [N, C, H, W] inputs,
 * PyTorch's `nn.BatchNorm2d`. Sources: Ioffe & Szegedy, "Batch Normalization: Accelerating
 * Deep Network Training by Reducing Internal Covariate Shift" (ICML 2015), §3.2 (for
 * convolutional layers the statistics of a channel are taken over the batch and every
 * spatial position); PyTorch `torch.nn.BatchNorm2d`
 * (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html) for the defaults
 * (eps 1e-5, momentum 0.1), the biased variance for normalising, the unbiased one for
 * `running_var`, and the state-dict keys.
 */
import type { DimText, ShapeMismatch, ShapeText } from "@effect-nn/shape"
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { add, addScalar, addScalarInt, detach, div, mul, reshape, scale, sqrt, square, sub, sumAxis } from "@effect-nn/tensor"
import type { SpatialText } from "./conv2d.ts"
import type { BatchNorm1dBuffers, BatchNorm1dBuffersFor, BatchNorm1dOptions, BatchNorm1dParams, BatchNorm1dParamsFor } from "./batchnorm1d.ts"
import { batchNormConfig, batchNormInit } from "./batchnorm-config.ts"
import { leaf } from "./leaf.ts"
import type { Model, Module, Path, Ran, RunContext, ShapeFn } from "./module.ts"

/**
 * Shape transform of `BatchNorm2d(C)`: [N, C, H, W] → [N, C, H, W]. A literal channel dim
 * other than `C`, or a rank other than 4, is a `ShapeMismatch` naming the feature count;
 * unknown dims and inputs of unknown rank are checked at run time.
 */
export interface BatchNorm2dFn<C extends number> extends ShapeFn {
  readonly Out: BatchNorm2dOut<C, this["In"]>
}

/** The output of `BatchNorm2d(C)` on `S` (see `BatchNorm2dFn`). */
export type BatchNorm2dOut<C extends number, S> = number[] extends S ? Array<number>
  : S extends readonly [unknown, infer Ci, unknown, unknown]
    ? number extends Ci ? S
    : [Ci] extends [C] ? S
    : ShapeMismatch<`BatchNorm2d(${C}) expects ${C} channels (num_features), got ${DimText<Ci>} (input ${ShapeText<S>})`>
  : S extends readonly [...Array<number>, infer Ci, unknown, unknown]
    ? number extends S["length"]
      // Rank unknown, channel dim known (a chain checked before its input is given).
      ? number extends Ci ? S
      : [Ci] extends [C] ? S
      : ShapeMismatch<`BatchNorm2d(${C}) expects ${C} channels (num_features), got ${DimText<Ci>} (input ${SpatialText<S>})`>
      : ShapeMismatch<`BatchNorm2d(${C}) expects an input [N, ${C}, H, W], got ${ShapeText<S>}`>
  : S extends ReadonlyArray<unknown> ? number extends S["length"] ? S
    : ShapeMismatch<`BatchNorm2d(${C}) expects an input [N, ${C}, H, W], got ${ShapeText<S>}`>
  : ShapeMismatch<`BatchNorm2d(${C}) expects an input [N, ${C}, H, W], got ${ShapeText<S>}`>

/** A `BatchNorm2d` description; `A` and `T` are the `affine` and `trackRunningStats` flags. */
export interface BatchNorm2d<C extends number, A extends boolean = true, T extends boolean = true>
  extends Module<BatchNorm2dFn<C>, BatchNorm1dParamsFor<C, A>, BatchNorm1dBuffersFor<C, T>>
{
  readonly _tag: "BatchNorm2d"
  readonly numFeatures: C
  readonly eps: number
  readonly momentum: number
  readonly affine: A
  readonly trackRunningStats: T
}

type LooseParams = Partial<BatchNorm1dParams<number>>
type LooseBuffers = Partial<BatchNorm1dBuffers<number>>


/**
 * `BatchNorm2d(numFeatures, { eps = 1e-5, momentum = 0.1, affine = true,
 * trackRunningStats = true })`: normalises each of the C channels of an [N, C, H, W]
 * input over its N·H·W values, y = (x − μ)/√(σ² + eps)·weight + bias, output [N, C, H, W].
 *
 * - Train mode: μ and σ² are the channel's mean and **biased** variance over N·H·W values;
 *   the gradient flows through them (composed differentiable ops, so autodiff gives Ioffe
 *   & Szegedy's backward). The new buffers are returned, computed without a tape:
 *   running_mean ← (1 − momentum)·running_mean + momentum·μ, running_var ← (1 −
 *   momentum)·running_var + momentum·σ²·m/(m − 1) with m = N·H·W (the **unbiased**
 *   variance), num_batches_tracked ← num_batches_tracked + 1.
 * - Eval mode: μ, σ² are `running_mean`, `running_var` (or the batch's statistics when
 *   `trackRunningStats` is false); buffers unchanged.
 *
 * State: as `BatchNorm1d` — parameters `weight` (ones), `bias` (zeros) [C] when `affine`;
 * buffers `running_mean` (zeros), `running_var` (ones) [C] and `num_batches_tracked`
 * (int32 scalar) when `trackRunningStats`; PyTorch's keys and order.
 *
 * Errors: `ConfigError` at construction as `BatchNorm1d`. A forward fails with
 * `ShapeError` naming the layer path when the input is not [N, numFeatures, H, W], and
 * when batch statistics are needed and a channel has a single value (N·H·W = 1; PyTorch
 * raises the same).
 *
 * Label: PyTorch's repr, `BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True,
 * track_running_stats=True)`.
 */
export const BatchNorm2d = <const C extends number, const A extends boolean = true, const T extends boolean = true>(
  numFeatures: C,
  options: BatchNorm1dOptions<A, T> = {}
): BatchNorm2d<C, A, T> => {
  const { eps, momentum, affine, trackRunningStats, label } = batchNormConfig("BatchNorm2d", numFeatures, options)
  const c: number = numFeatures

  type P = BatchNorm1dParamsFor<C, A>
  type B = BatchNorm1dBuffersFor<C, T>

  const init = batchNormInit<P, B>(c, { eps, momentum, affine, trackRunningStats, label })

  const checkShape = (where: string, dims: ReadonlyArray<number>): void => {
    if (dims.length !== 4 || dims[1] !== c) {
      throw new ShapeError({ op: where, reason: `BatchNorm2d(${c}) expects input [N, ${c}, H, W] (num_features ${c}), got ${formatShape(dims)}`, shapes: [dims] })
    }
  }

  const apply = (ctx: RunContext, model: Model<P, B>, x: Tensor<unknown>, path: Path): Ran<B> => {
    const where = path === "" ? "BatchNorm2d" : path
    const dims = x.dims
    checkShape(where, dims)
    const [n, , h, w] = dims as [number, number, number, number]
    const count = n * h * w
    const params: LooseParams = model.params
    const buffers: LooseBuffers = model.buffers
    const missing = (what: string): never => {
      throw new ShapeError({ op: where, reason: `BatchNorm2d(${c}) model lacks its ${what} (was it initialised with other options?)`, shapes: [dims] })
    }
    const weight = affine ? (params.weight ?? missing("weight parameter")) : undefined
    const bias = affine ? (params.bias ?? missing("bias parameter")) : undefined
    /** A per-channel [C] tensor viewed as [1, C, 1, 1], so it broadcasts over N, H, W. */
    const perChannel = (t: Tensor<unknown>) => reshape(t, [1, c, 1, 1])
    /** Σ over N, H and W of an [N, C, H, W] tensor → [C]. */
    const channelSum = (t: Tensor<unknown>) => sumAxis(sumAxis(reshape(t, [n, c, h * w]), 2), 0)
    const normalise = (centered: Tensor<unknown>, variance: Tensor<unknown>): Tensor<unknown> => {
      const std = sqrt(addScalar(variance, eps))
      return weight !== undefined && bias !== undefined
        ? add(mul(centered, perChannel(div(weight, std))), perChannel(bias))
        : div(centered, perChannel(std))
    }

    if (ctx.mode === "eval" && trackRunningStats) {
      const runningMean = buffers.running_mean ?? missing("running_mean buffer")
      const runningVar = buffers.running_var ?? missing("running_var buffer")
      return { output: normalise(sub(x, perChannel(detach(runningMean))), detach(runningVar)), buffers: model.buffers }
    }
    if (count <= 1) {
      const fix = ctx.mode === "train" ? "use eval mode or a larger batch" : "use a larger batch or trackRunningStats: true"
      throw new ShapeError({
        op: where,
        reason: `BatchNorm2d(${c}) ${ctx.mode === "train" ? "in train mode" : "without running statistics"} needs more than 1 value per channel to compute batch statistics, got input ${formatShape(dims)}; ${fix}`,
        shapes: [dims]
      })
    }
    const mean = scale(channelSum(x), 1 / count)
    const centered = sub(x, perChannel(mean))
    const variance = scale(channelSum(square(centered)), 1 / count)
    const output = normalise(centered, variance)
    if (ctx.mode === "eval" || !trackRunningStats) return { output, buffers: model.buffers }

    const runningMean = detach(buffers.running_mean ?? missing("running_mean buffer"))
    const runningVar = detach(buffers.running_var ?? missing("running_var buffer"))
    const batches = buffers.num_batches_tracked ?? missing("num_batches_tracked buffer")
    const next: BatchNorm1dBuffers<number> = {
      running_mean: add(scale(runningMean, 1 - momentum), scale(detach(mean), momentum)) as Tensor<[number]>,
      running_var: add(scale(runningVar, 1 - momentum), scale(scale(detach(variance), count / (count - 1)), momentum)) as Tensor<[number]>,
      num_batches_tracked: addScalarInt(batches, 1)
    }
    // trackRunningStats is true here, so B is BatchNorm1dBuffers<C> (same shapes as before).
    return { output, buffers: next as B }
  }

  return leaf<BatchNorm2dFn<C>, P, B, never, { _tag: "BatchNorm2d"; numFeatures: C; eps: number; momentum: number; affine: A; trackRunningStats: T }>({
    tag: "BatchNorm2d",
    label,
    parameterCount: affine ? 2 * c : 0,
    bufferCount: trackRunningStats ? 2 * c + 1 : 0,
    init,
    apply,
    outputShape: (input, path) => {
      checkShape(path === "" ? "BatchNorm2d" : path, input)
      return input
    }
  }, { _tag: "BatchNorm2d", numFeatures, eps, momentum, affine: affine as A, trackRunningStats: trackRunningStats as T })
}
