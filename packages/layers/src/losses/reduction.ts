/** How a loss reduces its per-element values: PyTorch's `reduction` argument. */
import { ShapeError } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { mean, sum } from "@effect-nn/tensor"

/**
 * `"mean"` (the default): the average, a scalar `[]`; `"sum"`: the total, a scalar `[]`;
 * `"none"`: the per-element losses, unreduced. Source: PyTorch's loss modules
 * (https://pytorch.org/docs/1.13/nn.html#loss-functions).
 */
export type Reduction = "mean" | "sum" | "none"

/** The type of a loss under reduction `R` whose per-element losses have shape `S`. */
export type Reduced<R extends Reduction, S> = [R] extends ["none"] ? Tensor<S>
  : "none" extends R ? Tensor<S> | Tensor<[]> // reduction not known statically
  : Tensor<[]>

/** Throws `ShapeError` naming `op` unless `r` is one of the three reductions (a guard for untyped callers). */
export const checkReduction = (op: string, r: string): Reduction => {
  if (r !== "mean" && r !== "sum" && r !== "none") {
    throw new ShapeError({ op, reason: `reduction must be "mean", "sum" or "none", got ${JSON.stringify(r)}`, shapes: [] })
  }
  return r
}

/** Applies an unweighted reduction to per-element losses (mean = sum / element count). */
export const reduceLoss = <R extends Reduction, S>(op: string, perElement: Tensor<S>, reduction: R): Reduced<R, S> => {
  switch (checkReduction(op, reduction)) {
    case "none":
      return perElement as Reduced<R, S>
    case "sum":
      return sum(perElement) as Reduced<R, S>
    case "mean":
      return mean(perElement) as Reduced<R, S>
  }
}
