/**
 * `reduceSum` / `reduceMax` over the middle axis of a tensor viewed as
 * [outer, size, inner] → [outer, inner], float32 accumulation.
 *
 * Two variants: with many outputs (or short rows) each thread reduces one output
 * serially (summing in blocks of 64 values and of 64 blocks to limit rounding growth); with few outputs and long
 * rows each output gets a 256-thread workgroup that strides over the row (each thread
 * summing in blocks of 64 values and of 64 blocks) and combines the partial results in a tree in workgroup
 * memory. A max is NaN where a NaN is reduced, as
 * `torch.amax` (WGSL's `max` leaves NaN unspecified; see `nanWgsl`).
 */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl, nanWgsl } from "./context.ts"
import { fill } from "./fill.ts"

/** Which reduction. */
export type ReduceKind = "sum" | "max"

/** Threads of the workgroup-per-output variant. */
export const reduceWorkgroup = 256

const header = /* wgsl */ `
struct Params { outer: u32, size: u32, inner: u32, count: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${nanWgsl}`

const serialSpec = (kind: ReduceKind): KernelSpec => ({
  key: `reduce:${kind}:serial`,
  inputs: 1,
  outputs: 1,
  code: /* wgsl */ `${header}
${linearIndexWgsl}
${elementwiseMain} {
  let o = linearIndex(wid, lid, nwg);
  if (o >= u.count) { return; }
  let oo = o / u.inner;
  let base = oo * u.size * u.inner + (o - oo * u.inner);
  ${kind === "sum"
    ? `var total = 0.0;
  var r = 0u;
  while (r < u.size) {
    let outerEnd = min(r + 4096u, u.size);
    var block = 0.0;
    while (r < outerEnd) {
      let end = min(r + 64u, outerEnd);
      var part = 0.0;
      for (; r < end; r++) { part += a[base + r * u.inner]; }
      block += part;
    }
    total += block;
  }
  out[o] = total;`
    : `var best = a[base];
  for (var r = 1u; r < u.size; r++) { best = maxNan(best, a[base + r * u.inner]); }
  out[o] = best;`}
}`
})

const workgroupSpec = (kind: ReduceKind): KernelSpec => ({
  key: `reduce:${kind}:workgroup`,
  inputs: 1,
  outputs: 1,
  code: /* wgsl */ `${header}
var<workgroup> partial: array<f32, ${reduceWorkgroup}>;
@compute @workgroup_size(${reduceWorkgroup})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = wid.y * nwg.x + wid.x;
  if (o >= u.count) { return; }
  let oo = o / u.inner;
  let base = oo * u.size * u.inner + (o - oo * u.inner);
  let t = lid.x;
  ${kind === "sum"
    ? `var acc = 0.0;
  var r = t;
  while (r < u.size) {
    let outerEnd = min(r + ${64 * 64 * reduceWorkgroup}u, u.size);
    var block = 0.0;
    while (r < outerEnd) {
      let end = min(r + ${64 * reduceWorkgroup}u, outerEnd);
      var part = 0.0;
      for (; r < end; r += ${reduceWorkgroup}u) { part += a[base + r * u.inner]; }
      block += part;
    }
    acc += block;
  }`
    : `var acc = a[base + min(t, u.size - 1u) * u.inner];
  for (var r = t + ${reduceWorkgroup}u; r < u.size; r += ${reduceWorkgroup}u) { acc = maxNan(acc, a[base + r * u.inner]); }`}
  partial[t] = acc;
  workgroupBarrier();
  for (var s = ${reduceWorkgroup / 2}u; s > 0u; s >>= 1u) {
    if (t < s) { partial[t] = ${kind === "sum" ? "partial[t] + partial[t + s]" : "maxNan(partial[t], partial[t + s])"}; }
    workgroupBarrier();
  }
  if (t == 0u) { out[o] = partial[0]; }
}`
})

/** WGSL of the four variants, by kind and strategy. */
export const reduceSpecs = {
  sum: { serial: serialSpec("sum"), workgroup: workgroupSpec("sum") },
  max: { serial: serialSpec("max"), workgroup: workgroupSpec("max") }
} as const

/** True when the workgroup-per-output variant is used for this geometry. */
export const useWorkgroupReduce = (outputs: number, size: number): boolean => size >= 512 && outputs < 2048

/**
 * Sum or max over the middle axis of [outer, size, inner]. An empty axis (size 0) gives
 * 0 for a sum and −∞ for a max, like the CPU reference.
 */
export const reduce = (ctx: KernelContext, kind: ReduceKind, a: Storage, outer: number, size: number, inner: number): GpuStorage => {
  const outputs = outer * inner
  if (size === 0 || outputs === 0) return fill(ctx, outputs, kind === "sum" ? 0 : -Infinity, "float32")
  const out = ctx.output(outputs, "float32")
  const wg = useWorkgroupReduce(outputs, size)
  const spec = wg ? reduceSpecs[kind].workgroup : reduceSpecs[kind].serial
  const groups = wg ? outputs : Math.ceil(outputs / elementwiseWorkgroup)
  ctx.dispatch(spec, [a, out], grid2d(groups, ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, outer)
    u.u32(1, size)
    u.u32(2, inner)
    u.u32(3, outputs)
  }, outputs * size * 2)
  return out
}
