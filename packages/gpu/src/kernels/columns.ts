/**
 * `concatColumns` and `sliceColumns`: copies of column blocks between row-major
 * matrices, as 32-bit patterns (float32 or int32 alike). One kernel copies a
 * [rows, width] block from columns [srcStart, srcStart + width) of a [rows, srcCols]
 * source into columns [dstStart, …) of a [rows, dstCols] destination; a concat is one
 * dispatch per part into disjoint columns of one output, a slice is one dispatch.
 */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"

/** WGSL of the column-block copy. */
export const copyColumnsSpec: KernelSpec = {
  key: "copyColumns",
  inputs: 1,
  outputs: 1,
  code: /* wgsl */ `
struct Params { n: u32, width: u32, srcCols: u32, srcStart: u32, dstCols: u32, dstStart: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i >= u.n) { return; }
  let r = i / u.width;
  let c = i - r * u.width;
  dst[r * u.dstCols + u.dstStart + c] = src[r * u.srcCols + u.srcStart + c];
}`
}

/** Encodes the copy of a [rows, width] column block (nothing for an empty block). */
const copyColumns = (
  ctx: KernelContext,
  src: Storage,
  dst: GpuStorage,
  rows: number,
  width: number,
  srcCols: number,
  srcStart: number,
  dstCols: number,
  dstStart: number
): void => {
  const n = rows * width
  if (n === 0) return
  ctx.dispatch(copyColumnsSpec, [src, dst], grid2d(Math.ceil(n / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, n)
    u.u32(1, width)
    u.u32(2, srcCols)
    u.u32(3, srcStart)
    u.u32(4, dstCols)
    u.u32(5, dstStart)
  }, n * 2)
}

/** Concatenates [rows, widths[i]] storages along the last dim → [rows, Σ widths]. */
export const concatColumns = (ctx: KernelContext, parts: ReadonlyArray<Storage>, rows: number, widths: ReadonlyArray<number>): GpuStorage => {
  const total = widths.reduce((a, b) => a + b, 0)
  const out = ctx.output(rows * total, "float32")
  let offset = 0
  parts.forEach((part, i) => {
    const w = widths[i]!
    copyColumns(ctx, part, out, rows, w, w, 0, total, offset)
    offset += w
  })
  return out
}

/** Columns [start, start + width) of a [rows, cols] storage → [rows, width]. */
export const sliceColumns = (ctx: KernelContext, a: Storage, rows: number, cols: number, start: number, width: number): GpuStorage => {
  const out = ctx.output(rows * width, "float32")
  copyColumns(ctx, a, out, rows, width, cols, start, width, 0)
  return out
}
