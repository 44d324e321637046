import { describe, expect, it } from "vitest"
import { MNIST_MEAN, MNIST_STD, normalizationTable, normalizeGather, normalizeImages } from "../src/index.ts"

describe("normalizeImages", () => {
  it("maps 0 and 255 to PyTorch's values", () => {
    const out = normalizeImages(Uint8Array.of(0, 255, 128, 33), 0, 2, 2)
    expect(out.length).toBe(4)
    expect(out[0]).toBeCloseTo(-0.4242129, 6)
    expect(out[1]).toBeCloseTo(2.8214867, 6)
    expect(out[2]).toBeCloseTo((128 / 255 - MNIST_MEAN) / MNIST_STD, 6)
    // float32, as torchvision computes it: float32 steps of ToTensor then Normalize
    const f = Math.fround
    expect(out[1]).toBe(f(f(f(255 / 255) - f(0.1307)) / f(0.3081)))
  })

  it("takes a range of samples and writes into `out`", () => {
    const pixels = Uint8Array.from({ length: 12 }, (_, i) => i * 20)
    const out = new Float32Array(10).fill(99)
    const result = normalizeImages(pixels, 1, 2, 4, out)
    expect(result.length).toBe(8)
    expect(result.buffer).toBe(out.buffer)
    const table = normalizationTable()
    expect(Array.from(result)).toEqual(Array.from(pixels.subarray(4, 12), (p) => table[p]))
    expect(out[8]).toBe(99)
  })

  it("throws RangeError outside the pixels", () => {
    expect(() => normalizeImages(new Uint8Array(8), 1, 2, 4)).toThrow(RangeError)
  })

  it("gathers samples by index", () => {
    const pixels = Uint8Array.of(0, 0, 255, 255, 10, 10)
    const out = normalizeGather(pixels, [2, 0], 2)
    const table = normalizationTable()
    expect(Array.from(out)).toEqual([table[10], table[10], table[0], table[0]])
    expect(() => normalizeGather(pixels, [3], 2)).toThrow(RangeError)
  })
})
