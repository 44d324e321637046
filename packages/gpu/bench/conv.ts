/**
 * Convolution throughput on the WebGPU backend, on the layers of the `cnn` example
 * (batch 64) and an unpadded variant: GFLOP/s (2·MACs per pass; padding's zeros not
 * counted) of the forward, input-gradient and weight-gradient passes, for
 * - the implicit-GEMM kernels (the backend's choice on 8-wide subgroups),
 * - the direct kernels (one thread per output; the portable path),
 * - im2col + the backend's matmul for the forward (col [C·KH·KW, N·OH·OW] written by a
 *   kernel, then W·col; the permutation of the result to NCHW is not even counted).
 * Each figure is the median (and best) of several runs of 4 passes: their wall time with a
 * readback, or with `--profile` their GPU time from timestamp queries (steadier on a shared
 * machine; includes each pass's small helper kernels). `--direct` adds the direct kernels.
 * Run: `XDG_RUNTIME_DIR=/tmp npx tsx packages/gpu/bench/conv.ts [--profile] [--direct]`.
 */
import type { Conv2dSpec, Storage } from "@effect-nn/tensor"
import { convOutSize } from "@effect-nn/tensor"
import { Effect } from "effect"
import { acquireWebGpu, type WebGpuBackend } from "../src/index.ts"
import { elementwiseMain, elementwiseWorkgroup, linearIndexWgsl } from "../src/kernels/context.ts"
import { convParamsWgsl, writeConvParams } from "../src/kernels/conv2d.ts"
import { grid2d } from "../src/limits.ts"
import type { KernelSpec } from "../src/pipelines.ts"

const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() * 2 - 1)

const layer = (name: string, n: number, c: number, hw: number, oc: number, k: number, pad: number): readonly [string, Conv2dSpec] => {
  const out = convOutSize(hw, k, 1, pad, 1)
  return [name, {
    batch: n, inChannels: c, height: hw, width: hw, outChannels: oc, kernelH: k, kernelW: k, strideH: 1, strideW: 1,
    padH: pad, padW: pad, dilationH: 1, dilationW: 1, groups: 1, outH: out, outW: out
  }]
}

const layers = [
  layer("cnn conv1: 1→32, 3×3, padding 1, on 28×28", 64, 1, 28, 32, 3, 1),
  layer("cnn conv2: 32→64, 3×3, padding 1, on 14×14", 64, 32, 14, 64, 3, 1),
  layer("32→64, 3×3, no padding, on 13×13", 64, 32, 13, 64, 3, 0)
] as const

const im2colSpec: KernelSpec = {
  key: "bench:im2col",
  inputs: 1,
  outputs: 1,
  code: /* wgsl */ `${convParamsWgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> col: array<f32>;
${linearIndexWgsl}
${elementwiseMain} {
  let o = linearIndex(wid, lid, nwg);
  if (o >= u.count) { return; }
  let L = u.OH * u.OW;
  let q = o % (u.N * L);
  let k = o / (u.N * L);
  let n = q / L;
  let l = q - n * L;
  let y = l / u.OW;
  let x = l - y * u.OW;
  let j = k % u.KW;
  let i = (k / u.KW) % u.KH;
  let c = k / (u.KW * u.KH);
  let h = i32(y * u.sH + i * u.dH) - i32(u.pH);
  let w = i32(x * u.sW + j * u.dW) - i32(u.pW);
  let ok = h >= 0 && h < i32(u.H) && w >= 0 && w < i32(u.W);
  col[o] = select(0.0, X[select(0u, (n * u.C + c) * u.H * u.W + u32(h) * u.W + u32(w), ok)], ok);
}`
}

/** im2col then W·col (the forward of the im2col approach, without the final permutation). */
const im2colForward = (gpu: WebGpuBackend, x: Storage, w: Storage, spec: Conv2dSpec): Storage => {
  const K = spec.inChannels * spec.kernelH * spec.kernelW
  const cols = spec.batch * spec.outH * spec.outW
  const col = gpu.output(K * cols, "float32")
  gpu.dispatch(im2colSpec, [x, col], grid2d(Math.ceil((K * cols) / elementwiseWorkgroup), gpu.maxWorkgroupsPerDimension), (u) => writeConvParams(u, spec, K * cols), K * cols)
  const out = gpu.matmul(w, col, { m: spec.outChannels, k: K, n: cols, transA: false, transB: false })
  gpu.release(col)
  return out
}

type Pass = "forward" | "input grad" | "weight grad" | "im2col+matmul forward"

/**
 * [median, best] GFLOP/s of `pass`: wall time of `reps` passes and one readback, or — on a
 * backend created with `profile: true` — the GPU time of the pass's dispatches (timestamp
 * queries; less disturbed by other work on a shared machine), over `runs` runs.
 */
const measure = async (gpu: WebGpuBackend, spec: Conv2dSpec, pass: Pass, runs = 7, reps = 4): Promise<readonly [number, number]> => {
  const x = gpu.upload(random(spec.batch * spec.inChannels * spec.height * spec.width))
  const w = gpu.upload(random(spec.outChannels * spec.inChannels * spec.kernelH * spec.kernelW))
  const b = gpu.upload(random(spec.outChannels))
  const g = gpu.upload(random(spec.batch * spec.outChannels * spec.outH * spec.outW))
  const once = (): Storage => {
    switch (pass) {
      case "forward":
        return gpu.conv2d(x, w, b, spec)
      case "input grad":
        return gpu.conv2dBackwardInput(g, w, spec)
      case "weight grad":
        return gpu.conv2dBackwardWeight(g, x, spec)
      case "im2col+matmul forward":
        return im2colForward(gpu, x, w, spec)
    }
  }
  const batch = async (): Promise<number> => {
    await gpu.profileReport()
    const t0 = performance.now()
    let last: Storage | undefined
    for (let i = 0; i < reps; i++) {
      if (last !== undefined) gpu.release(last)
      last = once()
    }
    await gpu.read(last!, "float32")
    gpu.release(last!)
    const wall = performance.now() - t0
    const report = await gpu.profileReport()
    return report.length === 0 ? wall : report.reduce((t, k) => t + k.ms, 0)
  }
  await batch()
  const times: Array<number> = []
  for (let r = 0; r < runs; r++) times.push(await batch())
  for (const s of [x, w, b, g]) gpu.release(s)
  const flops = 2 * spec.batch * spec.outChannels * spec.outH * spec.outW * spec.inChannels * spec.kernelH * spec.kernelW * reps
  const gflops = (ms: number): number => flops / (ms / 1000) / 1e9
  return [gflops(median(times)), gflops(Math.min(...times))]
}

const fmt = ([med, best]: readonly [number, number]): string => `${med.toFixed(1).padStart(6)} GFLOP/s median, ${best.toFixed(1).padStart(6)} best`

const main = async (): Promise<void> => {
  const profile = process.argv.includes("--profile")
  const gemm = await Effect.runPromise(acquireWebGpu({ profile }))
  const direct = await Effect.runPromise(acquireWebGpu({ matmulVariant: "tiled" }))
  console.log(gemm.description)
  for (const [name, spec] of layers) {
    console.log(`${name} (batch ${spec.batch})`)
    for (const pass of ["forward", "input grad", "weight grad"] as const) {
      console.log(`  implicit GEMM  ${pass.padEnd(22)} ${fmt(await measure(gemm, spec, pass))}`)
    }
    console.log(`  im2col+matmul  ${"forward".padEnd(22)} ${fmt(await measure(gemm, spec, "im2col+matmul forward"))}`)
    if (process.argv.includes("--direct")) {
      for (const pass of ["forward", "input grad", "weight grad"] as const) {
        console.log(`  direct         ${pass.padEnd(22)} ${fmt(await measure(direct, spec, pass, 3, 1))}`)
      }
    }
  }
  gemm.destroy()
  direct.destroy()
}

await main()
