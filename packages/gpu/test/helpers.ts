import type { Backend, Storage } from "@effect-nn/tensor"
import { Effect } from "effect"
import { expect } from "vitest"
import { acquireWebGpu, type WebGpuBackend, type WebGpuOptions } from "../src/index.ts"

/** A fresh WebGPU backend (device creation is slow on lavapipe: share one per file). */
export const makeGpu = (options?: WebGpuOptions): Promise<WebGpuBackend> => Effect.runPromise(acquireWebGpu(options))

/** A seeded PRNG (mulberry32) giving floats in [0, 1). */
export const rng = (seed: number): (() => number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `n` uniform floats in [lo, hi). */
export const uniform = (n: number, lo: number, hi: number, seed: number): Float32Array => {
  const r = rng(seed)
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r())
}

/** Row-major strides of `shape` broadcast to `out` (0 on broadcast dims), like the tensor package. */
export const broadcastStrides = (shape: ReadonlyArray<number>, out: ReadonlyArray<number>): Array<number> => {
  const strides = new Array<number>(out.length).fill(0)
  let stride = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = out.length - shape.length + i
    strides[d] = shape[i] === 1 && out[d] !== 1 ? 0 : stride
    stride *= shape[i]!
  }
  return strides
}

/**
 * Asserts |gpu − cpu| ≤ rtol·|cpu| + atol element-wise (NaN must match NaN, infinities
 * must match exactly), reporting the first offending index.
 */
export const expectClose = (
  gpu: ArrayLike<number>,
  cpu: ArrayLike<number>,
  rtol: number,
  atol: number | ((i: number) => number) = 0
): void => {
  expect(gpu.length).toBe(cpu.length)
  for (let i = 0; i < cpu.length; i++) {
    const g = gpu[i]!
    const c = cpu[i]!
    if (Number.isNaN(c)) {
      if (!Number.isNaN(g)) expect.fail(`index ${i}: expected NaN, got ${g}`)
      continue
    }
    if (!Number.isFinite(c)) {
      if (g !== c) expect.fail(`index ${i}: expected ${c}, got ${g}`)
      continue
    }
    const tol = rtol * Math.abs(c) + (typeof atol === "number" ? atol : atol(i))
    if (!(Math.abs(g - c) <= tol)) expect.fail(`index ${i}: expected ${c}, got ${g} (|diff| ${Math.abs(g - c)} > ${tol})`)
  }
}

/** Uploads `data` to both backends. */
export const both = (gpu: Backend, cpu: Backend, data: Float32Array | Int32Array): [Storage, Storage] => [gpu.upload(data), cpu.upload(data)]
