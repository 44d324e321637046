/**
 * `maxPool2d`, `maxPool2dBackward`, `avgPool2d`, `avgPool2dBackward` over [planes, H, W]
 * storages (geometry: `Pool2dSpec` / `AvgPool2dSpec` in `@effect-nn/tensor`).
 *
 * The geometry is compiled into each pipeline as constants (see `poolHeader`). Forwards:
 * one thread per output window. Backwards: one thread per input position that
 * gathers from every window tapping it (window y taps row h when h + padH − i·dilationH =
 * y·strideH for some tap i < kernelH), so overlapping windows need no atomics and every
 * sum has a fixed order. Max pooling's backward compares the stored arg-max with the
 * position; ties go to the first maximum in row-major window order, as on the CPU.
 */
import type { AvgPool2dSpec, Pool2dSpec, Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import type { UniformWriter } from "../uniforms.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl, nanWgsl } from "./context.ts"

/**
 * The geometry as WGSL constants (a pipeline per geometry: divisions and remainders by
 * constants compile to multiplications, where divisions by uniforms cost a scalar loop
 * per lane on lavapipe) and the uniform words: count, then the average's options.
 */
const poolHeader = (spec: Pool2dSpec): string => /* wgsl */ `
struct Params { count: u32, includePad: u32, divisor: u32 }
@group(0) @binding(0) var<uniform> u: Params;
const H = ${spec.height}u;
const W = ${spec.width}u;
const KH = ${spec.kernelH}u;
const KW = ${spec.kernelW}u;
const SH = ${spec.strideH}u;
const SW = ${spec.strideW}u;
const PH = ${spec.padH}u;
const PW = ${spec.padW}u;
const DH = ${spec.dilationH}u;
const DW = ${spec.dilationW}u;
const OH = ${spec.outH}u;
const OW = ${spec.outW}u;
${nanWgsl}`

/** True when no two windows share an input position (stride ≥ the window's span, per dim). */
const disjoint = (spec: Pool2dSpec): boolean =>
  spec.strideH >= spec.dilationH * (spec.kernelH - 1) + 1 && spec.strideW >= spec.dilationW * (spec.kernelW - 1) + 1

/** The cache key part of a geometry. */
const geometryKey = (spec: Pool2dSpec): string =>
  [spec.height, spec.width, spec.kernelH, spec.kernelW, spec.strideH, spec.strideW, spec.padH, spec.padW, spec.dilationH, spec.dilationW].join(",")

const writePoolParams = (w: UniformWriter, count: number, includePad = true, divisor = 0): void => {
  w.u32(0, count)
  w.u32(1, includePad ? 1 : 0)
  w.u32(2, divisor)
}

/** WGSL: output index → (plane p, window row y, window column x). */
const windowOf = /* wgsl */ `
  let x = o % OW;
  let t = o / OW;
  let y = t % OH;
  let p = t / OH;
  let h0 = i32(y * SH) - i32(PH);
  let w0 = i32(x * SW) - i32(PW);`

/** WGSL: input index → (plane p, row h, column w). */
const positionOf = /* wgsl */ `
  let w = o % W;
  let t = o / W;
  let h = t % H;
  let p = t / H;`

const specs = new Map<string, KernelSpec>()
const cached = (key: string, make: (key: string) => KernelSpec): KernelSpec => {
  let spec = specs.get(key)
  if (spec === undefined) {
    spec = make(key)
    specs.set(key, spec)
  }
  return spec
}

/** WGSL of max pooling's forward: values and int32 arg-max positions (h·W + w). */
export const maxPool2dSpec = (spec: Pool2dSpec): KernelSpec => cached(`maxPool2d:${geometryKey(spec)}`, (key) => ({
  key,
  inputs: 1,
  outputs: 2,
  code: /* wgsl */ `${poolHeader(spec)}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> indices: array<i32>;
${linearIndexWgsl}
${elementwiseMain} {
  let o = linearIndex(wid, lid, nwg);
  if (o >= u.count) { return; }
  ${windowOf}
  let plane = p * H * W;
  var best = 0.0;
  var at = -1;
  for (var i = 0u; i < KH; i++) {
    let h = h0 + i32(i * DH);
    if (h < 0 || h >= i32(H)) { continue; }
    for (var j = 0u; j < KW; j++) {
      let w = w0 + i32(j * DW);
      if (w < 0 || w >= i32(W)) { continue; }
      let v = X[plane + u32(h) * W + u32(w)];
      if (at < 0 || v > best || isNan(v)) {
        best = v;
        at = h * i32(W) + w;
      }
    }
  }
  values[o] = best;
  indices[o] = at;
}`
}))

/** WGSL of max pooling's backward (gather over the windows tapping each position). */
export const maxPool2dBackwardSpec = (spec: Pool2dSpec): KernelSpec => cached(`maxPool2dBackward:${geometryKey(spec)}`, (key) => ({
  key,
  inputs: 2,
  outputs: 1,
  code: /* wgsl */ `${poolHeader(spec)}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${linearIndexWgsl}
${elementwiseMain} {
  let o = linearIndex(wid, lid, nwg);
  if (o >= u.count) { return; }
  ${positionOf}
  let here = i32(h * W + w);
  let base = p * OH * OW;
  ${disjoint(spec)
    ? `// Windows do not overlap: the one window whose rows and columns hold (h, w), if any.
  let y = (h + PH) / SH;
  let x = (w + PW) / SW;
  let i = h + PH - y * SH;
  let j = w + PW - x * SW;
  let inside = y < OH && x < OW && i % DH == 0u && j % DW == 0u && i / DH < KH && j / DW < KW;
  let k = base + min(y, OH - 1u) * OW + min(x, OW - 1u);
  out[o] = select(0.0, G[k], inside && indices[k] == here);`
    : `var acc = 0.0;
  for (var i = 0u; i < KH; i++) {
    let ty = i32(h + PH) - i32(i * DH);
    if (ty < 0 || u32(ty) % SH != 0u) { continue; }
    let y = u32(ty) / SH;
    if (y >= OH) { continue; }
    for (var j = 0u; j < KW; j++) {
      let tx = i32(w + PW) - i32(j * DW);
      if (tx < 0 || u32(tx) % SW != 0u) { continue; }
      let x = u32(tx) / SW;
      if (x >= OW) { continue; }
      let k = base + y * OW + x;
      if (indices[k] == here) { acc += G[k]; }
    }
  }
  out[o] = acc;`}
}`
}))

/** WGSL: the divisor of window (y, x) (`avgPoolDivisor`). */
const divisorWgsl = /* wgsl */ `
fn divisorOf(h0: i32, w0: i32) -> f32 {
  if (u.divisor > 0u) { return f32(u.divisor); }
  if (u.includePad == 1u) { return f32(KH * KW); }
  let rows = min(h0 + i32(KH), i32(H)) - max(h0, 0);
  let cols = min(w0 + i32(KW), i32(W)) - max(w0, 0);
  return f32(rows * cols);
}
`

/** WGSL of average pooling's forward. */
export const avgPool2dSpec = (spec: Pool2dSpec): KernelSpec => cached(`avgPool2d:${geometryKey(spec)}`, (key) => ({
  key,
  inputs: 1,
  outputs: 1,
  code: /* wgsl */ `${poolHeader(spec)}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${divisorWgsl}
${linearIndexWgsl}
${elementwiseMain} {
  let o = linearIndex(wid, lid, nwg);
  if (o >= u.count) { return; }
  ${windowOf}
  let plane = p * H * W;
  var acc = 0.0;
  for (var i = 0u; i < KH; i++) {
    let h = h0 + i32(i);
    if (h < 0 || h >= i32(H)) { continue; }
    for (var j = 0u; j < KW; j++) {
      let w = w0 + i32(j);
      if (w < 0 || w >= i32(W)) { continue; }
      acc += X[plane + u32(h) * W + u32(w)];
    }
  }
  out[o] = acc / divisorOf(h0, w0);
}`
}))

/** WGSL of average pooling's backward (gather over the windows covering each position). */
export const avgPool2dBackwardSpec = (spec: Pool2dSpec): KernelSpec => cached(`avgPool2dBackward:${geometryKey(spec)}`, (key) => ({
  key,
  inputs: 1,
  outputs: 1,
  code: /* wgsl */ `${poolHeader(spec)}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${divisorWgsl}
${linearIndexWgsl}
${elementwiseMain} {
  let o = linearIndex(wid, lid, nwg);
  if (o >= u.count) { return; }
  ${positionOf}
  let base = p * OH * OW;
  var acc = 0.0;
  for (var i = 0u; i < KH; i++) {
    let ty = i32(h + PH) - i32(i);
    if (ty < 0 || u32(ty) % SH != 0u) { continue; }
    let y = u32(ty) / SH;
    if (y >= OH) { continue; }
    for (var j = 0u; j < KW; j++) {
      let tx = i32(w + PW) - i32(j);
      if (tx < 0 || u32(tx) % SW != 0u) { continue; }
      let x = u32(tx) / SW;
      if (x >= OW) { continue; }
      acc += G[base + y * OW + x] / divisorOf(i32(y * SH) - i32(PH), i32(x * SW) - i32(PW));
    }
  }
  out[o] = acc;
}`
}))

const groupsFor = (ctx: KernelContext, threads: number) => grid2d(Math.ceil(threads / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension)

/** Max pooling: [values, int32 arg-max positions], each [planes, OH, OW]. */
export const maxPool2d = (ctx: KernelContext, x: Storage, spec: Pool2dSpec): readonly [GpuStorage, GpuStorage] => {
  const count = spec.planes * spec.outH * spec.outW
  const values = ctx.output(count, "float32")
  const indices = ctx.output(count, "int32")
  if (count > 0) {
    ctx.dispatch(maxPool2dSpec(spec), [x, values, indices], groupsFor(ctx, count), (u) => writePoolParams(u, count), count * spec.kernelH * spec.kernelW)
  }
  return [values, indices]
}

/** Max pooling's input gradient [planes, H, W]. */
export const maxPool2dBackward = (ctx: KernelContext, g: Storage, indices: Storage, spec: Pool2dSpec): GpuStorage => {
  const count = spec.planes * spec.height * spec.width
  const out = ctx.output(count, "float32")
  if (count > 0) {
    ctx.dispatch(maxPool2dBackwardSpec(spec), [g, indices, out], groupsFor(ctx, count), (u) => writePoolParams(u, count), count * spec.kernelH * spec.kernelW)
  }
  return out
}

/** Average pooling: [planes, OH, OW]. */
export const avgPool2d = (ctx: KernelContext, x: Storage, spec: AvgPool2dSpec): GpuStorage => {
  const count = spec.planes * spec.outH * spec.outW
  const out = ctx.output(count, "float32")
  if (count > 0) {
    ctx.dispatch(avgPool2dSpec(spec), [x, out], groupsFor(ctx, count), (u) => writePoolParams(u, count, spec.countIncludePad, spec.divisorOverride), count * spec.kernelH * spec.kernelW)
  }
  return out
}

/** Average pooling's input gradient [planes, H, W]. */
export const avgPool2dBackward = (ctx: KernelContext, g: Storage, spec: AvgPool2dSpec): GpuStorage => {
  const count = spec.planes * spec.height * spec.width
  const out = ctx.output(count, "float32")
  if (count > 0) {
    ctx.dispatch(avgPool2dBackwardSpec(spec), [g, out], groupsFor(ctx, count), (u) => writePoolParams(u, count, spec.countIncludePad, spec.divisorOverride), count * spec.kernelH * spec.kernelW)
  }
  return out
}
