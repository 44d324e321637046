import type { Shape } from "./dim.ts"
import { ShapeError, formatShape } from "./errors.ts"

/** Number of elements of a shape (the product of its dims; 1 for a scalar `[]`). */
export const numel = (shape: Shape): number => {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** True when two run-time shapes are equal dim for dim. */
export const shapeEquals = (a: Shape, b: Shape): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i])

/** Throws (inside a sync op) unless every dim is a non-negative integer. */
export const assertValidShape = (op: string, shape: Shape): void => {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError({ op, reason: `invalid shape ${formatShape(shape)}: dims must be non-negative integers`, shapes: [shape] })
    }
  }
}

/**
 * NumPy/PyTorch broadcasting of two shapes (trailing dims aligned; a dim of 1 stretches).
 * Throws `ShapeError` naming both shapes when they do not broadcast.
 * Source: https://pytorch.org/docs/stable/notes/broadcasting.html
 */
export const broadcastShapes = (op: string, a: Shape, b: Shape): Array<number> => {
  const rank = Math.max(a.length, b.length)
  const out: Array<number> = []
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1
    const db = b[b.length - rank + i] ?? 1
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError({
        op,
        reason: `shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (dim ${i - rank}: ${da} vs ${db})`,
        shapes: [a, b]
      })
    }
    out.push(da === 1 ? db : da)
  }
  return out
}

/** Row-major strides of `shape` aligned to `rank` dims, with 0 where a dim broadcasts. */
export const broadcastStrides = (shape: Shape, outShape: Shape): Array<number> => {
  const rank = outShape.length
  const strides = new Array<number>(rank).fill(0)
  let stride = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = rank - shape.length + i
    strides[o] = shape[i] === 1 && outShape[o] !== 1 ? 0 : stride
    stride *= shape[i]!
  }
  return strides
}
