/**
 * Storage lifetimes on the WebGPU backend: a released storage (whose buffer may already
 * hold another storage's data) or one of another backend is refused with a DeviceError at
 * the call (a released one by the CPU backend too); a deferred kernel never takes a following ReLU into a dispatch where the ReLU's
 * output or mask would alias a buffer that dispatch also uses; profile mode survives a
 * destroy with timestamps in flight.
 */
import { CpuBackend, DeviceError } from "@effect-nn/tensor"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { WebGpuBackend } from "../src/index.ts"
import { both, expectClose, makeGpu, uniform } from "./helpers.ts"

const cpu = new CpuBackend()
let gpu: WebGpuBackend

beforeAll(async () => {
  gpu = await makeGpu({ autotune: "off" })
}, 30_000)
afterAll(() => gpu.destroy())

describe("a released storage", () => {
  it("is refused by every kind of op with a DeviceError naming it, and the device stays usable", async () => {
    const a = gpu.upload(new Float32Array(64).fill(1))
    const b = gpu.upload(new Float32Array(64).fill(1))
    gpu.flush()
    gpu.release(a)
    // The released buffer now holds another storage's data.
    const other = gpu.upload(new Float32Array(64).fill(5))
    const spec = { m: 8, k: 8, n: 8, transA: false, transB: false }
    const calls: ReadonlyArray<() => unknown> = [
      () => gpu.unary("exp", a, 64, 0),
      () => gpu.matmul(a, b, spec),
      () => gpu.matmul(b, a, spec),
      () => gpu.binary("add", a, b, [64], [1], [1]),
      () => gpu.linear(a, b, undefined, { rows: 8, inFeatures: 8, outFeatures: 8, relu: false }),
      () => gpu.batchNormTrain(a, undefined, undefined, undefined, { rows: 8, cols: 8, eps: 1e-5 }),
      () => gpu.reduceSum(a, 1, 64, 1)
    ]
    for (const call of calls) {
      expect(call).toThrow(DeviceError)
      expect(call).toThrow(/storage \d+ was already released/)
    }
    await expect(gpu.read(a, "float32")).rejects.toThrow(/already released/)
    expect(Array.from(await gpu.read(gpu.unary("scale", b, 64, 2), "float32")).slice(0, 2)).toEqual([2, 2])
    expect((await gpu.read(other, "float32"))[0]).toBe(5)
    gpu.release(b)
    gpu.release(other)
  })

  it("is refused by the CPU reference backend too", async () => {
    const a = cpu.upload(new Float32Array([1, 2]))
    cpu.release(a)
    expect(() => cpu.unary("exp", a, 2, 0)).toThrow(/storage \d+ was already released/)
    expect(() => cpu.matmul(a, a, { m: 1, k: 2, n: 1, transA: false, transB: true })).toThrow(DeviceError)
    await expect(cpu.read(a, "float32")).rejects.toThrow(DeviceError)
  })

  it("of another backend is refused too", async () => {
    const second = await makeGpu({ autotune: "off" })
    try {
      const foreign = second.upload(new Float32Array(4).fill(1))
      expect(() => gpu.unary("exp", foreign, 4, 0)).toThrow(/does not belong to this WebGPU backend/)
      const mine = gpu.upload(new Float32Array([1, 2]))
      expect(Array.from(await gpu.read(mine, "float32"))).toEqual([1, 2])
      gpu.release(mine)
    } finally {
      second.destroy()
    }
  })
})

describe("a deferred kernel and a following ReLU", () => {
  it("batch norm with its mean or invStd released: the ReLU runs apart, values as the CPU", async () => {
    const rows = 4
    const cols = 8
    const xs = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.7) * 3)
    const spec = { rows, cols, eps: 1e-5 }
    const expected = await cpu.read(cpu.unary("relu", cpu.batchNormTrain(cpu.upload(xs), undefined, undefined, undefined, spec).output, rows * cols, 0), "float32")
    for (const which of ["mean", "invStd"] as const) {
      gpu.trim()
      const x = gpu.upload(xs)
      const r = gpu.batchNormTrain(x, undefined, undefined, undefined, spec)
      gpu.release(r[which])
      const y = gpu.unary("relu", r.output, rows * cols, 0)
      expectClose(await gpu.read(y, "float32"), expected, 1e-5, 1e-5)
      for (const s of [x, r.output, which === "mean" ? r.invStd : r.mean, y]) gpu.release(s)
    }
  })

  it("reluBackward(y, y) of a deferred matmul's y: the mask is not folded into the matmul that writes it", async () => {
    const spec = { m: 16, k: 8, n: 24, transA: false, transB: false }
    const [ga, ca] = both(gpu, cpu, uniform(16 * 8, -1, 1, 31))
    const [gb, cb] = both(gpu, cpu, uniform(8 * 24, -1, 1, 32))
    const y = gpu.matmul(ga, gb, spec)
    const g = gpu.reluBackward(y, y, 16 * 24)
    const ey = cpu.matmul(ca, cb, spec)
    expectClose(await gpu.read(g, "float32"), await cpu.read(cpu.reluBackward(ey, ey, 16 * 24), "float32"), 1e-5, 1e-5)
    for (const s of [ga, gb, y, g]) gpu.release(s)
  })
})

describe("profile mode", () => {
  it("destroy with timestamps still in flight rejects nothing unhandled", async () => {
    const unhandled: Array<unknown> = []
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason)
    }
    process.on("unhandledRejection", onUnhandled)
    try {
      const profiled = await makeGpu({ autotune: "off", profile: true })
      let y = profiled.upload(new Float32Array(1 << 16).fill(1))
      for (let i = 0; i < 10; i++) y = profiled.unary("exp", y, 1 << 16, 0)
      profiled.flush()
      profiled.destroy()
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(unhandled).toEqual([])
    } finally {
      process.off("unhandledRejection", onUnhandled)
    }
  })
})
