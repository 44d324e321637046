/** `reluBackward`: out = g where x > 0, else 0 (the derivative at exactly 0 is 0). */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl, vec4Able } from "./context.ts"

const reluBackwardWgsl = (t: string, zero: string): string => /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<${t}>;
@group(0) @binding(2) var<storage, read> g: array<${t}>;
@group(0) @binding(3) var<storage, read_write> out: array<${t}>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i < u.n) { out[i] = select(${zero}, g[i], x[i] > ${zero}); }
}`

/** WGSL of `reluBackward`. */
export const reluBackwardSpec: KernelSpec = { key: "reluBackward", inputs: 2, outputs: 1, code: reluBackwardWgsl("f32", "0.0") }

/** WGSL of `reluBackward`, 4 elements a thread (see `vec4Able`). */
export const reluBackwardVec4Spec: KernelSpec = { key: "reluBackward:vec4", inputs: 2, outputs: 1, code: reluBackwardWgsl("vec4<f32>", "vec4<f32>(0.0)") }

/** ReLU's backward over `numel` values of input `x` and output gradient `g`. */
export const reluBackward = (ctx: KernelContext, x: Storage, g: Storage, numel: number): GpuStorage => {
  const out = ctx.output(numel, "float32")
  if (numel === 0) return out
  const vec = vec4Able([x, g, out])
  const threads = vec ? Math.ceil(numel / 4) : numel
  ctx.dispatch(vec ? reluBackwardVec4Spec : reluBackwardSpec, [x, g, out], grid2d(Math.ceil(threads / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, threads)
  }, numel * 3)
  return out
}
