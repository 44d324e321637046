/**
 * `unary`: out = f(a) element-wise over float32, one variant (pipeline) per `UnaryOp`.
 * `alpha` is the scalar of `scale`, `addScalar`, `pow` and `clampMin`. Matches the CPU
 * reference, including `pow` of negative bases with integer exponents, `relu`/`step`
 * returning 0 at exactly 0, `relu` keeping NaN NaN (0 only where x ≤ 0, as `torch.relu`;
 * a select, not `max`, whose NaN result WGSL leaves unspecified), and `sigmoid`/`tanh`
 * computed without overflow.
 */
import type { Storage, UnaryOp } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl, vec4Able } from "./context.ts"

/** The WGSL expression of each op, over `x` and `alpha`. */
const expressions: Record<UnaryOp, string> = {
  neg: "-x",
  exp: "exp(x)",
  log: "log(x)",
  sqrt: "sqrt(x)",
  relu: "select(x, 0.0, x <= 0.0)",
  step: "select(0.0, 1.0, x > 0.0)",
  abs: "abs(x)",
  square: "x * x",
  sigmoid: "sigmoidf(x)",
  tanh: "tanhf(x)",
  scale: "x * alpha",
  addScalar: "x + alpha",
  pow: "powf(x, alpha)",
  clampMin: "select(x, alpha, x < alpha)"
}

/** x^a as `Math.pow` computes it (negative bases need an integer exponent). */
const powWgsl = /* wgsl */ `
fn powf(x: f32, a: f32) -> f32 {
  if (a == 0.0) { return 1.0; }
  if (a == 1.0) { return x; }
  if (a == 2.0) { return x * x; }
  if (a == 3.0) { return x * x * x; }
  if (a == 0.5) { return sqrt(x); }
  if (a == -1.0) { return 1.0 / x; }
  let ax = abs(x);
  if (ax == 0.0) {
    // 0^a: 0 for a > 0, +inf for a < 0 (1/0 at run time).
    let inf = 1.0 / ax;
    return select(inf, 0.0, a > 0.0);
  }
  var r = exp2(a * log2(ax));
  if (x < 0.0) {
    if (floor(a) != a) { return sqrt(x); } // NaN, like Math.pow
    if (fract(a * 0.5) != 0.0) { r = -r; }
  }
  return r;
}
`

/** The logistic function without overflow: 1/(1+e^−x) for x ≥ 0, e^x/(1+e^x) below. */
const sigmoidWgsl = /* wgsl */ `
fn sigmoidf(x: f32) -> f32 {
  let e = exp(-abs(x));
  let r = 1.0 / (1.0 + e);
  return select(e * r, r, x >= 0.0);
}
`

/**
 * tanh to a few ulp: an odd Taylor polynomial below |x| = 1/8 (next term < 1e-11
 * relative), else (1 − e)/(1 + e) with e = exp(−2|x|), whose cancellation is mild there.
 * (The builtin's accuracy is implementation-defined and poor near 0 on some drivers.)
 */
const tanhWgsl = /* wgsl */ `
fn tanhf(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.125) {
    let x2 = x * x;
    return x * (1.0 + x2 * (-0.33333333333 + x2 * (0.13333333333 + x2 * (-0.05396825397 + x2 * 0.02186948854))));
  }
  let e = exp(-2.0 * a);
  return sign(x) * (1.0 - e) / (1.0 + e);
}
`

const helpers: Partial<Record<UnaryOp, string>> = { pow: powWgsl, sigmoid: sigmoidWgsl, tanh: tanhWgsl }

const specs = new Map<string, KernelSpec>()

/** WGSL of the `op` variant; with `vec4`, 4 elements a thread (see `vec4Able`). */
export const unarySpec = (op: UnaryOp, vec4 = false): KernelSpec => {
  const key = `unary:${op}${vec4 ? ":vec4" : ""}`
  let spec = specs.get(key)
  if (spec === undefined) {
    const t = vec4 ? "vec4<f32>" : "f32"
    spec = {
      key,
      inputs: 1,
      outputs: 1,
      code: /* wgsl */ `
struct Params { n: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<${t}>;
@group(0) @binding(2) var<storage, read_write> out: array<${t}>;
${linearIndexWgsl}
${helpers[op] ?? ""}
fn f(x: f32, alpha: f32) -> f32 { return ${expressions[op]}; }
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i >= u.n) { return; }
  let v = a[i];
  out[i] = ${vec4 ? "vec4<f32>(f(v.x, u.alpha), f(v.y, u.alpha), f(v.z, u.alpha), f(v.w, u.alpha))" : "f(v, u.alpha)"};
}`
    }
    specs.set(key, spec)
  }
  return spec
}

/** out = op(a) over `numel` float32 values. */
export const unary = (ctx: KernelContext, op: UnaryOp, a: Storage, numel: number, alpha: number): GpuStorage => {
  const out = ctx.output(numel, "float32")
  if (numel === 0) return out
  const vec = vec4Able([a, out])
  const threads = vec ? Math.ceil(numel / 4) : numel
  ctx.dispatch(unarySpec(op, vec), [a, out], grid2d(Math.ceil(threads / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, threads)
    u.f32(1, alpha)
  }, numel * 2)
  return out
}
