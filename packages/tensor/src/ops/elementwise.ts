/**
 * Element-wise ops with their gradients. Binary ops broadcast the second operand into
 * the first's shape (bias adds, residual adds); the result has the first operand's shape.
 */
import type { Shape } from "@effect-nn/shape"
import { ShapeError, broadcastShapes, broadcastStrides, formatShape, shapeEquals } from "@effect-nn/shape"
import type { BinaryOp, UnaryOp } from "../backend.ts"
import type { Tensor } from "../tensor.ts"
import type { F32 } from "./record.ts"
import { assertFloat, deviceOf, result, retype } from "./record.ts"
import { sumToShape } from "./shape-ops.ts"

const binary = (op: BinaryOp, a: F32, b: F32): F32 => {
  const device = deviceOf(op, a, b)
  const out = broadcastShapes(op, a.dims, b.dims)
  if (!shapeEquals(out, a.dims)) {
    throw new ShapeError({
      op,
      reason: `${formatShape(b.dims)} must broadcast into ${formatShape(a.dims)} (the result would be ${formatShape(out)})`,
      shapes: [a.dims, b.dims]
    })
  }
  const storage = device.backend.binary(op, a.storage, b.storage, out, broadcastStrides(a.dims, out), broadcastStrides(b.dims, out))
  return result(device, storage, out, "float32", [a, b], (g, [needA, needB]) => {
    switch (op) {
      case "add":
        return [g, needB ? sumToShape(g, b.dims) : undefined]
      case "sub":
        return [g, needB ? sumToShape(neg(g), b.dims) : undefined]
      case "mul":
        return [needA ? mulRaw(g, b) : undefined, needB ? sumToShape(mulRaw(g, a), b.dims) : undefined]
      case "div": {
        const ga = needA ? divRaw(g, b) : undefined
        // d(a/b)/db = -a/b² = -(a/b)/b
        const gb = needB ? sumToShape(neg(divRaw(mulRaw(g, divRaw(a, b)), b)), b.dims) : undefined
        return [ga, gb]
      }
      case "max":
      case "min":
        throw new ShapeError({ op, reason: "has no gradient here yet", shapes: [a.dims, b.dims] })
    }
  })
}

const mulRaw = (a: F32, b: F32): F32 => binary("mul", a, b)
const divRaw = (a: F32, b: F32): F32 => binary("div", a, b)

const unary = (op: UnaryOp, a: F32, alpha: number, backward?: (g: F32, y: F32) => F32): F32 => {
  const device = deviceOf(op, a)
  const storage = device.backend.unary(op, a.storage, a.numel, alpha)
  let y: F32
  y = result(device, storage, a.dims, "float32", [a], backward && ((g) => [backward(g, y)]))
  return y
}

/** a + b, b broadcast into a's shape. */
export const add = <S>(a: Tensor<S>, b: Tensor<unknown>): Tensor<S> => retype(binary("add", assertFloat("add", a), assertFloat("add", b)))
/** a − b, b broadcast into a's shape. */
export const sub = <S>(a: Tensor<S>, b: Tensor<unknown>): Tensor<S> => retype(binary("sub", assertFloat("sub", a), assertFloat("sub", b)))
/** a · b element-wise, b broadcast into a's shape. */
export const mul = <S>(a: Tensor<S>, b: Tensor<unknown>): Tensor<S> => retype(binary("mul", assertFloat("mul", a), assertFloat("mul", b)))
/** a / b element-wise, b broadcast into a's shape. */
export const div = <S>(a: Tensor<S>, b: Tensor<unknown>): Tensor<S> => retype(binary("div", assertFloat("div", a), assertFloat("div", b)))

/** −a */
export const neg = <S>(a: Tensor<S>): Tensor<S> => retype(unary("neg", assertFloat("neg", a), 0, (g) => neg(g)))
/** a · c for a constant c. */
export const scale = <S>(a: Tensor<S>, c: number): Tensor<S> => retype(unary("scale", assertFloat("scale", a), c, (g) => scale(g, c)))
/** a + c for a constant c. */
export const addScalar = <S>(a: Tensor<S>, c: number): Tensor<S> => retype(unary("addScalar", assertFloat("addScalar", a), c, (g) => g))
/** eˣ */
export const exp = <S>(a: Tensor<S>): Tensor<S> => retype(unary("exp", assertFloat("exp", a), 0, (g, y) => mulRaw(g, y)))
/** ln x */
export const log = <S>(a: Tensor<S>): Tensor<S> => {
  const x = assertFloat("log", a)
  return retype(unary("log", x, 0, (g) => divRaw(g, x)))
}
/** x² */
export const square = <S>(a: Tensor<S>): Tensor<S> => {
  const x = assertFloat("square", a)
  return retype(unary("square", x, 0, (g) => mulRaw(g, scale(x, 2))))
}
/** √x */
export const sqrt = <S>(a: Tensor<S>): Tensor<S> =>
  retype(unary("sqrt", assertFloat("sqrt", a), 0, (g, y) => divRaw(g, scale(y, 2))))

/** 1/(1 + e^(−x)), evaluated without overflow for any x (±Infinity included). */
export const sigmoid = <S>(a: Tensor<S>): Tensor<S> =>
  retype(unary("sigmoid", assertFloat("sigmoid", a), 0, (g, y) => mulRaw(g, mulRaw(y, addScalar(neg(y), 1)))))

/** tanh x. */
export const tanh = <S>(a: Tensor<S>): Tensor<S> =>
  retype(unary("tanh", assertFloat("tanh", a), 0, (g, y) => mulRaw(g, addScalar(neg(square(y)), 1))))

/** Gradient of ReLU: g where x > 0, else 0 (so 0 at exactly 0 and at NaN, as PyTorch's threshold_backward). */
export const reluBackward = (x: F32, g: F32): F32 => {
  const device = deviceOf("relu", x, g)
  return result(device, device.backend.reluBackward(x.storage, g.storage, x.numel), x.dims, "float32", [])
}

/** max(x, 0); NaN stays NaN (as `torch.relu`). Its derivative at exactly 0 is 0 (PyTorch's convention). */
export const relu = <S>(a: Tensor<S>): Tensor<S> => {
  const x = assertFloat("relu", a)
  return retype(unary("relu", x, 0, (g) => reluBackward(x, g)))
}

/** Accumulates two gradients (same shape): a + b. */
export const addSame = (a: F32, b: F32): F32 => {
  const device = deviceOf("add", a, b)
  return result(device, device.backend.axpy(a.storage, b.storage, a.numel, 1), a.dims, "float32", [a, b], (g) => [g, g])
}

/** a + α·b for same-shaped a and b (SGD's update). */
export const axpy = <S>(a: Tensor<S>, b: Tensor<unknown>, alpha: number): Tensor<S> => {
  const x = assertFloat("axpy", a)
  const y = assertFloat("axpy", b)
  if (!shapeEquals(x.dims, y.dims)) {
    throw new ShapeError({ op: "axpy", reason: `shapes ${formatShape(x.dims)} and ${formatShape(y.dims)} differ`, shapes: [x.dims, y.dims] })
  }
  const device = deviceOf("axpy", x, y)
  return retype(result(device, device.backend.axpy(x.storage, y.storage, x.numel, alpha), x.dims, "float32", [x, y], (g) => [g, scale(g, alpha)]))
}

export type { Shape }
