/**
 * `binary`: out[i] = a[ia] ∘ b[ib] with broadcasting through strides. On the host the
 * geometry is simplified first (size-1 dims dropped, dims that are contiguous in both
 * inputs merged), so a same-shape op runs at rank 1 and a bias add at rank 2; the
 * shader walks up to `maxRank` dims read from the uniform slot.
 */
import { type BinaryOp, DeviceError, type Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl, nanWgsl, vec4Able } from "./context.ts"

/** Most dims the shader walks (after merging). */
export const maxRank = 8

/** WGSL of `op` on x and y; `v4` is "4" for vec4<f32> operands, "" for f32. */
const expression = (op: BinaryOp, v4: "" | "4"): string => {
  switch (op) {
    case "add":
      return "x + y"
    case "sub":
      return "x - y"
    case "mul":
      return "x * y"
    case "div":
      return "x / y"
    // NaN in either operand gives NaN, as torch.maximum / torch.minimum (see `nanWgsl`).
    case "max":
      return `maxNan${v4}(x, y)`
    case "min":
      return `minNan${v4}(x, y)`
  }
}

const specs = new Map<BinaryOp, KernelSpec>()

/** WGSL of the `op` variant. Uniform words: n, rank, _, _, shape[8], aStrides[8], bStrides[8]. */
export const binarySpec = (op: BinaryOp): KernelSpec => {
  let spec = specs.get(op)
  if (spec === undefined) {
    spec = {
      key: `binary:${op}`,
      inputs: 2,
      outputs: 1,
      code: /* wgsl */ `
struct Params { n: u32, rank: u32, pad0: u32, pad1: u32, shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2> }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${linearIndexWgsl}${nanWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i >= u.n) { return; }
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = u.rank; d > 0u; d--) {
    let k = d - 1u;
    let size = u.shape[k >> 2u][k & 3u];
    let c = rest % size;
    rest = rest / size;
    ia += c * u.sa[k >> 2u][k & 3u];
    ib += c * u.sb[k >> 2u][k & 3u];
  }
  let x = a[ia];
  let y = b[ib];
  out[i] = ${expression(op, "")};
}`
    }
    specs.set(op, spec)
  }
  return spec
}

const vec4Specs = new Map<string, KernelSpec>()

/**
 * WGSL of the same-shape `op` variant over vec4s (see `vec4Able`); with `relu`, a second
 * output max(out, 0) (a following ReLU folded in; NaN stays NaN, as `unary("relu")`).
 * Uniform words: n (vec4s).
 */
export const binaryVec4Spec = (op: BinaryOp, relu = false): KernelSpec => {
  const key = `binary:${op}:vec4${relu ? "+relu" : ""}`
  let spec = vec4Specs.get(key)
  if (spec === undefined) {
    spec = {
      key,
      inputs: 2,
      outputs: relu ? 2 : 1,
      code: /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
${relu ? "@group(0) @binding(4) var<storage, read_write> act: array<vec4<f32>>;" : ""}
${linearIndexWgsl}${nanWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i >= u.n) { return; }
  let x = a[i];
  let y = b[i];
  let r = ${expression(op, "4")};
  out[i] = r;
  ${relu ? "act[i] = select(r, vec4<f32>(0.0), r <= vec4<f32>(0.0));" : ""}
}`
    }
    vec4Specs.set(key, spec)
  }
  return spec
}

/** True when `op` over this geometry is element by element on contiguous, vec4-able buffers. */
export const sameShapeVec4 = (a: Storage, b: Storage, out: Storage, g: Geometry): boolean =>
  g.shape.length === 1 && g.aStrides[0] === 1 && g.bStrides[0] === 1 && vec4Able([a, b, out])

/** Encodes a same-shape `op` (4 elements a thread, no index arithmetic), and max(out, 0) into `act` when given. */
export const encodeSameShape = (ctx: KernelContext, op: BinaryOp, a: Storage, b: Storage, numel: number, out: Storage, act?: Storage): void => {
  const threads = Math.ceil(numel / 4)
  ctx.dispatch(binaryVec4Spec(op, act !== undefined), act === undefined ? [a, b, out] : [a, b, out, act], grid2d(Math.ceil(threads / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, threads)
  }, numel * 3)
}

/** A broadcast geometry: dims with the strides of both inputs. */
export interface Geometry {
  readonly shape: ReadonlyArray<number>
  readonly aStrides: ReadonlyArray<number>
  readonly bStrides: ReadonlyArray<number>
}

/**
 * The same geometry with size-1 dims dropped and mergeable neighbours merged (an outer
 * dim merges into the next when, in both inputs, its stride equals the inner stride times
 * the inner size).
 */
export const simplify = (shape: ReadonlyArray<number>, aStrides: ReadonlyArray<number>, bStrides: ReadonlyArray<number>): Geometry => {
  const s: Array<number> = []
  const sa: Array<number> = []
  const sb: Array<number> = []
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!
    if (n === 1) continue
    const last = s.length - 1
    if (last >= 0 && sa[last] === aStrides[d]! * n && sb[last] === bStrides[d]! * n) {
      s[last] = s[last]! * n
      sa[last] = aStrides[d]!
      sb[last] = bStrides[d]!
    } else {
      s.push(n)
      sa.push(aStrides[d]!)
      sb.push(bStrides[d]!)
    }
  }
  return { shape: s, aStrides: sa, bStrides: sb }
}

/** out = a ∘ b over `outShape`, reading a and b through the given strides (0 = broadcast). */
export const binary = (
  ctx: KernelContext,
  op: BinaryOp,
  a: Storage,
  b: Storage,
  outShape: ReadonlyArray<number>,
  aStrides: ReadonlyArray<number>,
  bStrides: ReadonlyArray<number>
): GpuStorage => {
  const numel = outShape.reduce((p, d) => p * d, 1)
  const g = simplify(outShape, aStrides, bStrides)
  if (g.shape.length > maxRank) {
    throw new DeviceError({ reason: `binary ${op}: rank ${g.shape.length} after merging dims exceeds the WebGPU kernel's ${maxRank}` })
  }
  const out = ctx.output(numel, "float32")
  if (numel === 0) return out
  if (sameShapeVec4(a, b, out, g)) {
    encodeSameShape(ctx, op, a, b, numel, out)
    return out
  }
  ctx.dispatch(binarySpec(op), [a, b, out], grid2d(Math.ceil(numel / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, numel)
    u.u32(1, g.shape.length)
    for (let d = 0; d < g.shape.length; d++) {
      u.u32(4 + d, g.shape[d]!)
      u.u32(12 + d, g.aStrides[d]!)
      u.u32(20 + d, g.bStrides[d]!)
    }
  }, numel * 3)
  return out
}
