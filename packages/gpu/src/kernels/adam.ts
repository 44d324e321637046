/**
 * `adam`: one fused Adam/AdamW update with three outputs (new param, m, v) in one
 * dispatch, following `torch.optim.Adam`/`AdamW` (and the CPU reference):
 * g ← g + λ·p; p ← p·(1 − lr·λ_decoupled); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − (lr / bc1) · m / (√v / √bc2 + ε).
 * Constants such as 1−β2 are computed in float64 on the host and passed rounded to
 * float32 (computing 1 − 0.999 in float32 would be off by 1e-5 relative).
 */
import type { AdamHyper, Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"

/**
 * WGSL of `adam`, over f32 or over vec4<f32> (4 parameters a thread: lavapipe issues a
 * load per lane per access, so a vec4 access moves 4 values for the cost of one — the
 * update of ShallowMLP's 100k-weight layer went from about 0.9 to 0.45 ms).
 */
const adamWgsl = (vec: boolean): string => {
  const t = vec ? "vec4<f32>" : "f32"
  return /* wgsl */ `
struct Params {
  n: u32, beta1: f32, oneMinusBeta1: f32, beta2: f32,
  oneMinusBeta2: f32, eps: f32, weightDecay: f32, decay: f32,
  stepSize: f32, sqrtBc2: f32
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> param: array<${t}>;
@group(0) @binding(2) var<storage, read> grad: array<${t}>;
@group(0) @binding(3) var<storage, read> m: array<${t}>;
@group(0) @binding(4) var<storage, read> v: array<${t}>;
@group(0) @binding(5) var<storage, read_write> paramOut: array<${t}>;
@group(0) @binding(6) var<storage, read_write> mOut: array<${t}>;
@group(0) @binding(7) var<storage, read_write> vOut: array<${t}>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i >= u.n) { return; }
  var p = param[i];
  let g = grad[i] + u.weightDecay * p;
  p = p * u.decay;
  let mi = u.beta1 * m[i] + u.oneMinusBeta1 * g;
  let vi = u.beta2 * v[i] + u.oneMinusBeta2 * g * g;
  mOut[i] = mi;
  vOut[i] = vi;
  paramOut[i] = p - u.stepSize * mi / (sqrt(vi) / u.sqrtBc2 + u.eps);
}`
}

/** WGSL of `adam`, one parameter a thread. */
export const adamSpec: KernelSpec = { key: "adam", inputs: 4, outputs: 3, code: adamWgsl(false) }

/** WGSL of `adam`, four parameters a thread (every buffer a multiple of 16 bytes). */
export const adamVec4Spec: KernelSpec = { key: "adam:vec4", inputs: 4, outputs: 3, code: adamWgsl(true) }

/** One Adam step over `numel` parameters; returns the new [param, m, v]. */
export const adam = (
  ctx: KernelContext,
  param: Storage,
  grad: Storage,
  m: Storage,
  v: Storage,
  numel: number,
  h: AdamHyper
): readonly [GpuStorage, GpuStorage, GpuStorage] => {
  const p2 = ctx.output(numel, "float32")
  const m2 = ctx.output(numel, "float32")
  const v2 = ctx.output(numel, "float32")
  if (numel === 0) return [p2, m2, v2]
  const storages = [param, grad, m, v, p2, m2, v2]
  // The tail of a vec4 reads and writes the padding of the pooled buffers (never past them).
  const vec = storages.every((st) => (st as Partial<GpuStorage>).buffer !== undefined && (st as GpuStorage).buffer.bytes % 16 === 0)
  const threads = vec ? Math.ceil(numel / 4) : numel
  ctx.dispatch(vec ? adamVec4Spec : adamSpec, storages, grid2d(Math.ceil(threads / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, threads)
    u.f32(1, h.beta1)
    u.f32(2, 1 - h.beta1)
    u.f32(3, h.beta2)
    u.f32(4, 1 - h.beta2)
    u.f32(5, h.eps)
    u.f32(6, h.weightDecay)
    u.f32(7, 1 - h.lr * h.decoupledWeightDecay)
    u.f32(8, h.lr / h.biasCorrection1)
    u.f32(9, Math.sqrt(h.biasCorrection2))
  }, numel * 8)
  return [p2, m2, v2]
}
