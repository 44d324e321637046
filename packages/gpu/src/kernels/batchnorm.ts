/**
 * Batch norm over the columns of [rows, cols], fused: one thread per column walks its
 * column (64-thread workgroups, so consecutive lanes read consecutive addresses).
 *
 * - Train: the mean, then the biased variance (a second pass over the centred values,
 *   as accurate as the composed ops), then y = (x − μ)·γ·s + β with s = 1/√(σ² + eps);
 *   writes μ and s for the backward and, with running statistics, their new values and
 *   num_batches_tracked + 1 (column 0's thread). One dispatch replaces about twenty.
 * - Backward: Σg and Σg·x̂ in one pass, then dx = γ·s/rows·(rows·g − Σg − x̂·Σg·x̂);
 *   dγ = Σg·x̂ and dβ = Σg. One dispatch replaces about twenty-five.
 * - Eval: y = (x − mean)/√(var + eps)·γ + β with given statistics.
 * γ and β are optional (absent: 1 and 0); the kernel variants say which are bound.
 */
import type { BatchNormRunning, BatchNormSpec, BatchNormTrainResult, Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import type { GpuStorage, KernelContext } from "./context.ts"

const wg = 64

const specs = new Map<string, KernelSpec>()

/** A binding list: names in order, inputs first. */
interface Binding {
  readonly name: string
  readonly type: "f32" | "i32"
  readonly output: boolean
}

const declare = (bindings: ReadonlyArray<Binding>): string =>
  bindings.map((b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.output ? "read_write" : "read"}> ${b.name}: array<${b.type}>;`).join("\n")

const cached = (key: string, make: () => KernelSpec): KernelSpec => {
  let spec = specs.get(key)
  if (spec === undefined) {
    spec = make()
    specs.set(key, spec)
  }
  return spec
}

const header = /* wgsl */ `
struct Params { rows: u32, cols: u32, eps: f32, momentum: f32, unbias: f32 }
@group(0) @binding(0) var<uniform> u: Params;`

const columnMain = /* wgsl */ `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = (wid.y * nwg.x + wid.x) * ${wg}u + lid.x;
  if (c >= u.cols) { return; }`

/**
 * WGSL of the train-mode forward for the given optional bindings; with `relu`, a second
 * output max(y, 0) (a following ReLU folded in, see the backend's deferred kernels; NaN
 * stays NaN, as `unary("relu")`).
 */
export const batchNormTrainSpec = (weight: boolean, bias: boolean, running: boolean, relu = false): KernelSpec =>
  cached(`batchNorm:train:${weight ? "w" : ""}${bias ? "b" : ""}${running ? "r" : ""}${relu ? "+relu" : ""}`, () => {
    const bindings: Array<Binding> = [{ name: "x", type: "f32", output: false }]
    if (weight) bindings.push({ name: "w", type: "f32", output: false })
    if (bias) bindings.push({ name: "b", type: "f32", output: false })
    if (running) bindings.push({ name: "rm", type: "f32", output: false }, { name: "rv", type: "f32", output: false }, { name: "count", type: "i32", output: false })
    bindings.push({ name: "y", type: "f32", output: true })
    if (relu) bindings.push({ name: "act", type: "f32", output: true })
    bindings.push({ name: "mean", type: "f32", output: true }, { name: "invStd", type: "f32", output: true })
    if (running) bindings.push({ name: "rmOut", type: "f32", output: true }, { name: "rvOut", type: "f32", output: true }, { name: "countOut", type: "i32", output: true })
    const inputs = bindings.filter((b) => !b.output).length
    return {
      key: `batchNorm:train:${weight ? "w" : ""}${bias ? "b" : ""}${running ? "r" : ""}${relu ? "+relu" : ""}`,
      inputs,
      outputs: bindings.length - inputs,
      code: /* wgsl */ `${header}
${declare(bindings)}
${columnMain}
  let n = f32(u.rows);
  var s = 0.0;
  for (var r = 0u; r < u.rows; r++) { s += x[r * u.cols + c]; }
  let mu = s / n;
  var q = 0.0;
  for (var r = 0u; r < u.rows; r++) { let d = x[r * u.cols + c] - mu; q += d * d; }
  let variance = q / n;
  let inv = 1.0 / sqrt(variance + u.eps);
  let scale = inv${weight ? " * w[c]" : ""};
  let shift = ${bias ? "b[c]" : "0.0"};
  for (var r = 0u; r < u.rows; r++) {
    let i = r * u.cols + c;
    let v = (x[i] - mu) * scale + shift;
    y[i] = v;
    ${relu ? "act[i] = select(v, 0.0, v <= 0.0);" : ""}
  }
  mean[c] = mu;
  invStd[c] = inv;
  ${running
        ? `rmOut[c] = (1.0 - u.momentum) * rm[c] + u.momentum * mu;
  rvOut[c] = (1.0 - u.momentum) * rv[c] + u.momentum * variance * u.unbias;
  if (c == 0u) { countOut[0] = count[0] + 1; }`
        : ""}
}`
    }
  })

/** WGSL of the backward for a batch norm with or without γ. */
export const batchNormBackwardSpec = (weight: boolean): KernelSpec =>
  cached(`batchNorm:backward:${weight ? "w" : ""}`, () => {
    const bindings: Array<Binding> = [
      { name: "g", type: "f32", output: false },
      { name: "x", type: "f32", output: false },
      { name: "mean", type: "f32", output: false },
      { name: "invStd", type: "f32", output: false }
    ]
    if (weight) bindings.push({ name: "w", type: "f32", output: false })
    bindings.push({ name: "dx", type: "f32", output: true })
    if (weight) bindings.push({ name: "dw", type: "f32", output: true }, { name: "db", type: "f32", output: true })
    return {
      key: `batchNorm:backward:${weight ? "w" : ""}`,
      inputs: weight ? 5 : 4,
      outputs: weight ? 3 : 1,
      code: /* wgsl */ `${header}
${declare(bindings)}
${columnMain}
  let n = f32(u.rows);
  let mu = mean[c];
  let s = invStd[c];
  var sg = 0.0;
  var sgx = 0.0;
  for (var r = 0u; r < u.rows; r++) {
    let i = r * u.cols + c;
    let gi = g[i];
    sg += gi;
    sgx += gi * (x[i] - mu) * s;
  }
  ${weight ? "dw[c] = sgx;\n  db[c] = sg;" : ""}
  let k = ${weight ? "w[c] * " : ""}s / n;
  for (var r = 0u; r < u.rows; r++) {
    let i = r * u.cols + c;
    dx[i] = k * (n * g[i] - sg - (x[i] - mu) * s * sgx);
  }
}`
    }
  })

/** WGSL of the eval-mode forward (given statistics). */
export const batchNormEvalSpec = (weight: boolean, bias: boolean): KernelSpec =>
  cached(`batchNorm:eval:${weight ? "w" : ""}${bias ? "b" : ""}`, () => {
    const bindings: Array<Binding> = [{ name: "x", type: "f32", output: false }, { name: "mean", type: "f32", output: false }, { name: "variance", type: "f32", output: false }]
    if (weight) bindings.push({ name: "w", type: "f32", output: false })
    if (bias) bindings.push({ name: "b", type: "f32", output: false })
    bindings.push({ name: "y", type: "f32", output: true })
    return {
      key: `batchNorm:eval:${weight ? "w" : ""}${bias ? "b" : ""}`,
      inputs: bindings.length - 1,
      outputs: 1,
      code: /* wgsl */ `${header}
${declare(bindings)}
${columnMain}
  let sd = sqrt(variance[c] + u.eps);
  let mu = mean[c];
  let w0 = ${weight ? "w[c]" : "1.0"};
  let b0 = ${bias ? "b[c]" : "0.0"};
  for (var r = 0u; r < u.rows; r++) { let i = r * u.cols + c; y[i] = (x[i] - mu) / sd * w0 + b0; }
}`
    }
  })

const params = (spec: BatchNormSpec, momentum: number) => (u: { u32(i: number, v: number): void; f32(i: number, v: number): void }): void => {
  u.u32(0, spec.rows)
  u.u32(1, spec.cols)
  u.f32(2, spec.eps)
  u.f32(3, momentum)
  u.f32(4, spec.rows > 1 ? spec.rows / (spec.rows - 1) : Infinity)
}

const groups = (ctx: KernelContext, cols: number): readonly [number, number] => grid2d(Math.ceil(cols / wg), ctx.maxWorkgroupsPerDimension)

/** The result storages of a train-mode batch norm (allocated before it is encoded). */
export const batchNormTrainOutputs = (ctx: KernelContext, running: boolean, spec: BatchNormSpec): BatchNormTrainResult => {
  const { rows, cols } = spec
  const base = { output: ctx.output(rows * cols, "float32"), mean: ctx.output(cols, "float32"), invStd: ctx.output(cols, "float32") }
  return running ? { ...base, running: { mean: ctx.output(cols, "float32"), variance: ctx.output(cols, "float32"), count: ctx.output(1, "int32") } } : base
}

/** Encodes a train-mode batch norm into `result`'s storages (and max(y, 0) into `act` when given). */
export const encodeBatchNormTrain = (
  ctx: KernelContext,
  x: Storage,
  weight: Storage | undefined,
  bias: Storage | undefined,
  running: BatchNormRunning | undefined,
  spec: BatchNormSpec,
  result: BatchNormTrainResult,
  act?: Storage
): void => {
  if (spec.cols === 0) return
  const inputs: Array<Storage> = [x]
  if (weight !== undefined) inputs.push(weight)
  if (bias !== undefined) inputs.push(bias)
  if (running !== undefined) inputs.push(running.mean, running.variance, running.count)
  const outputs: Array<Storage> = [result.output]
  if (act !== undefined) outputs.push(act)
  outputs.push(result.mean, result.invStd)
  if (running !== undefined && result.running !== undefined) outputs.push(result.running.mean, result.running.variance, result.running.count)
  const spec_ = batchNormTrainSpec(weight !== undefined, bias !== undefined, running !== undefined, act !== undefined)
  ctx.dispatch(spec_, [...inputs, ...outputs], groups(ctx, spec.cols), params(spec, running?.momentum ?? 0), spec.rows * spec.cols * 5)
}

/** Train-mode batch norm (see `Backend.batchNormTrain`). */
export const batchNormTrain = (
  ctx: KernelContext,
  x: Storage,
  weight: Storage | undefined,
  bias: Storage | undefined,
  running: BatchNormRunning | undefined,
  spec: BatchNormSpec
): BatchNormTrainResult => {
  const result = batchNormTrainOutputs(ctx, running !== undefined, spec)
  encodeBatchNormTrain(ctx, x, weight, bias, running, spec, result)
  return result
}

/** Backward of train-mode batch norm (see `Backend.batchNormBackward`). */
export const batchNormBackward = (
  ctx: KernelContext,
  g: Storage,
  x: Storage,
  mean: Storage,
  invStd: Storage,
  weight: Storage | undefined,
  spec: BatchNormSpec
): readonly [GpuStorage, GpuStorage | undefined, GpuStorage | undefined] => {
  const { rows, cols } = spec
  const dx = ctx.output(rows * cols, "float32")
  const dw = weight === undefined ? undefined : ctx.output(cols, "float32")
  const db = weight === undefined ? undefined : ctx.output(cols, "float32")
  if (cols > 0) {
    const storages: Array<Storage> = [g, x, mean, invStd]
    if (weight !== undefined) storages.push(weight)
    storages.push(dx)
    if (dw !== undefined && db !== undefined) storages.push(dw, db)
    ctx.dispatch(batchNormBackwardSpec(weight !== undefined), storages, groups(ctx, cols), params(spec, 0), rows * cols * 6)
  }
  return [dx, dw, db]
}

/** Batch norm with given statistics (see `Backend.batchNormEval`). */
export const batchNormEval = (
  ctx: KernelContext,
  x: Storage,
  mean: Storage,
  variance: Storage,
  weight: Storage | undefined,
  bias: Storage | undefined,
  spec: BatchNormSpec
): GpuStorage => {
  const { rows, cols } = spec
  const y = ctx.output(rows * cols, "float32")
  if (cols > 0) {
    const storages: Array<Storage> = [x, mean, variance]
    if (weight !== undefined) storages.push(weight)
    if (bias !== undefined) storages.push(bias)
    storages.push(y)
    ctx.dispatch(batchNormEvalSpec(weight !== undefined, bias !== undefined), storages, groups(ctx, cols), params(spec, 0), rows * cols * 3)
  }
  return y
}
