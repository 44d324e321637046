/**
 * The binding limit: with maxStorageBufferBindingSize lowered to 4096 bytes, 1024 float32
 * values work and 1025 are refused with a DeviceError that names 4100 and 4096 bytes,
 * before anything is created or dispatched.
 */
import { DeviceError } from "@effect-nn/tensor"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { grid2d, sizeClass } from "../src/limits.ts"
import type { WebGpuBackend } from "../src/index.ts"
import { makeGpu } from "./helpers.ts"

let gpu: WebGpuBackend

beforeAll(async () => {
  gpu = await makeGpu({ maxStorageBufferBindingSize: 4096 })
}, 30_000)
afterAll(() => gpu?.destroy())

/** Runs `f`, expecting a DeviceError, and checks that no buffer was created and nothing dispatched. */
const refused = (f: () => unknown): DeviceError => {
  const before = gpu.stats()
  let error: unknown
  try {
    f()
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(DeviceError)
  const after = gpu.stats()
  expect(after.dispatches).toBe(before.dispatches)
  expect(after.liveBuffers).toBe(before.liveBuffers)
  expect(after.inUse).toBe(before.inUse)
  return error as DeviceError
}

describe("maxStorageBufferBindingSize = 4096", () => {
  it("reports the effective limit", () => {
    expect(gpu.maxBindingBytes).toBe(4096)
  })

  it("alloc of 1025 values fails naming 4100 and 4096 bytes; 1024 works", () => {
    const e = refused(() => gpu.alloc(1025))
    expect(e.reason).toBe("tensor of 1025 float32 values (4100 bytes) exceeds maxStorageBufferBindingSize 4096 bytes")
    const ok = gpu.alloc(1024)
    expect(ok.numel).toBe(1024)
    gpu.release(ok)
  })

  it("upload of 1025 values fails; 1024 values round-trip", async () => {
    const e = refused(() => gpu.upload(new Int32Array(1025)))
    expect(e.reason).toContain("1025 int32 values (4100 bytes)")
    expect(e.reason).toContain("4096 bytes")
    const data = Float32Array.from({ length: 1024 }, (_, i) => i * 0.5)
    expect(Array.from(await gpu.read(gpu.upload(data), "float32"))).toEqual(Array.from(data))
  })

  it("kernel outputs over the limit fail before any dispatch", async () => {
    const a = gpu.upload(new Float32Array(1024).fill(1))
    const b = gpu.upload(new Float32Array(2).fill(2))
    const idx = gpu.upload(new Int32Array(2))
    expect(refused(() => gpu.binary("add", a, b, [2, 1024], [0, 1], [1, 0])).reason).toContain("(8192 bytes)")
    expect(refused(() => gpu.matmul(a, a, { m: 64, k: 16, n: 64, transA: false, transB: false })).reason).toContain("4096 float32 values (16384 bytes)")
    expect(refused(() => gpu.pickBackward(b, idx, 2, 513)).reason).toContain("1026 float32 values (4104 bytes)")
    expect(refused(() => gpu.fill(1025, 0, "int32")).reason).toContain("4100 bytes")
    // Errors over the limit are not sticky: the device still works.
    expect(Array.from(await gpu.read(gpu.axpy(a, a, 1024, 1), "float32")).every((x) => x === 2)).toBe(true)
  })
})

describe("size classes and grids", () => {
  it("size classes are at least the request, multiples of 4, at most the cap", () => {
    for (const bytes of [0, 4, 256, 260, 1000, 4096, 4100, 65_540, 1_000_004, 100_000_000]) {
      const c = sizeClass(bytes, 134_217_728)
      expect(c).toBeGreaterThanOrEqual(Math.max(bytes, 4))
      expect(c % 4).toBe(0)
      expect(c).toBeLessThanOrEqual(Math.max(bytes + 256, bytes * 1.25))
    }
    expect(sizeClass(4096, 4096)).toBe(4096)
    expect(sizeClass(4000, 4096)).toBe(4096)
    expect(sizeClass(130_000_000, 134_217_728)).toBe(134_217_728)
  })

  it("grids stay within maxComputeWorkgroupsPerDimension and cover the work", () => {
    for (const groups of [1, 65_535, 65_536, 131_071, 1_000_000, 65_535 * 65_535]) {
      const [x, y] = grid2d(groups, 65_535)
      expect(x).toBeLessThanOrEqual(65_535)
      expect(y).toBeLessThanOrEqual(65_535)
      expect(x * y).toBeGreaterThanOrEqual(groups)
    }
    expect(() => grid2d(65_535 * 65_535 + 1, 65_535)).toThrow(DeviceError)
  })
})
