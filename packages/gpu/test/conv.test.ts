/**
 * Convolution and pooling kernels against the CPU reference on seeded random inputs:
 * forward, input gradient and weight gradient of `conv2d` over strides, paddings,
 * dilations, groups, odd sizes and channel counts that are and are not multiples of 4,
 * with both the implicit-GEMM kernels (8-wide subgroups) and the direct kernels (any
 * device); max and average pooling forward and backward, overlapping windows included.
 */
import { type AvgPool2dSpec, type Conv2dSpec, convOutSize, CpuBackend, type Pool2dSpec } from "@effect-nn/tensor"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { MatmulVariant, WebGpuBackend } from "../src/index.ts"
import { both, expectClose, makeGpu, uniform } from "./helpers.ts"

const cpu = new CpuBackend()
const backends = new Map<MatmulVariant, WebGpuBackend>()

beforeAll(async () => {
  backends.set("subgroup", await makeGpu())
  backends.set("tiled", await makeGpu({ matmulVariant: "tiled" }))
}, 30_000)
afterAll(() => {
  for (const b of backends.values()) b.destroy()
})

interface ConvCase {
  readonly name: string
  readonly n: number
  readonly c: number
  readonly h: number
  readonly w: number
  readonly oc: number
  readonly k: readonly [number, number]
  readonly stride?: readonly [number, number]
  readonly pad?: readonly [number, number]
  readonly dilation?: readonly [number, number]
  readonly groups?: number
  readonly bias?: boolean
}

const convCases: ReadonlyArray<ConvCase> = [
  { name: "1→4, 3×3, pad 1 (the reference case)", n: 1, c: 1, h: 5, w: 5, oc: 4, k: [3, 3], pad: [1, 1] },
  { name: "MNIST conv1 1→32, 3×3", n: 3, c: 1, h: 28, w: 28, oc: 32, k: [3, 3] },
  { name: "conv2 32→64, 3×3 on 13×13", n: 2, c: 32, h: 13, w: 13, oc: 64, k: [3, 3] },
  { name: "odd channels 3→5, 5×3, stride 2, pad (2, 1)", n: 2, c: 3, h: 11, w: 9, oc: 5, k: [5, 3], stride: [2, 2], pad: [2, 1] },
  { name: "stride (2, 3), dilation (2, 1), no bias", n: 2, c: 4, h: 12, w: 13, oc: 8, k: [3, 2], stride: [2, 3], dilation: [2, 1], bias: false },
  { name: "groups 2: 4→6, 3×3, pad 1", n: 2, c: 4, h: 7, w: 6, oc: 6, k: [3, 3], pad: [1, 1], groups: 2 },
  { name: "depthwise 8→8 groups 8, stride 2, pad 1", n: 1, c: 8, h: 9, w: 9, oc: 8, k: [3, 3], stride: [2, 2], pad: [1, 1], groups: 8 },
  { name: "1×1 kernel, 6→40 (two column tiles)", n: 2, c: 6, h: 5, w: 7, oc: 40, k: [1, 1] },
  { name: "kernel as large as the input", n: 5, c: 2, h: 4, w: 4, oc: 4, k: [4, 4] },
  { name: "many images (weight-gradient splits)", n: 70, c: 2, h: 6, w: 6, oc: 8, k: [3, 3], pad: [1, 1] },
  { name: "stride 1, dilation 2, padding (2, 1) (input gradient as a flipped-kernel forward)", n: 2, c: 4, h: 9, w: 8, oc: 12, k: [3, 3], pad: [2, 1], dilation: [2, 2] },
  { name: "padding beyond the kernel span: 1×1 kernel, padding 1 (input gradient by gathering)", n: 2, c: 3, h: 4, w: 5, oc: 4, k: [1, 1], pad: [1, 1] }
]

const specOf = (c: ConvCase): Conv2dSpec => {
  const [sH, sW] = c.stride ?? [1, 1]
  const [pH, pW] = c.pad ?? [0, 0]
  const [dH, dW] = c.dilation ?? [1, 1]
  return {
    batch: c.n, inChannels: c.c, height: c.h, width: c.w, outChannels: c.oc, kernelH: c.k[0], kernelW: c.k[1],
    strideH: sH, strideW: sW, padH: pH, padW: pW, dilationH: dH, dilationW: dW, groups: c.groups ?? 1,
    outH: convOutSize(c.h, c.k[0], sH, pH, dH), outW: convOutSize(c.w, c.k[1], sW, pW, dW)
  }
}

/** |gpu − cpu| ≤ 1e-4·|cpu| + 1e-5·(number of terms): float32 sums of terms in [−1, 1]. */
const tolerance = (terms: number) => 1e-5 * terms

for (const variant of ["subgroup", "tiled"] as const) {
  describe(`conv2d (${variant === "subgroup" ? "implicit GEMM" : "direct"} kernels)`, () => {
    it("uses the expected variant", () => {
      expect(backends.get(variant)!.matmulVariant).toBe(variant)
    })
    for (const c of convCases) {
      it(`${c.name}: forward, input gradient, weight gradient`, async () => {
        const gpu = backends.get(variant)!
        const spec = specOf(c)
        const cg = c.c / spec.groups
        const x = uniform(c.n * c.c * c.h * c.w, -1, 1, c.n * 31 + c.c)
        const wt = uniform(c.oc * cg * c.k[0] * c.k[1], -1, 1, c.oc * 17 + c.k[0])
        const b = uniform(c.oc, -1, 1, 5)
        const g = uniform(c.n * c.oc * spec.outH * spec.outW, -1, 1, 99)
        const [gx, cx] = both(gpu, cpu, x)
        const [gw, cw] = both(gpu, cpu, wt)
        const [gb, cb] = both(gpu, cpu, b)
        const [gg, cgs] = both(gpu, cpu, g)
        const withBias = c.bias ?? true
        const taps = cg * c.k[0] * c.k[1]
        expectClose(
          await gpu.read(gpu.conv2d(gx, gw, withBias ? gb : undefined, spec), "float32"),
          await cpu.read(cpu.conv2d(cx, cw, withBias ? cb : undefined, spec), "float32"),
          1e-4,
          tolerance(taps)
        )
        expectClose(
          await gpu.read(gpu.conv2dBackwardInput(gg, gw, spec), "float32"),
          await cpu.read(cpu.conv2dBackwardInput(cgs, cw, spec), "float32"),
          1e-4,
          tolerance((c.oc / spec.groups) * c.k[0] * c.k[1])
        )
        expectClose(
          await gpu.read(gpu.conv2dBackwardWeight(gg, gx, spec), "float32"),
          await cpu.read(cpu.conv2dBackwardWeight(cgs, cx, spec), "float32"),
          1e-4,
          tolerance(c.n * spec.outH * spec.outW)
        )
        for (const s of [gx, gw, gb, gg]) gpu.release(s)
      })
    }
  })
}

interface PoolCase {
  readonly name: string
  readonly planes: number
  readonly h: number
  readonly w: number
  readonly k: readonly [number, number]
  readonly stride: readonly [number, number]
  readonly pad: readonly [number, number]
  readonly dilation?: readonly [number, number]
  readonly countIncludePad?: boolean
  readonly divisorOverride?: number
}

const poolCases: ReadonlyArray<PoolCase> = [
  { name: "2×2 stride 2 on 26×26 (MNIST)", planes: 6, h: 26, w: 26, k: [2, 2], stride: [2, 2], pad: [0, 0] },
  { name: "3×3 stride 2 pad 1 (overlapping windows)", planes: 4, h: 9, w: 8, k: [3, 3], stride: [2, 2], pad: [1, 1] },
  { name: "3×2 stride 1 (heavy overlap)", planes: 3, h: 7, w: 6, k: [3, 2], stride: [1, 1], pad: [1, 1] },
  { name: "2×2 stride 2 on odd 7×5 (floor mode drops the edge)", planes: 2, h: 7, w: 5, k: [2, 2], stride: [2, 2], pad: [0, 0] },
  { name: "dilation 2, padding not counted", planes: 2, h: 9, w: 9, k: [3, 3], stride: [2, 1], pad: [1, 1], dilation: [2, 2], countIncludePad: false },
  { name: "divisor override 3", planes: 2, h: 6, w: 6, k: [2, 3], stride: [2, 2], pad: [1, 1], divisorOverride: 3 },
  { name: "disjoint windows with gaps: 2×2 dilation 2, stride 3, pad 1", planes: 2, h: 10, w: 8, k: [2, 2], stride: [3, 3], pad: [1, 1], dilation: [2, 2] }
]

const poolSpecOf = (c: PoolCase, avg: boolean): AvgPool2dSpec => {
  const [dH, dW] = avg ? [1, 1] : c.dilation ?? [1, 1]
  return {
    planes: c.planes, height: c.h, width: c.w, kernelH: c.k[0], kernelW: c.k[1], strideH: c.stride[0], strideW: c.stride[1],
    padH: c.pad[0], padW: c.pad[1], dilationH: dH, dilationW: dW,
    outH: convOutSize(c.h, c.k[0], c.stride[0], c.pad[0], dH), outW: convOutSize(c.w, c.k[1], c.stride[1], c.pad[1], dW),
    countIncludePad: c.countIncludePad ?? true, divisorOverride: c.divisorOverride ?? 0
  }
}

describe("pooling", () => {
  for (const c of poolCases) {
    it(`max pooling, ${c.name}: values, arg-max positions, gradient`, async () => {
      const gpu = backends.get("subgroup")!
      const spec: Pool2dSpec = poolSpecOf(c, false)
      // Values on a coarse grid, so windows hold ties: the first maximum must win on both.
      const x = Float32Array.from(uniform(c.planes * c.h * c.w, 0, 4, 3), (v) => Math.floor(v))
      const g = uniform(c.planes * spec.outH * spec.outW, -1, 1, 4)
      const [gx, cx] = both(gpu, cpu, x)
      const [gg, cgs] = both(gpu, cpu, g)
      const [gv, gi] = gpu.maxPool2d(gx, spec)
      const [cv, ci] = cpu.maxPool2d(cx, spec)
      expectClose(await gpu.read(gv, "float32"), await cpu.read(cv, "float32"), 0)
      expect(Array.from(await gpu.read(gi, "int32"))).toEqual(Array.from(await cpu.read(ci, "int32")))
      expectClose(await gpu.read(gpu.maxPool2dBackward(gg, gi, spec), "float32"), await cpu.read(cpu.maxPool2dBackward(cgs, ci, spec), "float32"), 1e-6, 1e-6)
    })
    it(`max pooling, ${c.name}: a window holding NaN gives NaN at its last NaN, as torch (CPU rule)`, async () => {
      const gpu = backends.get("subgroup")!
      const spec: Pool2dSpec = poolSpecOf(c, false)
      const x = uniform(c.planes * c.h * c.w, -1, 1, 5)
      for (let i = 3; i < x.length; i += 11) x[i] = NaN
      const [gx, cx] = both(gpu, cpu, x)
      const [gv, gi] = gpu.maxPool2d(gx, spec)
      const [cv, ci] = cpu.maxPool2d(cx, spec)
      const values = await gpu.read(gv, "float32")
      const indices = Array.from(await gpu.read(gi, "int32"))
      expect(Array.from(values)).toEqual(Array.from(await cpu.read(cv, "float32")))
      expect(indices).toEqual(Array.from(await cpu.read(ci, "int32")))
      // Where the value is NaN, the position is a NaN input of that plane.
      const plane = spec.outH * spec.outW
      let nans = 0
      values.forEach((v, o) => {
        if (!Number.isNaN(v)) return
        nans++
        expect(Number.isNaN(x[Math.floor(o / plane) * c.h * c.w + indices[o]!])).toBe(true)
      })
      expect(nans).toBeGreaterThan(0)
    })
    it(`average pooling, ${c.name}: values and gradient`, async () => {
      const gpu = backends.get("subgroup")!
      const spec = poolSpecOf(c, true)
      const x = uniform(c.planes * c.h * c.w, -1, 1, 8)
      const g = uniform(c.planes * spec.outH * spec.outW, -1, 1, 9)
      const [gx, cx] = both(gpu, cpu, x)
      const [gg, cgs] = both(gpu, cpu, g)
      expectClose(await gpu.read(gpu.avgPool2d(gx, spec), "float32"), await cpu.read(cpu.avgPool2d(cx, spec), "float32"), 1e-5, 1e-6)
      expectClose(await gpu.read(gpu.avgPool2dBackward(gg, spec), "float32"), await cpu.read(cpu.avgPool2dBackward(cgs, spec), "float32"), 1e-5, 1e-6)
    })
  }
})
