/**
 * `logSoftmax` and its backward over the rows of [rows, cols].
 *
 * Forward: y = x − max − log Σ exp(x − max) (max-subtracted, so finite for any finite
 * input: [[1e8, 1e8]] → [−log 2, −log 2]). Backward: g − exp(y)·Σ_row g.
 * Short rows (cols ≤ 128): one thread per row. Long rows: one 256-thread workgroup per
 * row with workgroup-memory reductions.
 */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"

/** Rows longer than this use the workgroup-per-row variant. */
export const serialMaxCols = 128
const wg = 256

const header = (backward: boolean): string => /* wgsl */ `
struct Params { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
${backward ? "@group(0) @binding(2) var<storage, read> g: array<f32>;" : ""}
@group(0) @binding(${backward ? 3 : 2}) var<storage, read_write> out: array<f32>;
`

const workgroupMain = /* wgsl */ `
var<workgroup> partial: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>)`

/** Tree-combines `partial` with `op` (a WGSL expression over `l` and `r`); leaves the result in partial[0]. */
const tree = (op: string): string => /* wgsl */ `
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (t < s) { let l = partial[t]; let r = partial[t + s]; partial[t] = ${op}; }
    workgroupBarrier();
  }`

/** WGSL of the forward variants. */
export const logSoftmaxSpecs = {
  serial: {
    key: "logSoftmax:serial",
    inputs: 1,
    outputs: 1,
    code: /* wgsl */ `${header(false)}
${linearIndexWgsl}
${elementwiseMain} {
  let row = linearIndex(wid, lid, nwg);
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  var m = a[base];
  for (var c = 1u; c < u.cols; c++) { m = max(m, a[base + c]); }
  var s = 0.0;
  for (var c = 0u; c < u.cols; c++) { s += exp(a[base + c] - m); }
  let lse = log(s);
  for (var c = 0u; c < u.cols; c++) { out[base + c] = a[base + c] - m - lse; }
}`
  },
  workgroup: {
    key: "logSoftmax:workgroup",
    inputs: 1,
    outputs: 1,
    code: /* wgsl */ `${header(false)}
${workgroupMain} {
  let row = wid.y * nwg.x + wid.x;
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  let t = lid.x;
  var m = a[base + min(t, u.cols - 1u)];
  for (var c = t + ${wg}u; c < u.cols; c += ${wg}u) { m = max(m, a[base + c]); }
  partial[t] = m;
  ${tree("max(l, r)")}
  let rowMax = partial[0];
  workgroupBarrier();
  var s = 0.0;
  for (var c = t; c < u.cols; c += ${wg}u) { s += exp(a[base + c] - rowMax); }
  partial[t] = s;
  ${tree("l + r")}
  let lse = log(partial[0]);
  for (var c = t; c < u.cols; c += ${wg}u) { out[base + c] = a[base + c] - rowMax - lse; }
}`
  }
} as const satisfies Record<string, KernelSpec>

/** WGSL of the backward variants (a = y, the forward output; g = output gradient). */
export const logSoftmaxBackwardSpecs = {
  serial: {
    key: "logSoftmaxBackward:serial",
    inputs: 2,
    outputs: 1,
    code: /* wgsl */ `${header(true)}
${linearIndexWgsl}
${elementwiseMain} {
  let row = linearIndex(wid, lid, nwg);
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  var s = 0.0;
  for (var c = 0u; c < u.cols; c++) { s += g[base + c]; }
  for (var c = 0u; c < u.cols; c++) { out[base + c] = g[base + c] - exp(a[base + c]) * s; }
}`
  },
  workgroup: {
    key: "logSoftmaxBackward:workgroup",
    inputs: 2,
    outputs: 1,
    code: /* wgsl */ `${header(true)}
${workgroupMain} {
  let row = wid.y * nwg.x + wid.x;
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  let t = lid.x;
  var s = 0.0;
  for (var c = t; c < u.cols; c += ${wg}u) { s += g[base + c]; }
  partial[t] = s;
  ${tree("l + r")}
  let total = partial[0];
  for (var c = t; c < u.cols; c += ${wg}u) { out[base + c] = g[base + c] - exp(a[base + c]) * total; }
}`
  }
} as const satisfies Record<string, KernelSpec>

const run = (
  ctx: KernelContext,
  specs: { readonly serial: KernelSpec; readonly workgroup: KernelSpec },
  inputs: ReadonlyArray<Storage>,
  rows: number,
  cols: number
): GpuStorage => {
  const out = ctx.output(rows * cols, "float32")
  if (rows === 0 || cols === 0) return out
  const serial = cols <= serialMaxCols
  const groups = serial ? Math.ceil(rows / elementwiseWorkgroup) : rows
  ctx.dispatch(serial ? specs.serial : specs.workgroup, [...inputs, out], grid2d(groups, ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, rows)
    u.u32(1, cols)
  }, rows * cols * 6)
  return out
}

/** Row-wise log-softmax of float32 [rows, cols]. */
export const logSoftmax = (ctx: KernelContext, a: Storage, rows: number, cols: number): GpuStorage =>
  run(ctx, logSoftmaxSpecs, [a], rows, cols)

/** Backward of log-softmax: g − exp(y)·Σ_row g for y, g of [rows, cols]. */
export const logSoftmaxBackward = (ctx: KernelContext, y: Storage, g: Storage, rows: number, cols: number): GpuStorage =>
  run(ctx, logSoftmaxBackwardSpecs, [y, g], rows, cols)
