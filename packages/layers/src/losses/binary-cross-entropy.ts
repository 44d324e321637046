/** Binary cross-entropy of logits (sigmoid inside), PyTorch's `BCEWithLogitsLoss`. */
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { add, addScalar, assertFloat, bceWithLogits, div, mul, neg, scale } from "@effect-nn/tensor"
import type { Reduced, Reduction } from "./reduction.ts"
import { reduceLoss } from "./reduction.ts"

/** Options of `binaryCrossEntropyWithLogits`. */
export interface BceWithLogitsOptions<R extends Reduction = "mean"> {
  /** `"mean"` (default, over all elements), `"sum"` or `"none"` (shape of the logits). */
  readonly reduction?: R
  /**
   * p > 0, the weight of positive examples (PyTorch's `pos_weight`): a number, or a float32
   * tensor that broadcasts into the targets' shape (typically `[C]`, one per class).
   */
  readonly posWeight?: number | Tensor<unknown>
}

/**
 * Binary cross-entropy of `logits` (raw scores: the sigmoid is applied inside, so never
 * pass probabilities) against `targets` in [0, 1] (hard or soft labels), same shape `S`:
 *
 *   ℓ = −[p·y·log σ(x) + (1 − y)·log(1 − σ(x))] = p·y·softplus(−x) + (1 − y)·softplus(x)
 *
 * with p the `posWeight` (1 by default), reduced by `reduction` ("mean" over all elements
 * by default). Numerically stable: finite for every finite logit, and at x = ±Infinity
 * exactly 0 or +Infinity, never NaN; the gradient ∂ℓ/∂x = (p·y + 1 − y)·σ(x) − p·y is
 * finite for every logit, ±Infinity included (0 at x = +∞, y = 1).
 *
 * With `posWeight` the loss is computed as s·bce(x, t), s = p·y + (1 − y),
 * t = y + y(1 − y)(p − 1)/s (= p·y/s): for hard labels s and t are exact (t = y), so the
 * infinite-logit guarantees hold; p must be positive.
 *
 * Throws `ShapeError` when the shapes differ, a tensor is not float32, `posWeight` does
 * not broadcast into the targets' shape or the reduction is unknown. Source: PyTorch
 * `nn.BCEWithLogitsLoss` (https://pytorch.org/docs/1.13/generated/torch.nn.BCEWithLogitsLoss.html).
 */
export const binaryCrossEntropyWithLogits = <S, const R extends Reduction = "mean">(
  logits: Tensor<S>,
  targets: Tensor<S>,
  options: BceWithLogitsOptions<R> = {}
): Reduced<R, S> => {
  const op = "binaryCrossEntropyWithLogits"
  const x = assertFloat(op, logits)
  const y = assertFloat(op, targets)
  if (x.dims.length !== y.dims.length || x.dims.some((d, i) => d !== y.dims[i])) {
    throw new ShapeError({ op, reason: `logits ${formatShape(x.dims)} and targets ${formatShape(y.dims)} must have the same shape`, shapes: [x.dims, y.dims] })
  }
  const reduction = (options.reduction ?? "mean") as R
  const pw = options.posWeight
  if (pw === undefined || pw === 1) return reduceLoss(op, bceWithLogits(logits, targets), reduction)
  if (typeof pw === "number" && !(pw > 0 && Number.isFinite(pw))) {
    throw new ShapeError({ op, reason: `posWeight must be a positive finite number, got ${pw}`, shapes: [] })
  }
  // s = p·y + (1 − y);  t = y + y(1 − y)(p − 1)/s.  For y ∈ {0, 1}: s ∈ {1, p}, t = y exactly.
  const py = typeof pw === "number" ? scale(y, pw) : mul(y, assertFloat(op, pw))
  const oneMinusY = addScalar(neg(y), 1)
  const s = add(py, oneMinusY)
  const yy = mul(y, oneMinusY)
  const spread = typeof pw === "number" ? scale(yy, pw - 1) : mul(yy, addScalar(assertFloat(op, pw), -1))
  const t = add(y, div(spread, s))
  return reduceLoss(op, mul(bceWithLogits(x, t), s) as Tensor<S>, reduction)
}
