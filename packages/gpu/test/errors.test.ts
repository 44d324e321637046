/**
 * GPU errors never pass silently: a validation error (inside a pending batch or
 * outside one), a lost device and a destroyed backend all surface as a DeviceError from
 * `read`. Each case poisons its device, so each gets its own backend.
 */
import { DeviceError } from "@effect-nn/tensor"
import { describe, expect, it } from "vitest"
import { acquireFrom } from "../src/acquire.ts"
import { BufferUsage } from "../src/flags.ts"
import { makeGpu } from "./helpers.ts"

/** Reads `f()`'s rejection, failing the test when it resolves. */
const rejection = async (p: Promise<unknown>): Promise<DeviceError> => {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(DeviceError)
    return e as DeviceError
  }
  return expect.fail("read resolved; expected a DeviceError")
}

/** An invalid buffer descriptor: MAP_READ may only be combined with COPY_DST. */
const invalidBuffer = { size: 16, usage: BufferUsage.MAP_READ | BufferUsage.STORAGE }

describe("GPU errors surface as a failed read", () => {
  it("a validation error inside a pending batch", async () => {
    const gpu = await makeGpu()
    try {
      const a = gpu.upload(new Float32Array([1, 2, 3]))
      const b = gpu.unary("exp", a, 3, 0) // a batch is now pending (its error scopes pushed)
      gpu.device.createBuffer(invalidBuffer)
      const e = await rejection(gpu.read(b, "float32"))
      expect(e.reason).toMatch(/validation/i)
      // Sticky: later reads reject and new kernels throw.
      await rejection(gpu.read(a, "float32"))
      expect(() => gpu.unary("exp", a, 3, 0)).toThrow(DeviceError)
    } finally {
      gpu.destroy()
    }
  }, 30_000)

  it("a validation error with no batch pending (uncaptured)", async () => {
    const gpu = await makeGpu()
    try {
      const a = gpu.upload(new Float32Array([1, 2, 3]))
      gpu.device.createBuffer(invalidBuffer)
      const e = await rejection(gpu.read(a, "float32"))
      expect(e.reason).toMatch(/validation/i)
    } finally {
      gpu.destroy()
    }
  }, 30_000)

  it("a lost device", async () => {
    const gpu = await makeGpu()
    const a = gpu.upload(new Float32Array([1, 2, 3]))
    expect(Array.from(await gpu.read(a, "float32"))).toEqual([1, 2, 3])
    gpu.device.destroy() // not through the backend: a loss it did not ask for
    const e = await rejection(gpu.read(a, "float32"))
    expect(e.reason).toMatch(/lost|destroyed|fail/i)
    gpu.destroy()
  }, 30_000)

  it("a destroyed backend", async () => {
    const gpu = await makeGpu()
    const a = gpu.upload(new Float32Array([1]))
    gpu.destroy()
    expect(gpu.stats().liveBuffers).toBe(0)
    expect(gpu.stats().liveBytes).toBe(0)
    const e = await rejection(gpu.read(a, "float32"))
    expect(e.reason).toContain("destroyed")
    expect(() => gpu.alloc(1)).toThrow(DeviceError)
    gpu.destroy() // idempotent
  }, 30_000)
})

describe("acquisition", () => {
  it("no adapter is a DeviceError that says so", async () => {
    const noAdapter = { requestAdapter: () => Promise.resolve(null) } as unknown as GPU
    const error = await acquireFrom(noAdapter, "node").then(
      () => expect.fail("expected a DeviceError"),
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(DeviceError)
    expect((error as DeviceError).reason).toContain("no WebGPU adapter available")
    const inBrowser = await acquireFrom(noAdapter, "browser").catch((e: unknown) => e)
    expect((inBrowser as DeviceError).reason).toBe("no WebGPU adapter available: navigator.gpu.requestAdapter() returned null")
  })
})
