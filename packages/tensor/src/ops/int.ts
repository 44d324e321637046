/**
 * Small integer ops (counters such as batch norm's `num_batches_tracked`), built from the
 * existing `Backend` kernels: int32 → float32 `cast`, a float kernel, float32 → int32 `cast`.
 * Not differentiable.
 */
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { Tensor } from "../tensor.ts"
import { deviceOf, result } from "./record.ts"

/** Largest integer magnitude that float32 holds exactly (2²⁴). */
const exactFloatInt = 16777216

/**
 * `addScalarInt(a, c)`: a + c element-wise for an int32 tensor and an integer constant;
 * [S] → [S], int32, untracked. Computed through float32 (cast, `addScalar`, cast back),
 * so it is exact while every value and result stays within ±2²⁴ (16 777 216) — ample for
 * step and batch counters; beyond that the result is rounded to a float32 integer.
 *
 * Throws `ShapeError` when `a` is not int32 or when `c` is not an integer of magnitude
 * at most 2²⁴.
 */
export const addScalarInt = <S>(a: Tensor<S, "int32">, c: number): Tensor<S, "int32"> => {
  if (a.dtype !== "int32") {
    throw new ShapeError({ op: "addScalarInt", reason: `expects int32, got ${a.dtype} ${formatShape(a.dims)}`, shapes: [a.dims] })
  }
  if (!Number.isInteger(c) || Math.abs(c) > exactFloatInt) {
    throw new ShapeError({ op: "addScalarInt", reason: `the constant must be an integer in [-2^24, 2^24], got ${c}`, shapes: [a.dims] })
  }
  const device = deviceOf("addScalarInt", a)
  const { backend } = device
  const asFloat = backend.cast(a.storage, a.numel, false)
  const sum = backend.unary("addScalar", asFloat, a.numel, c)
  const out = backend.cast(sum, a.numel, true)
  backend.release(asFloat)
  backend.release(sum)
  return result(device, out, a.shape, "int32", [])
}

/**
 * `replaceInt(a, value, replacement)`: int32 a with every element equal to `value` set to
 * `replacement`; [S] → [S], untracked (e.g. a class to ignore mapped outside [0, C)).
 * Computed through float32 (cast; hit = step(0.5 − |a − value|); a + hit·(replacement −
 * value); cast back), exact while values stay within ±2²⁴.
 *
 * Throws `ShapeError` when `a` is not int32 or when `value` or `replacement` is not an
 * integer of magnitude at most 2²⁴.
 */
export const replaceInt = <S>(a: Tensor<S, "int32">, value: number, replacement: number): Tensor<S, "int32"> => {
  if (a.dtype !== "int32") {
    throw new ShapeError({ op: "replaceInt", reason: `expects int32, got ${a.dtype} ${formatShape(a.dims)}`, shapes: [a.dims] })
  }
  for (const c of [value, replacement]) {
    if (!Number.isInteger(c) || Math.abs(c) > exactFloatInt) {
      throw new ShapeError({ op: "replaceInt", reason: `values must be integers in [-2^24, 2^24], got ${c}`, shapes: [a.dims] })
    }
  }
  const device = deviceOf("replaceInt", a)
  const { backend } = device
  const n = a.numel
  const asFloat = backend.cast(a.storage, n, false)
  const shifted = backend.unary("addScalar", asFloat, n, -value)
  const distance = backend.unary("abs", shifted, n, 0)
  const negated = backend.unary("neg", distance, n, 0)
  const margin = backend.unary("addScalar", negated, n, 0.5)
  const hit = backend.unary("step", margin, n, 0)
  const delta = backend.unary("scale", hit, n, replacement - value)
  const replaced = backend.binary("add", asFloat, delta, [n], [1], [1])
  const out = backend.cast(replaced, n, true)
  for (const s of [asFloat, shifted, distance, negated, margin, hit, delta, replaced]) backend.release(s)
  return result(device, out, a.shape, "int32", [])
}
