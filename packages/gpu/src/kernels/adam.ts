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
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl, vec4Able } from "./context.ts"

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

/** Most parameters one `adamMany` dispatch updates (uniform room for their ranges). */
export const maxAdamGroup = 8

const manySpecs = new Map<number, KernelSpec>()

/**
 * WGSL of `adam` over `k` parameters in one dispatch, 4 values a thread: the threads of
 * parameter j are those in [ends[j − 1], ends[j]) (in vec4s). Bindings: the k parameters'
 * param, grad, m, v, then their new param, m, v. Uniform words: as `adam`, then the ends
 * from word 12.
 */
export const adamManySpec = (k: number): KernelSpec => {
  let spec = manySpecs.get(k)
  if (spec === undefined) {
    const decl: Array<string> = []
    for (let j = 0; j < k; j++) {
      for (const [i, name] of ["param", "grad", "m", "v"].entries()) decl.push(`@group(0) @binding(${1 + 4 * j + i}) var<storage, read> ${name}${j}: array<vec4<f32>>;`)
    }
    for (let j = 0; j < k; j++) {
      for (const [i, name] of ["paramOut", "mOut", "vOut"].entries()) decl.push(`@group(0) @binding(${1 + 4 * k + 3 * j + i}) var<storage, read_write> ${name}${j}: array<vec4<f32>>;`)
    }
    const fns: Array<string> = []
    for (let j = 0; j < k; j++) {
      fns.push(`fn update${j}(i: u32) {
  var p = param${j}[i];
  let g = grad${j}[i] + u.weightDecay * p;
  p = p * u.decay;
  let mi = u.beta1 * m${j}[i] + u.oneMinusBeta1 * g;
  let vi = u.beta2 * v${j}[i] + u.oneMinusBeta2 * g * g;
  mOut${j}[i] = mi;
  vOut${j}[i] = vi;
  paramOut${j}[i] = p - u.stepSize * mi / (sqrt(vi) / u.sqrtBc2 + u.eps);
}`)
    }
    const end = (j: number): string => `u.ends[${j >> 2}][${j & 3}]`
    const branches = Array.from({ length: k }, (_, j) =>
      j === 0 ? `if (i < ${end(0)}) { update0(i); }` : `else if (i < ${end(j)}) { update${j}(i - ${end(j - 1)}); }`).join(" ")
    spec = {
      key: `adam:many:${k}`,
      inputs: 4 * k,
      outputs: 3 * k,
      code: /* wgsl */ `
struct Params {
  n: u32, beta1: f32, oneMinusBeta1: f32, beta2: f32,
  oneMinusBeta2: f32, eps: f32, weightDecay: f32, decay: f32,
  stepSize: f32, sqrtBc2: f32, pad0: u32, pad1: u32,
  ends: array<vec4<u32>, ${maxAdamGroup / 4}>
}
@group(0) @binding(0) var<uniform> u: Params;
${decl.join("\n")}
${fns.join("\n")}
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i >= u.n) { return; }
  ${branches}
}`
    }
    manySpecs.set(k, spec)
  }
  return spec
}

/**
 * Adam over many parameters with as few dispatches as the binding limit allows: groups
 * of up to ⌊maxStorageBuffers/7⌋ (at most 8) parameters whose buffers are all vec4-able
 * share a dispatch; the rest (and groups of one) use `adam`.
 */
export const adamMany = (
  ctx: KernelContext,
  tensors: ReadonlyArray<readonly [Storage, Storage, Storage, Storage, number]>,
  h: AdamHyper,
  maxStorageBuffers: number
): ReadonlyArray<readonly [GpuStorage, GpuStorage, GpuStorage]> => {
  const perGroup = Math.min(maxAdamGroup, Math.floor(maxStorageBuffers / 7))
  const results: Array<readonly [GpuStorage, GpuStorage, GpuStorage] | undefined> = tensors.map(() => undefined)
  const pending: Array<number> = []
  const encodeGroup = (group: ReadonlyArray<number>): void => {
    if (group.length === 1) {
      const [p, g, m, v, n] = tensors[group[0]!]!
      results[group[0]!] = adam(ctx, p, g, m, v, n, h)
      return
    }
    const outs = group.map((j) => {
      const n = tensors[j]![4]
      return [ctx.output(n, "float32"), ctx.output(n, "float32"), ctx.output(n, "float32")] as const
    })
    const ends: Array<number> = []
    let total = 0
    for (const j of group) {
      total += Math.ceil(tensors[j]![4] / 4)
      ends.push(total)
    }
    const storages: Array<Storage> = []
    for (const j of group) storages.push(...tensors[j]!.slice(0, 4) as Array<Storage>)
    for (const o of outs) storages.push(...o)
    ctx.dispatch(adamManySpec(group.length), storages, grid2d(Math.ceil(total / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
      u.u32(0, total)
      u.f32(1, h.beta1)
      u.f32(2, 1 - h.beta1)
      u.f32(3, h.beta2)
      u.f32(4, 1 - h.beta2)
      u.f32(5, h.eps)
      u.f32(6, h.weightDecay)
      u.f32(7, 1 - h.lr * h.decoupledWeightDecay)
      u.f32(8, h.lr / h.biasCorrection1)
      u.f32(9, Math.sqrt(h.biasCorrection2))
      ends.forEach((e, i) => u.u32(12 + i, e))
    }, total * 32)
    group.forEach((j, i) => (results[j] = outs[i]!))
  }
  for (let j = 0; j < tensors.length; j++) {
    const [p, g, m, v, n] = tensors[j]!
    if (perGroup < 2 || n === 0) {
      encodeGroup([j])
      continue
    }
    // Outputs come from the pool (vec4-able); the inputs must be too.
    if (!vec4Able([p, g, m, v])) {
      encodeGroup([j])
      continue
    }
    pending.push(j)
    if (pending.length === perGroup) encodeGroup(pending.splice(0))
  }
  if (pending.length > 0) encodeGroup(pending.splice(0))
  return results.map((r) => r!)
}
