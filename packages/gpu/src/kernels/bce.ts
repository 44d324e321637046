/**
 * `bceWithLogits`: ℓ = y·softplus(−x) + (1−y)·softplus(x) element-wise, a term skipped
 * when its coefficient is 0 (so ±∞ logits give 0 or +∞, never NaN), with
 * softplus(z) = max(z, 0) + log1p(e^(−|z|)) (PyTorch `BCEWithLogitsLoss`, reduction "none").
 * WGSL has no log1p; it is computed as log(w)·e/(w − 1) with w = 1 + e (Goldberg's
 * trick), accurate for tiny e where log(1 + e) would round to 0.
 */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"

/** WGSL of `bceWithLogits`. */
export const bceSpec: KernelSpec = {
  key: "bceWithLogits",
  inputs: 2,
  outputs: 1,
  code: /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
fn log1pSmall(e: f32) -> f32 {
  let w = 1.0 + e;
  if (w == 1.0) { return e; }
  return log(w) * e / (w - 1.0);
}
fn softplus(z: f32) -> f32 {
  return max(z, 0.0) + log1pSmall(exp(-abs(z)));
}
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i >= u.n) { return; }
  let xi = x[i];
  let yi = y[i];
  let pos = select(0.0, yi * softplus(-xi), yi != 0.0);
  let neg = select(0.0, (1.0 - yi) * softplus(xi), yi != 1.0);
  out[i] = pos + neg;
}`
}

/** Element-wise binary cross-entropy with logits `x` and targets `y` over `numel` values. */
export const bceWithLogits = (ctx: KernelContext, x: Storage, y: Storage, numel: number): GpuStorage => {
  const out = ctx.output(numel, "float32")
  if (numel === 0) return out
  ctx.dispatch(bceSpec, [x, y, out], grid2d(Math.ceil(numel / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, numel)
  }, numel * 6)
  return out
}
