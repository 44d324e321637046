/**
 * Every element-wise, reduction, softmax, pick, argmax, cast and Adam kernel against the
 * CPU reference on seeded random inputs of odd sizes. Matmul has its own file.
 */
import { type AdamHyper, type BinaryOp, CpuBackend, type UnaryOp } from "@effect-nn/tensor"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { WebGpuBackend } from "../src/index.ts"
import { both, broadcastStrides, expectClose, makeGpu, rng, uniform } from "./helpers.ts"

let gpu: WebGpuBackend
const cpu = new CpuBackend()

beforeAll(async () => {
  gpu = await makeGpu()
}, 30_000)
afterAll(() => gpu?.destroy())

const sizes = [1, 3, 127, 785]

describe("fill", () => {
  it("writes float32 values and int32 bit patterns", async () => {
    for (const n of sizes) {
      for (const v of [0, 1.5, -3.25e-7, -Infinity]) {
        expectClose(await gpu.read(gpu.fill(n, v, "float32"), "float32"), await cpu.read(cpu.fill(n, v, "float32"), "float32"), 0)
      }
      for (const v of [0, 7, -3, 2147483647, -2147483648]) {
        expect(Array.from(await gpu.read(gpu.fill(n, v, "int32"), "int32"))).toEqual(Array.from(await cpu.read(cpu.fill(n, v, "int32"), "int32")))
      }
    }
  })

  it("uses a 2-D grid past 65535 workgroups (17M elements)", async () => {
    const n = 65536 * 256 + 77
    const out = await gpu.read(gpu.fill(n, 2.5, "float32"), "float32")
    expect(out.length).toBe(n)
    expect(out[0]).toBe(2.5)
    expect(out[n - 1]).toBe(2.5)
    expect(out[65535 * 256 + 3]).toBe(2.5)
    expect(out.every((x) => x === 2.5)).toBe(true)
  })
})

describe("unary", () => {
  const ops: ReadonlyArray<[UnaryOp, number, number, number]> = [
    // op, alpha, input lo, input hi
    ["neg", 0, -5, 5],
    ["exp", 0, -10, 10],
    ["log", 0, 1e-3, 100],
    ["sqrt", 0, 0, 100],
    ["relu", 0, -1, 1],
    ["step", 0, -1, 1],
    ["abs", 0, -3, 3],
    ["square", 0, -4, 4],
    ["sigmoid", 0, -30, 30],
    ["sigmoid", 0, -1, 1],
    ["tanh", 0, -6, 6],
    ["tanh", 0, -0.3, 0.3],
    ["tanh", 0, -1e-3, 1e-3],
    ["scale", -1.75, -4, 4],
    ["addScalar", 0.3, -4, 4],
    ["pow", 2, -3, 3],
    ["pow", 3, -3, 3],
    ["pow", -2, 0.5, 3],
    ["pow", 0.5, 0, 9],
    ["pow", 1.7, 0, 5],
    ["pow", -1, 0.5, 3],
    ["pow", 0, -3, 3],
    ["clampMin", 0.25, -1, 1]
  ]
  for (const [op, alpha, lo, hi] of ops) {
    it(`${op}(α=${alpha}) on sizes 1, 3, 127, 785`, async () => {
      for (const n of sizes) {
        const data = uniform(n, lo, hi, n * 31 + 7)
        if (n > 2) data[1] = 0 // exactly 0: relu/step give 0
        if (n > 3) data[2] = NaN // NaN: as the CPU (NaN for relu, sigmoid, tanh, ...; step gives 0)
        const [g, c] = both(gpu, cpu, data)
        expectClose(await gpu.read(gpu.unary(op, g, n, alpha), "float32"), await cpu.read(cpu.unary(op, c, n, alpha), "float32"), 2e-6, 1e-7)
      }
    })
  }

  it("relu([NaN, -1, 2, 0, -0]) is [NaN, 0, 2, 0, 0] like torch.relu, scalar and vec4 kernels", async () => {
    for (const data of [[NaN, -1, 2, 0, -0], [NaN, -1, 2, 0, -0, NaN, -Infinity, Infinity]]) {
      const [g, c] = both(gpu, cpu, new Float32Array(data))
      const expected = data.map((x) => (Number.isNaN(x) ? NaN : x > 0 ? x : 0))
      const out = Array.from(await gpu.read(gpu.unary("relu", g, data.length, 0), "float32"))
      expectClose(out, expected, 0)
      expectClose(await cpu.read(cpu.unary("relu", c, data.length, 0), "float32"), expected, 0)
      expect(out.slice(1, 5).every((v) => Object.is(v, 0) || v === 2)).toBe(true)
    }
  })

  it("pow follows Math.pow on negative bases, zero and non-integer exponents", async () => {
    const data = new Float32Array([-2, -0.5, 0, 2, -3])
    const [g, c] = both(gpu, cpu, data)
    for (const alpha of [2, 3, -1, -3, 1.5, -0.5, 4, 5]) {
      expectClose(await gpu.read(gpu.unary("pow", g, 5, alpha), "float32"), await cpu.read(cpu.unary("pow", c, 5, alpha), "float32"), 2e-6)
    }
  })
})

describe("binary", () => {
  const geometries: ReadonlyArray<[ReadonlyArray<number>, ReadonlyArray<number>]> = [
    [[785], [785]],
    [[1], [1]],
    [[127, 3], [3]],
    [[3], [127, 3]],
    [[127, 1], [1, 3]],
    [[3, 1, 5], [1, 4, 5]],
    [[], [7, 3]],
    [[2, 3, 1, 4, 1, 5], [3, 2, 1, 3, 1]],
    [[2, 1, 2, 1, 2, 1, 2, 3], [2, 1, 2, 1, 2, 1, 3]]
  ]
  const ops: ReadonlyArray<BinaryOp> = ["add", "sub", "mul", "div", "max", "min"]
  for (const op of ops) {
    it(`${op} with broadcasting up to rank 8`, async () => {
      for (const [sa, sb] of geometries) {
        const rank = Math.max(sa.length, sb.length)
        const pa = [...new Array<number>(rank - sa.length).fill(1), ...sa]
        const pb = [...new Array<number>(rank - sb.length).fill(1), ...sb]
        const out = pa.map((d, i) => Math.max(d, pb[i]!))
        const na = sa.reduce((p, d) => p * d, 1)
        const nb = sb.reduce((p, d) => p * d, 1)
        const a = uniform(na, -2, 2, na + 1)
        const b = uniform(nb, 0.5, 3, nb + 2) // away from 0 for div
        const [ga, ca] = both(gpu, cpu, a)
        const [gb, cb] = both(gpu, cpu, b)
        const as = broadcastStrides(pa, out)
        const bs = broadcastStrides(pb, out)
        expectClose(
          await gpu.read(gpu.binary(op, ga, gb, out, as, bs), "float32"),
          await cpu.read(cpu.binary(op, ca, cb, out, as, bs), "float32"),
          1e-6
        )
      }
    })
  }
})

describe("NaN in max, min, reduceMax and argmax, as PyTorch", () => {
  // torch.maximum/minimum give NaN if either side is NaN; torch.amax gives NaN for a
  // reduced slice holding NaN; torch.argmax gives the index of the first NaN.
  it("binary max and min propagate NaN from either side (vec4, rank-1 and broadcast kernels)", async () => {
    for (const n of [8, 7]) {
      const a = Float32Array.from({ length: n }, (_, i) => i - 3)
      const b = Float32Array.from({ length: n }, (_, i) => 3 - i)
      a[1] = NaN
      b[2] = NaN
      a[5] = NaN
      b[5] = NaN
      const [ga, ca] = both(gpu, cpu, a)
      const [gb, cb] = both(gpu, cpu, b)
      const s = broadcastStrides([n], [n])
      for (const op of ["max", "min"] as const) {
        const expected = Array.from(a, (x, i) => (Number.isNaN(x) || Number.isNaN(b[i]!) ? NaN : op === "max" ? Math.max(x, b[i]!) : Math.min(x, b[i]!)))
        expect(Array.from(await gpu.read(gpu.binary(op, ga, gb, [n], s, s), "float32"))).toEqual(expected)
        expect(Array.from(await cpu.read(cpu.binary(op, ca, cb, [n], s, s), "float32"))).toEqual(expected)
      }
    }
    // Broadcast: a [2, 3] against b [3] holding a NaN in its middle column.
    const [ga, ca] = both(gpu, cpu, new Float32Array([1, 2, 3, NaN, -5, 6]))
    const [gb, cb] = both(gpu, cpu, new Float32Array([0, NaN, 4]))
    const as = broadcastStrides([2, 3], [2, 3])
    const bs = broadcastStrides([1, 3], [2, 3])
    const expected = [1, NaN, 4, NaN, NaN, 6]
    expect(Array.from(await gpu.read(gpu.binary("max", ga, gb, [2, 3], as, bs), "float32"))).toEqual(expected)
    expect(Array.from(await cpu.read(cpu.binary("max", ca, cb, [2, 3], as, bs), "float32"))).toEqual(expected)
  })

  it("reduceMax is NaN where the reduced slice holds a NaN (serial and workgroup kernels)", async () => {
    for (const [outer, size, inner] of [[4, 9, 3], [3, 1_000, 1]] as const) {
      const data = uniform(outer * size * inner, -1, 1, size)
      // Output 0: NaN first in its slice; output 1: NaN last; the rest: no NaN.
      data[0] = NaN
      data[(size - 1) * inner + 1 < size * inner ? (size - 1) * inner + 1 : size * inner + (size - 1) * inner] = NaN
      const [g, c] = both(gpu, cpu, data)
      const expected = new Array<number>(outer * inner).fill(-Infinity)
      for (let o = 0; o < outer; o++) {
        for (let r = 0; r < size; r++) {
          for (let i = 0; i < inner; i++) {
            const v = data[(o * size + r) * inner + i]!
            const at = o * inner + i
            expected[at] = Number.isNaN(expected[at]!) || Number.isNaN(v) ? NaN : Math.max(expected[at]!, v)
          }
        }
      }
      expect(expected.slice(0, 2).every(Number.isNaN)).toBe(true)
      expect(Array.from(await gpu.read(gpu.reduceMax(g, outer, size, inner), "float32"))).toEqual(expected)
      expect(Array.from(await cpu.read(cpu.reduceMax(c, outer, size, inner), "float32"))).toEqual(expected)
    }
  })

  it("argmax gives the first NaN of a row that has one (serial and workgroup kernels)", async () => {
    for (const cols of [10, 785]) {
      const rows = 5
      const data = Float32Array.from({ length: rows * cols }, (_, i) => (i % cols) % 7)
      const nanAt = [[3], [cols - 1], [2, cols - 2], [], Array.from({ length: cols }, (_, c) => c)]
      nanAt.forEach((cs, r) => cs.forEach((c) => (data[r * cols + c] = NaN)))
      const expected = nanAt.map((cs) => (cs.length > 0 ? Math.min(...cs) : 6))
      const [g, c] = both(gpu, cpu, data)
      expect(Array.from(await gpu.read(gpu.argmax(g, rows, cols), "int32"))).toEqual(expected)
      expect(Array.from(await cpu.read(cpu.argmax(c, rows, cols), "int32"))).toEqual(expected)
    }
  })
})

describe("axpy, reluBackward, cast", () => {
  it("axpy", async () => {
    for (const n of sizes) {
      const [ga, ca] = both(gpu, cpu, uniform(n, -1, 1, n))
      const [gb, cb] = both(gpu, cpu, uniform(n, -1, 1, n + 1))
      for (const alpha of [1, -0.37, 0]) {
        expectClose(await gpu.read(gpu.axpy(ga, gb, n, alpha), "float32"), await cpu.read(cpu.axpy(ca, cb, n, alpha), "float32"), 1e-6, 1e-7)
      }
    }
  })

  it("reluBackward passes g where x > 0, 0 elsewhere (0 at exactly 0 and at NaN)", async () => {
    for (const n of sizes) {
      const x = uniform(n, -1, 1, n + 5)
      for (let i = 0; i < n; i += 3) x[i] = 0
      for (let i = 1; i < n; i += 7) x[i] = NaN
      const [gx, cx] = both(gpu, cpu, x)
      const [gg, cg] = both(gpu, cpu, uniform(n, -1, 1, n + 6))
      const out = await gpu.read(gpu.reluBackward(gx, gg, n), "float32")
      expectClose(out, await cpu.read(cpu.reluBackward(cx, cg, n), "float32"), 0)
      expect(out[0]).toBe(0)
      if (n > 1) expect(out[1]).toBe(0)
    }
  })

  it("cast int32 → float32 and float32 → int32 (truncating)", async () => {
    for (const n of sizes) {
      const r = rng(n)
      const ints = Int32Array.from({ length: n }, () => Math.floor((r() - 0.5) * 2e6))
      const [gi, ci] = both(gpu, cpu, ints)
      expectClose(await gpu.read(gpu.cast(gi, n, false), "float32"), await cpu.read(cpu.cast(ci, n, false), "float32"), 0)
      const floats = uniform(n, -100, 100, n + 9)
      if (n > 2) floats.set([-2.7, 2.7], 0)
      const [gf, cf] = both(gpu, cpu, floats)
      expect(Array.from(await gpu.read(gpu.cast(gf, n, true), "int32"))).toEqual(Array.from(await cpu.read(cpu.cast(cf, n, true), "int32")))
    }
  })
})

describe("reductions", () => {
  const cases: ReadonlyArray<[number, number, number]> = [
    [1, 1, 1],
    [3, 127, 1],
    [1, 785, 1],
    [7, 785, 3],
    [1, 60_000, 1],
    [2, 60_001, 3],
    [1, 3, 785],
    [127, 1, 3],
    [1, 6_000, 200],
    [2_000_000, 3, 1],
    [3, 2, 1_000_000]
  ]
  for (const [outer, size, inner] of cases) {
    it(`sum and max over [${outer}, ${size}, ${inner}]`, async () => {
      const data = uniform(outer * size * inner, -1, 1, outer + size + inner)
      const [g, c] = both(gpu, cpu, data)
      // Tolerance for a sum: 1e-5 of the sum of magnitudes along the reduced axis (float32 accumulation).
      const absSum = new Float64Array(outer * inner)
      for (let o = 0; o < outer; o++) {
        for (let r = 0; r < size; r++) {
          for (let i = 0; i < inner; i++) absSum[o * inner + i]! += Math.abs(data[(o * size + r) * inner + i]!)
        }
      }
      expectClose(await gpu.read(gpu.reduceSum(g, outer, size, inner), "float32"), await cpu.read(cpu.reduceSum(c, outer, size, inner), "float32"), 1e-5, (i) => 1e-6 * absSum[i]! + 1e-7)
      expectClose(await gpu.read(gpu.reduceMax(g, outer, size, inner), "float32"), await cpu.read(cpu.reduceMax(c, outer, size, inner), "float32"), 0)
      gpu.release(g)
    }, 30_000)
  }

  it("long sums of one value stay within a few float32 roundings (blocked summation, both variants)", async () => {
    // 0.1 summed 2^22 times drifted by 1.5e-4 relative with one running sum per thread.
    const v = Math.fround(0.1)
    for (const [outer, size, inner] of [[1, 2 ** 22, 1], [1, 8192, 2048]] as const) {
      const sums = await gpu.read(gpu.reduceSum(gpu.fill(outer * size * inner, v, "float32"), outer, size, inner), "float32")
      const exact = size * v
      for (const s of [sums[0]!, sums[sums.length - 1]!]) expect(Math.abs(s - exact) / exact).toBeLessThan(4e-6)
    }
  }, 30_000)

  it("an empty axis gives 0 and -Infinity", async () => {
    const g = gpu.alloc(0)
    expect(Array.from(await gpu.read(gpu.reduceSum(g, 2, 0, 3), "float32"))).toEqual([0, 0, 0, 0, 0, 0])
    expect(Array.from(await gpu.read(gpu.reduceMax(g, 2, 0, 3), "float32"))).toEqual(new Array<number>(6).fill(-Infinity))
  })
})

describe("logSoftmax", () => {
  const shapes: ReadonlyArray<[number, number]> = [[1, 1], [3, 10], [127, 3], [64, 10], [5, 785], [3, 128], [3, 129], [2, 60_000]]
  for (const [rows, cols] of shapes) {
    it(`forward and backward on [${rows}, ${cols}]`, async () => {
      const [gx, cx] = both(gpu, cpu, uniform(rows * cols, -20, 20, rows * 1000 + cols))
      const gy = gpu.logSoftmax(gx, rows, cols)
      const cy = cpu.logSoftmax(cx, rows, cols)
      const yCpu = await cpu.read(cy, "float32")
      expectClose(await gpu.read(gy, "float32"), yCpu, 1e-5, 1e-5)
      // Backward from the same y on both (uploaded from the CPU) and a random g.
      const [gY, cY] = both(gpu, cpu, yCpu as Float32Array)
      const [gg, cg] = both(gpu, cpu, uniform(rows * cols, -1, 1, rows + cols))
      expectClose(
        await gpu.read(gpu.logSoftmaxBackward(gY, gg, rows, cols), "float32"),
        await cpu.read(cpu.logSoftmaxBackward(cY, cg, rows, cols), "float32"),
        1e-5,
        1e-5
      )
    })
  }

  it("is max-subtracted: [[1e8, 1e8]] → [-log 2, -log 2], finite", async () => {
    const g = gpu.upload(new Float32Array([1e8, 1e8]))
    const out = await gpu.read(gpu.logSoftmax(g, 1, 2), "float32")
    expect(Array.from(out)).toEqual([Math.fround(-Math.LN2), Math.fround(-Math.LN2)])
    const wide = gpu.upload(new Float32Array(300).fill(1e8))
    const w = await gpu.read(gpu.logSoftmax(wide, 1, 300), "float32")
    expect(w.every((v) => Math.abs(v + Math.log(300)) < 1e-5)).toBe(true)
  })
})

describe("pick, pickBackward, argmax", () => {
  it("pick and its backward, with out-of-range indices giving 0", async () => {
    for (const [rows, cols] of [[1, 1], [3, 10], [127, 3], [5, 785]] as const) {
      const r = rng(rows * cols)
      const idx = Int32Array.from({ length: rows }, () => Math.floor(r() * cols))
      if (rows >= 3) idx.set([-1, cols, cols + 5], 0)
      const [ga, ca] = both(gpu, cpu, uniform(rows * cols, -1, 1, rows))
      const [gi, ci] = both(gpu, cpu, idx)
      const picked = await gpu.read(gpu.pick(ga, gi, rows, cols), "float32")
      expectClose(picked, await cpu.read(cpu.pick(ca, ci, rows, cols), "float32"), 0)
      if (rows >= 3) expect(Array.from(picked.slice(0, 3))).toEqual([0, 0, 0])
      const [gg, cg] = both(gpu, cpu, uniform(rows, -1, 1, rows + 3))
      expectClose(await gpu.read(gpu.pickBackward(gg, gi, rows, cols), "float32"), await cpu.read(cpu.pickBackward(cg, ci, rows, cols), "float32"), 0)
    }
  })

  it("argmax returns the first index on ties", async () => {
    for (const [rows, cols] of [[1, 1], [3, 10], [127, 3], [64, 256], [9, 257], [5, 785], [2, 60_000]] as const) {
      const r = rng(rows + cols)
      // Few distinct values, so ties are common.
      const data = Float32Array.from({ length: rows * cols }, () => Math.floor(r() * 4))
      const [g, c] = both(gpu, cpu, data)
      expect(Array.from(await gpu.read(gpu.argmax(g, rows, cols), "int32"))).toEqual(Array.from(await cpu.read(cpu.argmax(c, rows, cols), "int32")))
    }
    const tie = gpu.upload(new Float32Array([1, 5, 5, 2, 5]))
    expect(Array.from(await gpu.read(gpu.argmax(tie, 1, 5), "int32"))).toEqual([1])
  })
})

describe("concatColumns, sliceColumns", () => {
  it("concatenates column blocks and slices them back, bit for bit", async () => {
    for (const rows of [1, 3, 127]) {
      const widths = [1, 3, 0, 785, 2]
      const parts = widths.map((w, i) => both(gpu, cpu, uniform(rows * w, -1, 1, rows * 10 + i)))
      const g = gpu.concatColumns(parts.map((p) => p[0]), rows, widths)
      const c = cpu.concatColumns(parts.map((p) => p[1]), rows, widths)
      expectClose(await gpu.read(g, "float32"), await cpu.read(c, "float32"), 0)
      const total = widths.reduce((a, b) => a + b, 0)
      for (const [start, width] of [[0, 1], [1, 3], [4, 785], [789, 2], [0, total], [5, 0]] as const) {
        expectClose(await gpu.read(gpu.sliceColumns(g, rows, total, start, width), "float32"), await cpu.read(cpu.sliceColumns(c, rows, total, start, width), "float32"), 0)
      }
    }
  })
})

describe("dropoutMask, bceWithLogits", () => {
  it("dropout masks equal the CPU's bit for bit (same hash, same seed)", async () => {
    for (const n of [...sizes, 100_003]) {
      for (const [p, seed] of [[0.5, 1], [0.1, 42], [0, 7], [1, 7], [0.999, 123_456_789], [0.3, 2 ** 32 - 1]] as const) {
        const g = await gpu.read(gpu.dropoutMask(n, p, seed), "float32")
        const c = await cpu.read(cpu.dropoutMask(n, p, seed), "float32")
        expectClose(g, c, 0)
      }
    }
    // Sanity: about p of the units are dropped.
    const m = await gpu.read(gpu.dropoutMask(100_000, 0.3, 5), "float32")
    const dropped = m.filter((v) => v === 0).length / m.length
    expect(Math.abs(dropped - 0.3)).toBeLessThan(0.01)
    expect(m.find((v) => v !== 0)).toBe(Math.fround(1 / 0.7))
  })

  it("bceWithLogits on random logits and targets, large logits and infinities", async () => {
    for (const n of sizes) {
      const [gx, cx] = both(gpu, cpu, uniform(n, -30, 30, n + 11))
      const [gy, cy] = both(gpu, cpu, uniform(n, 0, 1, n + 12))
      expectClose(await gpu.read(gpu.bceWithLogits(gx, gy, n), "float32"), await cpu.read(cpu.bceWithLogits(cx, cy, n), "float32"), 1e-5, 1e-7)
    }
    const x = new Float32Array([Infinity, Infinity, -Infinity, -Infinity, 0, 20, -20, -90, 90, 1e-3])
    const y = new Float32Array([1, 0, 0, 1, 0.5, 1, 0, 0, 1, 0.25])
    const [gx, cx] = both(gpu, cpu, x)
    const [gy, cy] = both(gpu, cpu, y)
    const out = await gpu.read(gpu.bceWithLogits(gx, gy, x.length), "float32")
    // e^−90 is subnormal in float32: the GPU flushes it to 0, hence the tiny atol.
    expectClose(out, await cpu.read(cpu.bceWithLogits(cx, cy, x.length), "float32"), 1e-5, 1e-37)
    expect(Array.from(out.slice(0, 4))).toEqual([0, Infinity, 0, Infinity])
  })
})

describe("adam", () => {
  const hypers: ReadonlyArray<AdamHyper> = [
    { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupledWeightDecay: 0, biasCorrection1: 1 - 0.9, biasCorrection2: 1 - 0.999 },
    { lr: 3e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.01, decoupledWeightDecay: 0, biasCorrection1: 1 - 0.8 ** 5, biasCorrection2: 1 - 0.99 ** 5 },
    { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupledWeightDecay: 0.1, biasCorrection1: 1 - 0.9 ** 3, biasCorrection2: 1 - 0.999 ** 3 }
  ]
  it("matches the CPU's fused Adam/AdamW step (param, m, v)", async () => {
    for (const h of hypers) {
      for (const n of sizes) {
        const [gp, cp] = both(gpu, cpu, uniform(n, -1, 1, n))
        const [gg, cg] = both(gpu, cpu, uniform(n, -1, 1, n + 1))
        const [gm, cm] = both(gpu, cpu, uniform(n, -0.1, 0.1, n + 2))
        const [gv, cv] = both(gpu, cpu, uniform(n, 0, 0.01, n + 3))
        const go = gpu.adam(gp, gg, gm, gv, n, h)
        const co = cpu.adam(cp, cg, cm, cv, n, h)
        for (let i = 0; i < 3; i++) expectClose(await gpu.read(go[i]!, "float32"), await cpu.read(co[i]!, "float32"), 1e-5, 1e-7)
      }
    }
  })
})
