/**
 * `dropoutMask`: out[i] = 1/(1−p) where unit i is kept, 0 where it is dropped. Unit i is
 * kept when u(seed, i) ≥ p, with u the counter-based PCG hash of `@effect-nn/tensor`'s
 * `dropout-hash.ts` computed with the same u32 arithmetic, so a seed gives the same mask
 * on the CPU and here. The test u ≥ p is done exactly on integers: u = h / 2²⁴ with h
 * a 24-bit integer, so u ≥ p ⇔ h ≥ ⌈p·2²⁴⌉.
 */
import { hashU32, type Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"

/** WGSL of `dropoutMask`. */
export const dropoutSpec: KernelSpec = {
  key: "dropoutMask",
  inputs: 0,
  outputs: 1,
  code: /* wgsl */ `
struct Params { n: u32, seedHash: u32, threshold: u32, scale: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
// PCG-RXS-M-XS output permutation (O'Neill 2014), as in dropout-hash.ts.
fn pcg(x: u32) -> u32 {
  let state = x * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i < u.n) { out[i] = select(0.0, u.scale, (pcg(i + u.seedHash) >> 8u) >= u.threshold); }
}`
}

/** A dropout mask of `numel` float32 values for drop probability `p` and `seed`. */
export const dropoutMask = (ctx: KernelContext, numel: number, p: number, seed: number): GpuStorage => {
  const out = ctx.output(numel, "float32")
  if (numel === 0) return out
  const threshold = Math.min(2 ** 24, Math.max(0, Math.ceil(p * 2 ** 24)))
  ctx.dispatch(dropoutSpec, [out], grid2d(Math.ceil(numel / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, numel)
    u.u32(1, hashU32(seed >>> 0))
    u.u32(2, threshold)
    u.f32(3, p >= 1 ? 0 : 1 / (1 - p))
  }, numel * 2)
  return out
}

/** WGSL of `dropoutApply`: out = a·mask, the mask computed in place (no mask buffer). */
export const dropoutApplySpec: KernelSpec = {
  key: "dropoutApply",
  inputs: 1,
  outputs: 1,
  code: /* wgsl */ `
struct Params { n: u32, seedHash: u32, threshold: u32, scale: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
fn pcg(x: u32) -> u32 {
  let state = x * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i < u.n) { out[i] = a[i] * select(0.0, u.scale, (pcg(i + u.seedHash) >> 8u) >= u.threshold); }
}`
}

/** a times the dropout mask of `numel`, `p` and `seed`, in one pass. */
export const dropoutApply = (ctx: KernelContext, a: Storage, numel: number, p: number, seed: number): GpuStorage => {
  const out = ctx.output(numel, "float32")
  if (numel === 0) return out
  const threshold = Math.min(2 ** 24, Math.max(0, Math.ceil(p * 2 ** 24)))
  ctx.dispatch(dropoutApplySpec, [a, out], grid2d(Math.ceil(numel / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, numel)
    u.u32(1, hashU32(seed >>> 0))
    u.u32(2, threshold)
    u.f32(3, p >= 1 ? 0 : 1 / (1 - p))
  }, numel * 3)
  return out
}
