/** Cross-entropy of logits against class indices, with PyTorch's options. */
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { add, assertFloat, crossEntropy as meanCrossEntropy, div, logSoftmax, mul, neg, pick, replaceInt, scale, sum, sumAxis, wrap } from "@effect-nn/tensor"
import type { Reduced, Reduction } from "./reduction.ts"
import { checkReduction, reduceLoss } from "./reduction.ts"

/** Options of `crossEntropy`; every field defaults to PyTorch's `nn.CrossEntropyLoss` default. */
export interface CrossEntropyOptions<C, R extends Reduction = "mean"> {
  /**
   * ε in [0, 1] (default 0): the target becomes (1 − ε)·one_hot(y) + ε/C. Source:
   * Szegedy et al. 2016, "Rethinking the Inception Architecture", §7; PyTorch 1.10+.
   */
  readonly labelSmoothing?: number
  /** A weight per class, float32 `[C]` (default all 1): PyTorch's `weight`. */
  readonly weight?: Tensor<[C]>
  /** `"mean"` (default), `"sum"` or `"none"` (per-sample losses `[N]`). */
  readonly reduction?: R
  /**
   * A class index whose samples are ignored (default −100, PyTorch's `ignore_index`): no
   * loss (0 under `"none"`), no gradient, and not counted in the mean's denominator. Every
   * index outside [0, C) is ignored the same way, whatever this is (PyTorch raises for
   * those other than `ignore_index`; checking would need a read back of the targets). An
   * `ignoreIndex` inside [0, C) ignores that class as well.
   */
  readonly ignoreIndex?: number
}

/**
 * Cross-entropy of `logits` `[N, C]` (raw scores: log-softmax is applied inside, so never
 * pass probabilities) against int32 class indices `targets` `[N]`, with PyTorch's exact
 * semantics (https://pytorch.org/docs/1.13/generated/torch.nn.CrossEntropyLoss.html; the
 * weighted, smoothed case follows `cross_entropy_loss_label_smoothing` in ATen's
 * `LossNLL.cpp`, 1.13). With p = log_softmax(x), w the class weights (1 when absent) and
 * ε the label smoothing, the per-sample loss is
 *
 *   ℓₙ = (1 − ε)·w[yₙ]·(−p[n, yₙ]) + (ε/C)·Σ_c w_c·(−p[n, c])
 *
 * over the samples n not ignored (ℓₙ = 0 for the others: `ignoreIndex`, −100 by default,
 * and any index outside [0, C)), and the reductions are `"none"` → ℓ `[N]`, `"sum"` → Σₙ ℓₙ,
 * `"mean"` → Σₙ ℓₙ / Σₙ w[yₙ] over the samples not ignored (the number of them without
 * weights; NaN when every sample is ignored, as in PyTorch). Without smoothing this is the
 * weighted mean Σ w[yₙ]·ℓₙ / Σ w[yₙ]; with it, both terms share the denominator Σ w[yₙ],
 * as in PyTorch. The smoothing term is skipped when ε = 0, so a logit of −∞ off the
 * target does not poison the loss. log-softmax is max-subtracted: finite for any finite
 * logits (±1e4 and beyond).
 *
 * Throws `ShapeError` when the logits are not float32 `[N, C]`, the targets not int32 `[N]`,
 * the weight not float32 `[C]`, ε is outside [0, 1], `ignoreIndex` is not an integer or
 * the reduction is unknown.
 */
export const crossEntropy = <N, C, const R extends Reduction = "mean">(
  logits: Tensor<[N, C]>,
  targets: Tensor<[N], "int32">,
  options: CrossEntropyOptions<C, R> = {}
): Reduced<R, [N]> => {
  const op = "crossEntropy"
  const x = assertFloat(op, logits)
  const dims = x.dims
  if (dims.length !== 2 || targets.dims.length !== 1 || targets.dims[0] !== dims[0]) {
    throw new ShapeError({ op, reason: `expects logits [N, C] and targets [N], got ${formatShape(dims)} and ${formatShape(targets.dims)}`, shapes: [dims, targets.dims] })
  }
  if (targets.dtype !== "int32") throw new ShapeError({ op, reason: `targets must be int32 class indices, got ${targets.dtype}`, shapes: [targets.dims] })
  const [n, c] = dims as [number, number]
  const eps = options.labelSmoothing ?? 0
  if (!(eps >= 0 && eps <= 1)) throw new ShapeError({ op, reason: `labelSmoothing must be in [0, 1], got ${eps}`, shapes: [] })
  const reduction = checkReduction(op, options.reduction ?? "mean") as R
  const weight = options.weight === undefined ? undefined : assertFloat(op, options.weight)
  if (weight !== undefined && (weight.dims.length !== 1 || weight.dims[0] !== c)) {
    throw new ShapeError({ op, reason: `weight must be [C] = [${c}], got ${formatShape(weight.dims)}`, shapes: [weight.dims, dims] })
  }

  const ignoreIndex = options.ignoreIndex ?? -100
  if (!Number.isInteger(ignoreIndex)) throw new ShapeError({ op, reason: `ignoreIndex must be an integer, got ${ignoreIndex}`, shapes: [] })
  // Indices outside [0, C) are ignored by every path below (pick gives 0 there, the fused
  // kernel skips them); an ignoreIndex inside [0, C) is first mapped outside.
  const t = (ignoreIndex >= 0 && ignoreIndex < c ? replaceInt(targets, ignoreIndex, -1) : targets) as Tensor<[number], "int32">

  // The default (no weights, no smoothing, mean): one fused kernel forward and backward.
  if (weight === undefined && eps === 0 && reduction === "mean") return meanCrossEntropy(x as Tensor<[number, number]>, t) as Reduced<R, [N]>
  const logp = logSoftmax(x) // [N, C]
  const weighted: Tensor<unknown> = weight === undefined ? logp : mul(logp, weight) // w_c·p[n, c]
  let perSample: Tensor<unknown> = neg(pick(weighted as Tensor<[number, number]>, t)) // w[yₙ]·(−p[n, yₙ]), 0 where ignored
  const device = x.device
  // [N, C] ones, made only where needed: picked, 1 for a sample counted, 0 for one ignored.
  let onesMade: Tensor<[number, number]> | undefined
  const ones = (): Tensor<[number, number]> => (onesMade ??= wrap(device, device.backend.fill(n * c, 1, "float32"), [n, c] as [number, number], "float32"))
  if (eps > 0) {
    const smooth = mul(neg(sumAxis(weighted, 1)), pick(ones(), t)) // Σ_c w_c·(−p[n, c]), 0 where ignored
    perSample = add(scale(perSample, 1 - eps), scale(smooth, eps / c))
  }
  if (reduction !== "mean") return reduceLoss(op, perSample as Tensor<[N]>, reduction)
  // Mean: divide by Σₙ w[yₙ] over the samples counted (their number without weights),
  // w[yₙ] gathered from a [N, C] broadcast of the weight.
  const denominator = sum(pick(weight === undefined ? ones() : mul(ones(), weight), t))
  return div(sum(perSample), denominator) as Reduced<R, [N]>
}
