/**
 * `BatchNorm1d(numFeatures)`: batch normalisation over [N, C] inputs, PyTorch's
 * `nn.BatchNorm1d`. Sources: Ioffe & Szegedy, "Batch Normalization: Accelerating Deep
 * Network Training by Reducing Internal Covariate Shift" (ICML 2015); PyTorch
 * `torch.nn.BatchNorm1d` for the defaults (eps 1e-5, momentum 0.1), the biased variance
 * for normalising, the unbiased one for `running_var`, and the state-dict keys.
 */
import type { DimText, ShapeMismatch, ShapeText } from "@effect-nn/shape"
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { add, addScalar, batchNormEval, batchNormTrain, detach, div, mul, sqrt, sub } from "@effect-nn/tensor"
import { batchNormConfig, batchNormInit } from "./batchnorm-config.ts"
import { leaf } from "./leaf.ts"
import type { Model, Module, Path, Ran, RunContext, ShapeFn } from "./module.ts"

/** The trainable affine parameters of a `BatchNorm1d(C)` (present when `affine`). */
export interface BatchNorm1dParams<C extends number> {
  /** γ, the per-feature scale [C]; initialised to ones. */
  readonly weight: Tensor<[C]>
  /** β, the per-feature shift [C]; initialised to zeros. */
  readonly bias: Tensor<[C]>
}

/** The running statistics of a `BatchNorm1d(C)` (present when `trackRunningStats`). */
export interface BatchNorm1dBuffers<C extends number> {
  /** Running mean [C]; initialised to zeros. */
  readonly running_mean: Tensor<[C]>
  /** Running (unbiased) variance [C]; initialised to ones. */
  readonly running_var: Tensor<[C]>
  /**
   * Train-mode forwards so far, an int32 scalar `[]` (PyTorch stores int64; the value is
   * the same while it stays below 2²⁴).
   */
  readonly num_batches_tracked: Tensor<[], "int32">
}

/** The parameter record for an `affine` flag: `BatchNorm1dParams<C>` when true, `{}` when false. */
export type BatchNorm1dParamsFor<C extends number, A extends boolean> = [A] extends [true] ? BatchNorm1dParams<C>
  : [A] extends [false] ? {}
  : BatchNorm1dParams<C> | {}

/** The buffer record for a `trackRunningStats` flag: `BatchNorm1dBuffers<C>` when true, `{}` when false. */
export type BatchNorm1dBuffersFor<C extends number, T extends boolean> = [T] extends [true] ? BatchNorm1dBuffers<C>
  : [T] extends [false] ? {}
  : BatchNorm1dBuffers<C> | {}

/**
 * Shape transform of `BatchNorm1d(C)`: [N, C] → [N, C]. A literal last dim other than
 * `C`, or an input that is not of rank 2, is a `ShapeMismatch` naming the feature count
 * (a compile error at `sequential`/`forward`); a last dim unknown until run time
 * (`number`) is checked there. The batch dim is not inspected: a batch of 1 is valid in
 * eval mode and refused at run time in train mode (the transform does not know the mode).
 */
export interface BatchNorm1dFn<C extends number> extends ShapeFn {
  readonly Out: BatchNorm1dOut<C, this["In"]>
}

/**
 * The output of `BatchNorm1d(C)` on `S` (see `BatchNorm1dFn`). A shape of unknown rank
 * whose last dim is known (`[..., C]`, what `sequential` checks a chain against) passes
 * when that dim fits; its rank is checked at run time.
 */
export type BatchNorm1dOut<C extends number, S> = number[] extends S ? Array<number> // rank unknown until run time: checked there
  : S extends readonly [...Array<unknown>, infer L]
    ? number extends S["length"] ? BatchNorm1dLastDimCheck<C, S, L>
    : S["length"] extends 2 ? BatchNorm1dLastDimCheck<C, S, L>
    : ShapeMismatch<`BatchNorm1d(${C}) expects an input [N, ${C}], got ${ShapeText<S>}`>
  : ShapeMismatch<`BatchNorm1d(${C}) expects an input [N, ${C}], got ${ShapeText<S>}`>

/** `S` when its last dim `L` is `C` or unknown (`number`); otherwise the mismatch naming both. */
export type BatchNorm1dLastDimCheck<C extends number, S, L> = number extends L ? S
  : [L] extends [C] ? S
  : ShapeMismatch<`BatchNorm1d(${C}) expects last dim ${C} (num_features), got ${DimText<L>} (input ${ShapeText<S>})`>

/** Options of `BatchNorm1d`; defaults are PyTorch's. */
export interface BatchNorm1dOptions<A extends boolean = boolean, T extends boolean = boolean> {
  /** Added to the variance before the square root; default 1e-5. Finite, ≥ 0. */
  readonly eps?: number
  /**
   * Weight of the new batch statistic in the running averages,
   * running ← (1 − momentum)·running + momentum·batch; default 0.1. In [0, 1].
   * (PyTorch's `momentum=None`, a cumulative average, is not supported.)
   */
  readonly momentum?: number
  /** Learnable per-feature `weight` and `bias`; default true. */
  readonly affine?: A
  /**
   * Keep `running_mean`, `running_var` and `num_batches_tracked` buffers and use them in
   * eval mode; default true. When false, eval mode normalises with the batch's statistics
   * (as PyTorch does).
   */
  readonly trackRunningStats?: T
}

/** A `BatchNorm1d` description; `A` and `T` are the `affine` and `trackRunningStats` flags. */
export interface BatchNorm1d<C extends number, A extends boolean = true, T extends boolean = true>
  extends Module<BatchNorm1dFn<C>, BatchNorm1dParamsFor<C, A>, BatchNorm1dBuffersFor<C, T>>
{
  readonly _tag: "BatchNorm1d"
  readonly numFeatures: C
  readonly eps: number
  readonly momentum: number
  readonly affine: A
  readonly trackRunningStats: T
}

/** What the run-time code sees of the records whatever the flags: every entry optional. */
type LooseParams = Partial<BatchNorm1dParams<number>>
type LooseBuffers = Partial<BatchNorm1dBuffers<number>>


/**
 * `BatchNorm1d(numFeatures, { eps = 1e-5, momentum = 0.1, affine = true,
 * trackRunningStats = true })`: normalises each of the C features of an [N, C] input,
 * y = (x − μ)/√(σ² + eps)·weight + bias, output [N, C].
 *
 * - Train mode: μ and σ² are the batch's mean and **biased** variance (divides by N);
 *   the gradient flows through them (Ioffe & Szegedy's backward). Forward and backward
 *   are one fused kernel each (`batchNormTrain`). The new buffers are returned, not
 *   differentiated: running_mean ← (1 − momentum)·running_mean +
 *   momentum·μ, running_var ← (1 − momentum)·running_var + momentum·σ²·N/(N − 1) (the
 *   **unbiased** variance), num_batches_tracked ← num_batches_tracked + 1.
 * - Eval mode: μ, σ² are `running_mean`, `running_var` (or the batch's statistics when
 *   `trackRunningStats` is false); buffers unchanged. One kernel (`batchNormEval`), or
 *   composed differentiable ops when an input is tracked.
 *
 * State: parameters `weight` (ones) and `bias` (zeros), [C], when `affine`; buffers
 * `running_mean` (zeros), `running_var` (ones), [C], and `num_batches_tracked` (int32
 * scalar 0) when `trackRunningStats` — PyTorch's keys, in PyTorch's order.
 *
 * Errors: throws `ConfigError` at construction (synchronously; a description is a plain
 * value) when `numFeatures` is not a positive integer, `eps` not finite and ≥ 0, or
 * `momentum` not in [0, 1]. A forward fails with `ShapeError` naming the layer path when
 * the input is not [N, numFeatures], and when batch statistics are needed (train mode,
 * or eval without running stats) and N ≤ 1 — e.g. `net.1: BatchNorm1d(3) in train mode
 * needs more than 1 value per channel … got input [1, 3]; use eval mode or a batch
 * larger than 1` (PyTorch raises the same; the variance of one sample would give NaN).
 *
 * Label: PyTorch's repr, `BatchNorm1d(512, eps=1e-05, momentum=0.1, affine=True,
 * track_running_stats=True)`.
 */
export const BatchNorm1d = <const C extends number, const A extends boolean = true, const T extends boolean = true>(
  numFeatures: C,
  options: BatchNorm1dOptions<A, T> = {}
): BatchNorm1d<C, A, T> => {
  const { eps, momentum, affine, trackRunningStats, label } = batchNormConfig("BatchNorm1d", numFeatures, options)
  const c: number = numFeatures

  type P = BatchNorm1dParamsFor<C, A>
  type B = BatchNorm1dBuffersFor<C, T>

  const init = batchNormInit<P, B>(c, { eps, momentum, affine, trackRunningStats, label })

  const apply = (ctx: RunContext, model: Model<P, B>, x: Tensor<unknown>, path: Path): Ran<B> => {
    const where = path === "" ? "BatchNorm1d" : path
    const dims = x.dims
    if (dims.length !== 2 || dims[1] !== c) {
      throw new ShapeError({ op: where, reason: `BatchNorm1d(${c}) expects input [N, ${c}] (num_features ${c}), got ${formatShape(dims)}`, shapes: [dims] })
    }
    const n = dims[0]!
    const params: LooseParams = model.params
    const buffers: LooseBuffers = model.buffers
    const missing = (what: string): never => {
      throw new ShapeError({ op: where, reason: `BatchNorm1d(${c}) model lacks its ${what} (was it initialised with other options?)`, shapes: [dims] })
    }
    const weight = affine ? (params.weight ?? missing("weight parameter")) : undefined
    const bias = affine ? (params.bias ?? missing("bias parameter")) : undefined
    const normalise = (centered: Tensor<unknown>, variance: Tensor<unknown>): Tensor<unknown> => {
      const std = sqrt(addScalar(variance, eps))
      return weight !== undefined && bias !== undefined ? add(mul(centered, div(weight, std)), bias) : div(centered, std)
    }

    if (ctx.mode === "eval" && trackRunningStats) {
      const runningMean = buffers.running_mean ?? missing("running_mean buffer")
      const runningVar = buffers.running_var ?? missing("running_var buffer")
      // One fused kernel, unless something here is being differentiated (then composed ops).
      const output = x.tracked || weight?.tracked === true || bias?.tracked === true
        ? normalise(sub(x, detach(runningMean)), detach(runningVar))
        : batchNormEval(x, detach(runningMean), detach(runningVar), weight, bias, eps, where)
      return { output, buffers: model.buffers }
    }

    if (n <= 1) {
      const fix = ctx.mode === "train" ? "use eval mode or a batch larger than 1" : "use a batch larger than 1 or trackRunningStats: true"
      throw new ShapeError({
        op: where,
        reason: `BatchNorm1d(${c}) ${ctx.mode === "train" ? "in train mode" : "without running statistics"} needs more than 1 value per channel to compute batch statistics, got input ${formatShape(dims)}; ${fix}`,
        shapes: [dims]
      })
    }
    // Statistics, normalisation and running averages in one kernel, the gradient in one more.
    const track = ctx.mode === "train" && trackRunningStats
    const stats = track
      ? {
        runningMean: detach(buffers.running_mean ?? missing("running_mean buffer")),
        runningVar: detach(buffers.running_var ?? missing("running_var buffer")),
        numBatchesTracked: buffers.num_batches_tracked ?? missing("num_batches_tracked buffer"),
        momentum
      }
      : undefined
    const trained = batchNormTrain(x, weight, bias, eps, stats, where)
    const output = trained.output
    if (trained.running === undefined) return { output, buffers: model.buffers }
    const next: BatchNorm1dBuffers<number> = {
      running_mean: trained.running.runningMean as Tensor<[number]>,
      running_var: trained.running.runningVar as Tensor<[number]>,
      num_batches_tracked: trained.running.numBatchesTracked
    }
    // trackRunningStats is true here, so B is BatchNorm1dBuffers<C> (same shapes as before).
    return { output, buffers: next as B }
  }

  return leaf<BatchNorm1dFn<C>, P, B, never, { _tag: "BatchNorm1d"; numFeatures: C; eps: number; momentum: number; affine: A; trackRunningStats: T }>({
    tag: "BatchNorm1d",
    label,
    parameterCount: affine ? 2 * c : 0,
    bufferCount: trackRunningStats ? 2 * c + 1 : 0,
    init,
    apply,
    outputShape: (input, path) => {
      if (input.length !== 2 || input[1] !== c) {
        throw new ShapeError({ op: path === "" ? "BatchNorm1d" : path, reason: `BatchNorm1d(${c}) expects input [N, ${c}] (num_features ${c}), got ${formatShape(input)}`, shapes: [input] })
      }
      return input
    }
  }, {
    _tag: "BatchNorm1d",
    numFeatures,
    eps,
    momentum,
    // The defaults (true) are what A and T default to when the options leave them out.
    affine: affine as A,
    trackRunningStats: trackRunningStats as T
  })
}
