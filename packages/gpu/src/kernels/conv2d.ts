/**
 * `conv2d`, `conv2dBackwardInput`, `conv2dBackwardWeight`: 2-D convolution over NCHW
 * storages (geometry and formulas: `Conv2dSpec` in `@effect-nn/tensor`).
 *
 * Direct kernels, one thread per output element, each summing its taps in a loop: the
 * portable path (any device) and the reference the fast path is compared with in tests.
 * On devices with 8-wide subgroups (lavapipe) the backend uses the implicit-GEMM kernels
 * of `conv2d-gemm.ts` instead.
 */
import type { Conv2dSpec, Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import type { UniformWriter } from "../uniforms.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"
import { conv2dGemm, conv2dGemmBackwardInput, conv2dGemmBackwardWeight } from "./conv2d-gemm.ts"
import { fill } from "./fill.ts"

/** The WGSL struct every convolution kernel reads its geometry from (word order of `writeConvParams`). */
export const convParamsWgsl = /* wgsl */ `
struct Params {
  N: u32, C: u32, H: u32, W: u32, OC: u32, KH: u32, KW: u32,
  sH: u32, sW: u32, pH: u32, pW: u32, dH: u32, dW: u32,
  Cg: u32, OCg: u32, OH: u32, OW: u32, count: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
`

/** Writes `spec` into a uniform slot in `convParamsWgsl`'s order; `count` is the thread count. */
export const writeConvParams = (w: UniformWriter, spec: Conv2dSpec, count: number): void => {
  const words = [
    spec.batch, spec.inChannels, spec.height, spec.width, spec.outChannels, spec.kernelH, spec.kernelW,
    spec.strideH, spec.strideW, spec.padH, spec.padW, spec.dilationH, spec.dilationW,
    spec.inChannels / spec.groups, spec.outChannels / spec.groups, spec.outH, spec.outW, count
  ]
  words.forEach((v, i) => w.u32(i, v))
}

/** WGSL of the direct forward: thread per output (n, o, y, x); `bias` adds b[o]. */
export const conv2dDirectSpec = (bias: boolean): KernelSpec => ({
  key: `conv2d:direct:${bias ? "bias" : "nobias"}`,
  inputs: bias ? 3 : 2,
  outputs: 1,
  code: /* wgsl */ `${convParamsWgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
${bias ? "@group(0) @binding(3) var<storage, read> B: array<f32>;\n@group(0) @binding(4) var<storage, read_write> out: array<f32>;" : "@group(0) @binding(3) var<storage, read_write> out: array<f32>;"}
${linearIndexWgsl}
${elementwiseMain} {
  let o = linearIndex(wid, lid, nwg);
  if (o >= u.count) { return; }
  let ox = o % u.OW;
  var t = o / u.OW;
  let oy = t % u.OH;
  t = t / u.OH;
  let oc = t % u.OC;
  let n = t / u.OC;
  let g = oc / u.OCg;
  var acc = ${bias ? "B[oc]" : "0.0"};
  for (var c = 0u; c < u.Cg; c++) {
    let plane = (n * u.C + g * u.Cg + c) * u.H * u.W;
    for (var i = 0u; i < u.KH; i++) {
      let h = i32(oy * u.sH + i * u.dH) - i32(u.pH);
      if (h < 0 || h >= i32(u.H)) { continue; }
      for (var j = 0u; j < u.KW; j++) {
        let w = i32(ox * u.sW + j * u.dW) - i32(u.pW);
        if (w < 0 || w >= i32(u.W)) { continue; }
        acc += Wt[((oc * u.Cg + c) * u.KH + i) * u.KW + j] * X[plane + u32(h) * u.W + u32(w)];
      }
    }
  }
  out[o] = acc;
}`
})

/**
 * WGSL of the direct input gradient: thread per input position (n, c, h, w), summing over
 * the output positions whose windows tap it: y = (h + pH − i·dH)/sH when that is a whole
 * number in [0, OH), likewise x.
 */
export const conv2dBackwardInputDirectSpec: KernelSpec = {
  key: "conv2dBackwardInput:direct",
  inputs: 2,
  outputs: 1,
  code: /* wgsl */ `${convParamsWgsl}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${linearIndexWgsl}
${elementwiseMain} {
  let o = linearIndex(wid, lid, nwg);
  if (o >= u.count) { return; }
  let w = o % u.W;
  var t = o / u.W;
  let h = t % u.H;
  t = t / u.H;
  let c = t % u.C;
  let n = t / u.C;
  let g = c / u.Cg;
  let cl = c - g * u.Cg;
  var acc = 0.0;
  for (var ol = 0u; ol < u.OCg; ol++) {
    let oc = g * u.OCg + ol;
    let plane = (n * u.OC + oc) * u.OH * u.OW;
    for (var i = 0u; i < u.KH; i++) {
      let ty = i32(h + u.pH) - i32(i * u.dH);
      if (ty < 0 || u32(ty) % u.sH != 0u) { continue; }
      let y = u32(ty) / u.sH;
      if (y >= u.OH) { continue; }
      for (var j = 0u; j < u.KW; j++) {
        let tx = i32(w + u.pW) - i32(j * u.dW);
        if (tx < 0 || u32(tx) % u.sW != 0u) { continue; }
        let x = u32(tx) / u.sW;
        if (x >= u.OW) { continue; }
        acc += Wt[((oc * u.Cg + cl) * u.KH + i) * u.KW + j] * G[plane + y * u.OW + x];
      }
    }
  }
  out[o] = acc;
}`
}

/** WGSL of the direct weight gradient: thread per weight (o, c, i, j), summing over n, y, x. */
export const conv2dBackwardWeightDirectSpec: KernelSpec = {
  key: "conv2dBackwardWeight:direct",
  inputs: 2,
  outputs: 1,
  code: /* wgsl */ `${convParamsWgsl}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${linearIndexWgsl}
${elementwiseMain} {
  let o = linearIndex(wid, lid, nwg);
  if (o >= u.count) { return; }
  let j = o % u.KW;
  var t = o / u.KW;
  let i = t % u.KH;
  t = t / u.KH;
  let cl = t % u.Cg;
  let oc = t / u.Cg;
  let c = (oc / u.OCg) * u.Cg + cl;
  var acc = 0.0;
  for (var n = 0u; n < u.N; n++) {
    let plane = (n * u.C + c) * u.H * u.W;
    let gplane = (n * u.OC + oc) * u.OH * u.OW;
    for (var y = 0u; y < u.OH; y++) {
      let h = i32(y * u.sH + i * u.dH) - i32(u.pH);
      if (h < 0 || h >= i32(u.H)) { continue; }
      for (var x = 0u; x < u.OW; x++) {
        let w = i32(x * u.sW + j * u.dW) - i32(u.pW);
        if (w < 0 || w >= i32(u.W)) { continue; }
        acc += G[gplane + y * u.OW + x] * X[plane + u32(h) * u.W + u32(w)];
      }
    }
  }
  out[o] = acc;
}`
}

const groupsFor = (ctx: KernelContext, threads: number) => grid2d(Math.ceil(threads / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension)

/** Multiply-adds of a convolution (each of the three passes does this many). */
export const convMacs = (spec: Conv2dSpec): number =>
  spec.batch * spec.outChannels * spec.outH * spec.outW * (spec.inChannels / spec.groups) * spec.kernelH * spec.kernelW

/** True when the implicit-GEMM kernels serve this device (8-wide subgroups). */
const useGemm = (ctx: KernelContext): boolean => ctx.matmulVariant === "subgroup"

/** x [N, C, H, W] ⊛ weight (+ bias) → [N, OC, OH, OW]. */
export const conv2d = (ctx: KernelContext, x: Storage, weight: Storage, bias: Storage | undefined, spec: Conv2dSpec): GpuStorage => {
  const count = spec.batch * spec.outChannels * spec.outH * spec.outW
  if (count === 0) return ctx.output(0, "float32")
  if (useGemm(ctx)) return conv2dGemm(ctx, x, weight, bias, spec)
  const out = ctx.output(count, "float32")
  const storages = bias === undefined ? [x, weight, out] : [x, weight, bias, out]
  ctx.dispatch(conv2dDirectSpec(bias !== undefined), storages, groupsFor(ctx, count), (u) => writeConvParams(u, spec, count), convMacs(spec))
  return out
}

/** g [N, OC, OH, OW], weight → dx [N, C, H, W]. */
export const conv2dBackwardInput = (ctx: KernelContext, g: Storage, weight: Storage, spec: Conv2dSpec): GpuStorage => {
  const count = spec.batch * spec.inChannels * spec.height * spec.width
  if (count === 0) return ctx.output(0, "float32")
  if (spec.outChannels === 0) return fill(ctx, count, 0, "float32")
  if (useGemm(ctx)) return conv2dGemmBackwardInput(ctx, g, weight, spec)
  const out = ctx.output(count, "float32")
  ctx.dispatch(conv2dBackwardInputDirectSpec, [g, weight, out], groupsFor(ctx, count), (u) => writeConvParams(u, spec, count), convMacs(spec))
  return out
}

/** g [N, OC, OH, OW], x → dw [OC, C/groups, KH, KW]. */
export const conv2dBackwardWeight = (ctx: KernelContext, g: Storage, x: Storage, spec: Conv2dSpec): GpuStorage => {
  const count = spec.outChannels * (spec.inChannels / spec.groups) * spec.kernelH * spec.kernelW
  if (count === 0) return ctx.output(0, "float32")
  if (spec.batch === 0) return fill(ctx, count, 0, "float32")
  if (useGemm(ctx)) return conv2dGemmBackwardWeight(ctx, g, x, spec)
  const out = ctx.output(count, "float32")
  ctx.dispatch(conv2dBackwardWeightDirectSpec, [g, x, out], groupsFor(ctx, count), (u) => writeConvParams(u, spec, count), convMacs(spec))
  return out
}
