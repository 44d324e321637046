/** `fill`: out[i] = value, as a float32 or an int32 bit pattern. */
import type { DType } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"

/** WGSL of `fill`: writes the 32-bit pattern `u.bits` to `n` elements. */
export const fillSpec: KernelSpec = {
  key: "fill",
  inputs: 0,
  outputs: 1,
  code: /* wgsl */ `
struct Params { n: u32, bits: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i < u.n) { out[i] = u.bits; }
}`
}

/** A new storage of `numel` elements all equal to `value` (float32, or int32 by truncation to 32 bits). */
export const fill = (ctx: KernelContext, numel: number, value: number, dtype: DType): GpuStorage => {
  const out = ctx.output(numel, dtype)
  if (numel === 0) return out
  ctx.dispatch(fillSpec, [out], grid2d(Math.ceil(numel / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, numel)
    if (dtype === "int32") u.i32(1, value)
    else u.f32(1, value)
  }, numel)
  return out
}
