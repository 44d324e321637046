/**
 * `crossEntropy` and its backward, fused. Forward: one 256-thread workgroup; each thread
 * takes rows t, t + 256, …, computes the row max m and ls = log Σ exp(x − m) (both written
 * per row for the backward; m + ls would round away ls for a logit of 1e8) and, for a row
 * whose target is in [0, cols), adds ls − (x[target] − m) and counts the row; workgroup-
 * memory trees sum both, and the mean over the counted rows is written as one value (NaN
 * when none counts), the count after the rows' stats. Rows whose target is outside
 * [0, cols) are ignored, as PyTorch ignores `ignore_index` (−100 by default). Backward: one
 * thread per logit, (exp(x − m − ls) − [c = target])·g[0]/count, 0 on ignored rows.
 * Replaces log-softmax, pick, sum, scale and negation forward and their five backward
 * kernels.
 */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"
import { fill } from "./fill.ts"

const wg = 256

/** WGSL of the forward kernel. Uniform words: rows, cols. */
export const crossEntropySpec: KernelSpec = {
  key: "crossEntropy",
  inputs: 2,
  outputs: 2,
  code: /* wgsl */ `
struct Params { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
var<workgroup> partial: array<f32, ${wg}>;
var<workgroup> counted: array<u32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  var acc = 0.0;
  var valid = 0u;
  for (var r = t; r < u.rows; r += ${wg}u) {
    let base = r * u.cols;
    var m = x[base];
    for (var c = 1u; c < u.cols; c++) { m = max(m, x[base + c]); }
    var s = 0.0;
    for (var c = 0u; c < u.cols; c++) { s += exp(x[base + c] - m); }
    let ls = log(s);
    stats[2u * r] = m;
    stats[2u * r + 1u] = ls;
    let k = labels[r];
    if (k >= 0 && u32(k) < u.cols) {
      acc += ls - (x[base + u32(k)] - m);
      valid += 1u;
    }
  }
  partial[t] = acc;
  counted[t] = valid;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (t < s) {
      partial[t] = partial[t] + partial[t + s];
      counted[t] = counted[t] + counted[t + s];
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    let n = counted[0];
    stats[2u * u.rows] = f32(n);
    // No row counted: NaN, as PyTorch's mean over nothing. Its bits are made from n (0 there),
    // since WGSL refuses a NaN constant and leaves 0 / 0 unspecified.
    loss[0] = select(bitcast<f32>(0x7fc00000u | n), partial[0] / f32(n), n > 0u);
  }
}`
}

/** WGSL of the backward kernel. Uniform words: n = rows·cols, cols, rows. */
export const crossEntropyBackwardSpec: KernelSpec = {
  key: "crossEntropyBackward",
  inputs: 4,
  outputs: 1,
  code: /* wgsl */ `
struct Params { n: u32, cols: u32, rows: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<i32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i >= u.n) { return; }
  let r = i / u.cols;
  let c = i - r * u.cols;
  let k = labels[r];
  let valid = k >= 0 && u32(k) < u.cols;
  let p = exp(x[i] - stats[2u * r] - stats[2u * r + 1u]) - select(0.0, 1.0, valid && u32(k) == c);
  out[i] = select(0.0, p * g[0] / stats[2u * u.rows], valid);
}`
}

/**
 * [loss (1 value), stats: (max, log-sum-exp) per row, then the count of rows not ignored]
 * of logits [rows, cols] against int32 targets [rows].
 */
export const crossEntropy = (ctx: KernelContext, logits: Storage, targets: Storage, rows: number, cols: number): readonly [GpuStorage, GpuStorage] => {
  // Nothing to average: NaN, as the CPU reference and PyTorch (a count of 0 for the backward, whose output is empty or 0).
  if (rows === 0 || cols === 0) return [fill(ctx, 1, NaN, "float32"), fill(ctx, 2 * rows + 1, 0, "float32")]
  const loss = ctx.output(1, "float32")
  const stats = ctx.output(2 * rows + 1, "float32")
  ctx.dispatch(crossEntropySpec, [logits, targets, loss, stats], [1, 1], (u) => {
    u.u32(0, rows)
    u.u32(1, cols)
  }, rows * cols * 4)
  return [loss, stats]
}

/** d loss / d logits for the `crossEntropy` that gave `stats`, scaled by g[0]. */
export const crossEntropyBackward = (ctx: KernelContext, logits: Storage, stats: Storage, targets: Storage, g: Storage, rows: number, cols: number): GpuStorage => {
  const n = rows * cols
  const out = ctx.output(n, "float32")
  if (n === 0) return out
  ctx.dispatch(crossEntropyBackwardSpec, [logits, stats, targets, g, out], grid2d(Math.ceil(n / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, n)
    u.u32(1, cols)
    u.u32(2, rows)
  }, n * 5)
  return out
}
