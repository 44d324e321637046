/** Reshaping and reducing a gradient back to the shape it was broadcast from. */
import type { Shape } from "@effect-nn/shape"
import { ShapeError, formatShape, numel, shapeEquals } from "@effect-nn/shape"
import type { Tensor } from "../tensor.ts"
import { view } from "../tensor.ts"
import type { F32 } from "./record.ts"
import { deviceOf, result } from "./record.ts"

/**
 * The same values under another shape with the same element count (no copy).
 * Throws `ShapeError` naming both shapes otherwise.
 */
export const reshape = <const S2 extends Shape, S = Shape>(a: Tensor<S>, shape: S2): Tensor<[...S2]> => {
  if (numel(shape) !== a.numel) {
    throw new ShapeError({ op: "reshape", reason: `cannot reshape ${formatShape(a.dims)} (${a.numel} values) to ${formatShape(shape)} (${numel(shape)} values)`, shapes: [a.dims, shape] })
  }
  const out = [...shape] as [...S2]
  return a.tracked
    ? view(a, out, { inputs: [a], backward: (g) => [reshape(g, a.dims)] })
    : view(a, out)
}

/** Sums `a` over axis `axis` keeping it as size 1. */
export const sumAxisKeep = (a: F32, axis: number): F32 => {
  const dims = a.dims
  const outer = numel(dims.slice(0, axis))
  const size = dims[axis]!
  const inner = numel(dims.slice(axis + 1))
  const device = deviceOf("sum", a)
  const outShape = dims.map((d, i) => (i === axis ? 1 : d))
  return result(device, device.backend.reduceSum(a.storage, outer, size, inner), outShape, "float32", [a], (g) => [
    expandTo(g, dims)
  ])
}

/** Broadcasts `a` to `shape` (materialised), e.g. the backward of a sum. */
export const expandTo = (a: F32, shape: Shape): F32 => {
  if (shapeEquals(a.dims, shape)) return a
  const device = deviceOf("expand", a)
  const rank = shape.length
  const zero = device.backend.fill(1, 0, "float32")
  const aStrides: Array<number> = new Array<number>(rank).fill(0)
  let stride = 1
  for (let i = a.dims.length - 1; i >= 0; i--) {
    const o = rank - a.dims.length + i
    aStrides[o] = a.dims[i] === 1 && shape[o] !== 1 ? 0 : stride
    stride *= a.dims[i]!
  }
  const storage = device.backend.binary("add", a.storage, zero, shape, aStrides, new Array<number>(rank).fill(0))
  device.backend.release(zero)
  return result(device, storage, [...shape], "float32", [a], (g) => [sumToShape(g, a.dims)])
}

/**
 * Sums a gradient of a broadcast result back to the operand's shape `shape`
 * (the rule of broadcasting's backward pass).
 */
export const sumToShape = (g: F32, shape: Shape): F32 => {
  if (shapeEquals(g.dims, shape)) return g
  let cur = g
  const lead = g.dims.length - shape.length
  for (let i = 0; i < g.dims.length; i++) {
    const target = i < lead ? 1 : shape[i - lead]!
    if (target === 1 && g.dims[i] !== 1) cur = sumAxisKeep(cur, i)
  }
  return reshape(cur, shape)
}
