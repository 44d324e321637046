/** `cast`: int32 → float32, or float32 → int32 by truncation toward zero. */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"

const castSpec = (toInt: boolean): KernelSpec => ({
  key: toInt ? "cast:toInt" : "cast:toFloat",
  inputs: 1,
  outputs: 1,
  code: /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<${toInt ? "f32" : "i32"}>;
@group(0) @binding(2) var<storage, read_write> out: array<${toInt ? "i32" : "f32"}>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i < u.n) { out[i] = ${toInt ? "i32(a[i])" : "f32(a[i])"}; }
}`
})

/** WGSL of the float32 → int32 variant. */
export const castToIntSpec = castSpec(true)
/** WGSL of the int32 → float32 variant. */
export const castToFloatSpec = castSpec(false)

/** Converts `numel` values: float32 → int32 (truncating) when `toInt`, else int32 → float32. */
export const cast = (ctx: KernelContext, a: Storage, numel: number, toInt: boolean): GpuStorage => {
  const out = ctx.output(numel, toInt ? "int32" : "float32")
  if (numel === 0) return out
  ctx.dispatch(toInt ? castToIntSpec : castToFloatSpec, [a, out], grid2d(Math.ceil(numel / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, numel)
  }, numel * 2)
  return out
}
