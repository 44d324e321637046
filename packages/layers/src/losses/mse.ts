/** Mean squared error. */
import { ShapeError, formatShape, shapeEquals } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { assertFloat, square, sub } from "@effect-nn/tensor"
import type { Reduced, Reduction } from "./reduction.ts"
import { reduceLoss } from "./reduction.ts"

/** Options of `mseLoss`. */
export interface MseOptions<R extends Reduction = "mean"> {
  /** `"mean"` (default: divides by the element count), `"sum"` or `"none"`. */
  readonly reduction?: R
}

/**
 * Squared error between `input` and `target` of the same shape `S`: ℓ = (input − target)²
 * element-wise, then reduced (`"mean"` over all elements by default, `"sum"`, or `"none"`
 * → shape `S`). Both arguments are differentiable: ∂/∂input = 2(input − target)/k with k
 * the element count for "mean" (1 for "sum"), ∂/∂target its negation.
 * Throws `ShapeError` when the shapes differ (PyTorch only warns and broadcasts) or a
 * tensor is not float32. Source: PyTorch `nn.MSELoss`
 * (https://pytorch.org/docs/1.13/generated/torch.nn.MSELoss.html).
 */
export const mseLoss = <S, const R extends Reduction = "mean">(input: Tensor<S>, target: Tensor<S>, options: MseOptions<R> = {}): Reduced<R, S> => {
  const a = assertFloat("mseLoss", input)
  const b = assertFloat("mseLoss", target)
  if (!shapeEquals(a.dims, b.dims)) {
    throw new ShapeError({ op: "mseLoss", reason: `input ${formatShape(a.dims)} and target ${formatShape(b.dims)} must have the same shape`, shapes: [a.dims, b.dims] })
  }
  return reduceLoss("mseLoss", square(sub(input, target)), (options.reduction ?? "mean") as R)
}
