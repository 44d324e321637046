/**
 * `pick` and `pickBackward`: out[r] = a[r, index[r]] for float32 a [rows, cols] and
 * int32 index [rows]; the backward scatters g[r] into [rows, cols] zeros. An index out of
 * [0, cols) picks 0 and scatters nothing, like the CPU reference.
 */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"

/** WGSL of `pick` (one thread per row). */
export const pickSpec: KernelSpec = {
  key: "pick",
  inputs: 2,
  outputs: 1,
  code: /* wgsl */ `
struct Params { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> index: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${linearIndexWgsl}
${elementwiseMain} {
  let r = linearIndex(wid, lid, nwg);
  if (r >= u.rows) { return; }
  let c = index[r];
  let valid = c >= 0 && u32(c) < u.cols;
  let v = a[r * u.cols + select(0u, u32(c), valid)];
  out[r] = select(0.0, v, valid);
}`
}

/** WGSL of `pickBackward` (one thread per output element). */
export const pickBackwardSpec: KernelSpec = {
  key: "pickBackward",
  inputs: 2,
  outputs: 1,
  code: /* wgsl */ `
struct Params { rows: u32, cols: u32, n: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> index: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i >= u.n) { return; }
  let r = i / u.cols;
  let c = i - r * u.cols;
  out[i] = select(0.0, g[r], index[r] == i32(c));
}`
}

/** out[r] = a[r, index[r]] (0 for an index outside [0, cols)). */
export const pick = (ctx: KernelContext, a: Storage, index: Storage, rows: number, cols: number): GpuStorage => {
  const out = ctx.output(rows, "float32")
  if (rows === 0) return out
  ctx.dispatch(pickSpec, [a, index, out], grid2d(Math.ceil(rows / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, rows)
    u.u32(1, cols)
  }, rows * 3)
  return out
}

/** [rows, cols] zeros with out[r, index[r]] = g[r]. */
export const pickBackward = (ctx: KernelContext, g: Storage, index: Storage, rows: number, cols: number): GpuStorage => {
  const n = rows * cols
  const out = ctx.output(n, "float32")
  if (n === 0) return out
  ctx.dispatch(pickBackwardSpec, [g, index, out], grid2d(Math.ceil(n / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, rows)
    u.u32(1, cols)
    u.u32(2, n)
  }, n * 3)
  return out
}
