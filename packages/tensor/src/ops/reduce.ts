/** Reductions: sum, mean, argmax. */
import type { Shape } from "@effect-nn/shape"
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { Tensor } from "../tensor.ts"
import { assertFloat, deviceOf, result, retype } from "./record.ts"
import { scale } from "./elementwise.ts"
import { expandTo, reshape, sumAxisKeep } from "./shape-ops.ts"

/** Sum of all elements → a scalar `[]`. */
export const sum = <S>(a: Tensor<S>): Tensor<[]> => {
  const x = assertFloat("sum", a)
  const device = deviceOf("sum", x)
  return retype(result(device, device.backend.reduceSum(x.storage, 1, x.numel, 1), [], "float32", [x], (g) => [expandTo(g, x.dims)]))
}

/** Mean of all elements → a scalar `[]`. */
export const mean = <S>(a: Tensor<S>): Tensor<[]> => scale(sum(a), 1 / Math.max(1, assertFloat("mean", a).numel))

/** Sum over one axis (negative counts from the end), dropping it. */
export const sumAxis = <S>(a: Tensor<S>, axis: number): Tensor<Shape> => {
  const x = assertFloat("sumAxis", a)
  const rank = x.dims.length
  const ax = axis < 0 ? axis + rank : axis
  if (ax < 0 || ax >= rank) {
    throw new ShapeError({ op: "sumAxis", reason: `axis ${axis} is out of range for ${formatShape(x.dims)}`, shapes: [x.dims] })
  }
  return reshape(sumAxisKeep(x, ax), x.dims.filter((_, i) => i !== ax))
}

/**
 * Index of the largest value along the last dim (first on ties), as int32:
 * [..., C] → [...]. A NaN counts as larger than any number: a row holding NaN gives its
 * first NaN's index, as `torch.argmax`. Not differentiable.
 */
export const argmax = <Pre extends Array<number>, C>(a: Tensor<[...Pre, C]>): Tensor<Pre, "int32"> => {
  const x = assertFloat("argmax", a)
  const dims = x.dims
  if (dims.length < 1) throw new ShapeError({ op: "argmax", reason: "needs at least one dim", shapes: [dims] })
  const cols = dims[dims.length - 1]!
  const device = deviceOf("argmax", x)
  return retype(result(device, device.backend.argmax(x.storage, x.numel / Math.max(cols, 1), cols), dims.slice(0, -1), "int32", []))
}
