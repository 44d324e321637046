/** `axpy`: out = a + alpha·b element-wise over float32. */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"

/** WGSL of `axpy`. */
export const axpySpec: KernelSpec = {
  key: "axpy",
  inputs: 2,
  outputs: 1,
  code: /* wgsl */ `
struct Params { n: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i < u.n) { out[i] = a[i] + u.alpha * b[i]; }
}`
}

/** out = a + alpha·b over `numel` values. */
export const axpy = (ctx: KernelContext, a: Storage, b: Storage, numel: number, alpha: number): GpuStorage => {
  const out = ctx.output(numel, "float32")
  if (numel === 0) return out
  ctx.dispatch(axpySpec, [a, b, out], grid2d(Math.ceil(numel / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, numel)
    u.f32(1, alpha)
  }, numel * 3)
  return out
}
