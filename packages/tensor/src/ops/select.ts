/**
 * Taking one index along any dim (`select`) and its inverse, stacking along a new dim
 * (`stack`), with gradients — how a recurrent layer reads time step t of [B, T, F] and
 * gathers its outputs back into [B, T, H].
 *
 * Both are views of the existing column ops: a tensor [...pre, n, ...post] is the
 * row-major matrix [∏pre, n·∏post], and index i along the dim is its column block
 * [i·∏post, (i+1)·∏post). So `select` is a reshape and `sliceLast` (one `sliceColumns`
 * kernel), `stack` is reshapes and `concatLast` (one `concatColumns`); no new backend
 * kernel is needed and the backward passes come from those ops. Sources: PyTorch
 * `torch.select` and `torch.stack` (same semantics, negative dims counted from the end).
 */
import type { Shape } from "@effect-nn/shape"
import { ShapeError, formatShape, numel, shapeEquals } from "@effect-nn/shape"
import type { Tensor } from "../tensor.ts"
import { concatLast, sliceLast } from "./concat.ts"
import { assertFloat, retype } from "./record.ts"
import { reshape } from "./shape-ops.ts"

/** `S` without its dim at position `D` (a literal index from 0); `Shape` when unknown. */
export type RemoveDim<S, D extends number, Acc extends ReadonlyArray<unknown> = []> = number extends D ? Shape
  : S extends readonly [infer H, ...infer R] ? (Acc["length"] extends D ? [...Acc, ...R] : RemoveDim<R, D, [...Acc, H]>)
  : Shape

/** `S` with dim `N` inserted at position `D` (a literal index from 0); `Shape` when unknown. */
export type InsertDim<S, D extends number, N, Acc extends ReadonlyArray<unknown> = []> = number extends D ? Shape
  : Acc["length"] extends D ? (S extends readonly unknown[] ? [...Acc, N, ...S] : Shape)
  : S extends readonly [infer H, ...infer R] ? InsertDim<R, D, N, [...Acc, H]>
  : Shape

const normaliseDim = (op: string, dim: number, rank: number, dims: Shape): number => {
  const d = dim < 0 ? dim + rank : dim
  if (!Number.isInteger(d) || d < 0 || d >= rank) {
    throw new ShapeError({ op, reason: `dim ${dim} is out of range for a tensor of rank ${rank - (op === "stack" ? 1 : 0)} ${formatShape(dims)}`, shapes: [dims] })
  }
  return d
}

/**
 * `select(x, dim, index)`: the slice of `x` at `index` along `dim`, with that dim removed:
 * [...pre, n, ...post] → [...pre, ...post] (PyTorch `x.select(dim, index)`). `dim` may be
 * negative (from the end); `index` is in [0, n). The result is a copy. Its gradient is
 * `g` placed at `index` with zeros elsewhere (one full-size tensor per select, so k
 * selects of one tracked tensor cost k times its size in backward).
 * Throws `ShapeError` naming the shape when `dim` or `index` is out of range.
 */
export const select = <S, const D extends number>(a: Tensor<S>, dim: D, index: number): Tensor<RemoveDim<S, D>> => {
  const x = assertFloat("select", a)
  const dims = x.dims
  const d = normaliseDim("select", dim, dims.length, dims)
  const n = dims[d]!
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new ShapeError({ op: "select", reason: `index ${index} is out of range for dim ${dim} of size ${n} in ${formatShape(dims)}`, shapes: [dims] })
  }
  const rows = numel(dims.slice(0, d))
  const inner = numel(dims.slice(d + 1))
  const out = [...dims.slice(0, d), ...dims.slice(d + 1)]
  const matrix = reshape(x, [rows, n * inner])
  return retype(reshape(sliceLast(matrix, index * inner, inner), out))
}

/**
 * `stack(xs, dim)`: joins same-shaped tensors along a new dim at position `dim`:
 * k tensors [...pre, ...post] → [...pre, k, ...post] (PyTorch `torch.stack`). `dim` may
 * be negative (−1 appends a last dim). Each input's gradient is its slice of `g`.
 * Throws `ShapeError` when `xs` is empty, the shapes differ or `dim` is out of range.
 */
export const stack = <S, const D extends number>(xs: ReadonlyArray<Tensor<S>>, dim: D): Tensor<InsertDim<S, D, number>> => {
  if (xs.length === 0) throw new ShapeError({ op: "stack", reason: "needs at least one tensor", shapes: [] })
  const ts = xs.map((t) => assertFloat("stack", t))
  const dims = ts[0]!.dims
  for (const t of ts) {
    if (!shapeEquals(t.dims, dims)) {
      throw new ShapeError({ op: "stack", reason: `shapes differ: ${ts.map((u) => formatShape(u.dims)).join(", ")}`, shapes: ts.map((u) => u.dims) })
    }
  }
  const d = normaliseDim("stack", dim, dims.length + 1, dims)
  const rows = numel(dims.slice(0, d))
  const inner = numel(dims.slice(d))
  const joined = concatLast(ts.map((t) => reshape(t, [rows, inner])))
  return retype(reshape(joined, [...dims.slice(0, d), ts.length, ...dims.slice(d)]))
}
