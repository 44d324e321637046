/** `axpy`: out = a + alpha·b element-wise over float32. */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl, vec4Able } from "./context.ts"

const axpyWgsl = (t: string): string => /* wgsl */ `
struct Params { n: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<${t}>;
@group(0) @binding(2) var<storage, read> b: array<${t}>;
@group(0) @binding(3) var<storage, read_write> out: array<${t}>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i < u.n) { out[i] = a[i] + u.alpha * b[i]; }
}`

/** WGSL of `axpy`. */
export const axpySpec: KernelSpec = { key: "axpy", inputs: 2, outputs: 1, code: axpyWgsl("f32") }

/** WGSL of `axpy`, 4 elements a thread (see `vec4Able`). */
export const axpyVec4Spec: KernelSpec = { key: "axpy:vec4", inputs: 2, outputs: 1, code: axpyWgsl("vec4<f32>") }

/** out = a + alpha·b over `numel` values. */
export const axpy = (ctx: KernelContext, a: Storage, b: Storage, numel: number, alpha: number): GpuStorage => {
  const out = ctx.output(numel, "float32")
  if (numel === 0) return out
  const vec = vec4Able([a, b, out])
  const threads = vec ? Math.ceil(numel / 4) : numel
  ctx.dispatch(vec ? axpyVec4Spec : axpySpec, [a, b, out], grid2d(Math.ceil(threads / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, threads)
    u.f32(1, alpha)
  }, numel * 3)
  return out
}
