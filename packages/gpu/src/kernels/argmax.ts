/**
 * `argmax`: int32 out[r] = the first column holding the row's maximum of float32
 * a [rows, cols], or its first NaN when it has one (as `torch.argmax`). Short rows: one thread per row. Long rows (cols > 256): one workgroup
 * per row; each thread keeps the first maximum of its strided columns and the tree
 * prefers the larger value, then the smaller column.
 */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl, nanWgsl } from "./context.ts"
import { fill } from "./fill.ts"

const wg = 256

const header = /* wgsl */ `
struct Params { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;
${nanWgsl}// True when v (column c) beats cur (column col): NaN beats numbers, then the larger
// value, then on ties (and between NaNs) the smaller column.
fn beats(v: f32, c: u32, cur: f32, col: u32) -> bool {
  let vn = isNan(v);
  let cn = isNan(cur);
  if (vn || cn) { return vn && (!cn || c < col); }
  return v > cur || (v == cur && c < col);
}
`

/** WGSL of both variants. */
export const argmaxSpecs = {
  serial: {
    key: "argmax:serial",
    inputs: 1,
    outputs: 1,
    code: /* wgsl */ `${header}
${linearIndexWgsl}
${elementwiseMain} {
  let row = linearIndex(wid, lid, nwg);
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  var best = 0u;
  var value = a[base];
  for (var c = 1u; c < u.cols; c++) {
    let v = a[base + c];
    if (beats(v, c, value, best)) { value = v; best = c; }
  }
  out[row] = i32(best);
}`
  },
  workgroup: {
    key: "argmax:workgroup",
    inputs: 1,
    outputs: 1,
    code: /* wgsl */ `${header}
var<workgroup> values: array<f32, ${wg}>;
var<workgroup> columns: array<u32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  let t = lid.x;
  // cols > ${wg} in this variant, so every thread owns at least one column.
  var best = t;
  var value = a[base + t];
  for (var c = t + ${wg}u; c < u.cols; c += ${wg}u) {
    let v = a[base + c];
    if (beats(v, c, value, best)) { value = v; best = c; }
  }
  values[t] = value;
  columns[t] = best;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (t < s) {
      let v = values[t + s];
      let c = columns[t + s];
      if (beats(v, c, values[t], columns[t])) { values[t] = v; columns[t] = c; }
    }
    workgroupBarrier();
  }
  if (t == 0u) { out[row] = i32(columns[0]); }
}`
  }
} as const satisfies Record<string, KernelSpec>

/** int32 argmax over the columns of each row (first index on ties; 0 for empty rows). */
export const argmax = (ctx: KernelContext, a: Storage, rows: number, cols: number): GpuStorage => {
  if (cols === 0) return fill(ctx, rows, 0, "int32")
  const out = ctx.output(rows, "int32")
  if (rows === 0) return out
  const serial = cols <= wg
  ctx.dispatch(serial ? argmaxSpecs.serial : argmaxSpecs.workgroup, [a, out], grid2d(serial ? Math.ceil(rows / elementwiseWorkgroup) : rows, ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, rows)
    u.u32(1, cols)
  }, rows * cols * 2)
  return out
}
