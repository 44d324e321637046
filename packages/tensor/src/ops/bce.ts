/** Binary cross-entropy with logits, element-wise, with its gradients. */
import { ShapeError, formatShape, shapeEquals } from "@effect-nn/shape"
import type { Tensor } from "../tensor.ts"
import { detach } from "../tensor.ts"
import { mul, neg, sigmoid, sub } from "./elementwise.ts"
import { assertFloat, deviceOf, result, retype } from "./record.ts"

/**
 * Element-wise binary cross-entropy of logits `x` against targets `y` in [0, 1] (hard or
 * soft), both of shape `S` → shape `S` (no reduction):
 *
 *   ℓ = y·softplus(−x) + (1 − y)·softplus(x) = −[y·log σ(x) + (1 − y)·log(1 − σ(x))]
 *
 * computed by the backend's stable kernel (`Backend.bceWithLogits`): a term whose
 * coefficient is exactly 0 is skipped, so the value is finite for every finite logit
 * and, at x = ±Infinity, exactly 0 or +Infinity — never NaN.
 *
 * Gradients: ∂ℓ/∂x = σ(x) − y, which is finite for every x (0 at x = +∞, y = 1, and at
 * x = −∞, y = 0); ∂ℓ/∂y = −x (as PyTorch's target backward).
 *
 * Takes logits, never probabilities. Throws `ShapeError` when the shapes differ or a
 * tensor is not float32. Source: PyTorch `F.binary_cross_entropy_with_logits`
 * (reduction "none"; https://pytorch.org/docs/1.13/generated/torch.nn.BCEWithLogitsLoss.html).
 */
export const bceWithLogits = <S>(logits: Tensor<S>, targets: Tensor<S>): Tensor<S> => {
  const x = assertFloat("bceWithLogits", logits)
  const y = assertFloat("bceWithLogits", targets)
  if (!shapeEquals(x.dims, y.dims)) {
    throw new ShapeError({
      op: "bceWithLogits",
      reason: `logits ${formatShape(x.dims)} and targets ${formatShape(y.dims)} must have the same shape`,
      shapes: [x.dims, y.dims]
    })
  }
  const device = deviceOf("bceWithLogits", x, y)
  return retype(result(device, device.backend.bceWithLogits(x.storage, y.storage, x.numel), x.dims, "float32", [x, y], (g, [needX, needY]) => {
    // The backward works on untracked copies: it only needs their values.
    const xd = detach(x)
    const yd = detach(y)
    return [
      needX ? mul(sub(sigmoid(xd), yd), g) : undefined,
      needY ? mul(neg(xd), g) : undefined
    ]
  }))
}
