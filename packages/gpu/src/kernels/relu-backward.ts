/** `reluBackward`: out = g where x > 0, else 0 (the derivative at exactly 0 is 0). */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"

/** WGSL of `reluBackward`. */
export const reluBackwardSpec: KernelSpec = {
  key: "reluBackward",
  inputs: 2,
  outputs: 1,
  code: /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i < u.n) { out[i] = select(0.0, g[i], x[i] > 0.0); }
}`
}

/** ReLU's backward over `numel` values of input `x` and output gradient `g`. */
export const reluBackward = (ctx: KernelContext, x: Storage, g: Storage, numel: number): GpuStorage => {
  const out = ctx.output(numel, "float32")
  if (numel === 0) return out
  ctx.dispatch(reluBackwardSpec, [x, g, out], grid2d(Math.ceil(numel / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, numel)
  }, numel * 3)
  return out
}
