/**
 * The fused kernels against the CPU reference: linear (bias, ReLU), matmul with row sums,
 * cross-entropy and its backward, batch norm (train with and without affine and running
 * statistics, backward, eval), dropout in one pass, gathering rows and packed bytes; and
 * the deferred matmul / batch norm that fold a following ReLU (or ReLU backward) into
 * their store without changing any result or the order of work.
 */
import { CpuBackend, type Storage } from "@effect-nn/tensor"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { MatmulVariant, WebGpuBackend } from "../src/index.ts"
import { both, expectClose, makeGpu, uniform } from "./helpers.ts"

const cpu = new CpuBackend()
const gpus = new Map<MatmulVariant, WebGpuBackend>()
let gpu: WebGpuBackend

beforeAll(async () => {
  gpu = await makeGpu()
  gpus.set("subgroup", gpu)
  gpus.set("tiled", await makeGpu({ matmulVariant: "tiled" }))
}, 60_000)
afterAll(() => {
  for (const g of gpus.values()) g.destroy()
})

const f32 = async (b: WebGpuBackend | CpuBackend, s: Storage): Promise<Float32Array> => (await b.read(s, "float32")) as Float32Array
const i32 = async (b: WebGpuBackend | CpuBackend, s: Storage): Promise<Int32Array> => (await b.read(s, "int32")) as Int32Array

describe("linear", () => {
  const shapes: ReadonlyArray<readonly [number, number, number]> = [[1, 1, 1], [3, 5, 2], [64, 784, 128], [17, 33, 65], [64, 128, 10], [5, 0, 3]]
  for (const variant of ["subgroup", "tiled"] as const) {
    for (const [rows, inF, outF] of shapes) {
      it(`${variant}: [${rows}, ${inF}] · [${outF}, ${inF}]ᵀ with and without bias and ReLU`, async () => {
        const g = gpus.get(variant)!
        const [gx, cx] = both(g, cpu, uniform(rows * inF, -1, 1, rows + inF))
        const [gw, cw] = both(g, cpu, uniform(outF * inF, -1, 1, outF * 3 + inF))
        const [gb, cb] = both(g, cpu, uniform(outF, -1, 1, outF + 11))
        for (const bias of [true, false]) {
          for (const relu of [false, true]) {
            const spec = { rows, inFeatures: inF, outFeatures: outF, relu }
            const expected = await f32(cpu, cpu.linear(cx, cw, bias ? cb : undefined, spec))
            const actual = await f32(g, g.linear(gx, gw, bias ? gb : undefined, spec))
            expectClose(actual, expected, 1e-4, 1e-5 * Math.sqrt(inF + 1))
          }
        }
      })
    }
  }
})

describe("linear with NaN inputs", () => {
  // torch.relu propagates NaN: a NaN in an input row makes that row's outputs NaN after
  // the bias and ReLU, whether the ReLU is in the linear kernel or joins it afterwards.
  const [rows, inF, outF] = [6, 12, 20]
  const x = uniform(rows * inF, -1, 1, 21)
  x[2 * inF + 5] = NaN
  const nanRow = (out: Float32Array): boolean => out.slice(2 * outF, 3 * outF).every((v) => Number.isNaN(v))
  const otherRowsFinite = (out: Float32Array): boolean => out.every((v, i) => Math.floor(i / outF) === 2 || Number.isFinite(v))
  for (const variant of ["subgroup", "tiled"] as const) {
    it(`${variant}: linear+bias+ReLU keeps the NaN row NaN, as the CPU`, async () => {
      const g = gpus.get(variant)!
      const [gx, cx] = both(g, cpu, x)
      const [gw, cw] = both(g, cpu, uniform(outF * inF, -1, 1, 22))
      const [gb, cb] = both(g, cpu, uniform(outF, -1, 1, 23))
      const spec = { rows, inFeatures: inF, outFeatures: outF, relu: true }
      const expected = await f32(cpu, cpu.linear(cx, cw, cb, spec))
      expect(nanRow(expected)).toBe(true)
      expect(otherRowsFinite(expected)).toBe(true)
      const actual = await f32(g, g.linear(gx, gw, gb, spec))
      expectClose(actual, expected, 1e-4, 1e-5 * Math.sqrt(inF + 1))
      expect(nanRow(actual)).toBe(true)
      // relu(linear) with the ReLU folded into the deferred linear's epilogue.
      const lin = { ...spec, relu: false }
      const d0 = g.stats().dispatches
      const y = g.linear(gx, gw, gb, lin)
      const r = g.unary("relu", y, rows * outF, 0)
      expect(g.stats().dispatches - d0).toBe(1)
      const folded = await f32(g, r)
      expectClose(folded, expected, 1e-4, 1e-5 * Math.sqrt(inF + 1))
      expect(nanRow(folded)).toBe(true)
      expect(nanRow(await f32(g, y))).toBe(true)
    })
  }
})

describe("matmulRowSums", () => {
  for (const variant of ["subgroup", "tiled"] as const) {
    for (const [m, k, n] of [[1, 1, 1], [128, 64, 784], [10, 64, 128], [33, 17, 65], [7, 3, 1], [20, 8, 40], [4, 12, 5]] as const) {
      it(`${variant}: ${m}×${k}×${n}, all transposes`, async () => {
        const g = gpus.get(variant)!
        const [ga, ca] = both(g, cpu, uniform(m * k, -1, 1, m + k))
        const [gb, cb] = both(g, cpu, uniform(k * n, -1, 1, k * 5 + n))
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const spec = { m, k, n, transA, transB }
            const [ec, es] = cpu.matmulRowSums(ca, cb, spec)
            const [ac, as] = g.matmulRowSums(ga, gb, spec)
            expectClose(await f32(g, ac), await f32(cpu, ec), 1e-4, 1e-5 * Math.sqrt(k))
            expectClose(await f32(g, as), await f32(cpu, es), 1e-4, 1e-5 * Math.sqrt(k))
          }
        }
      })
    }
  }
})

describe("crossEntropy", () => {
  it("stays exact for huge logits: [[1e8, 1e8]] gives ln 2", async () => {
    const [gx] = both(gpu, cpu, new Float32Array([1e8, 1e8]))
    const [gt] = both(gpu, cpu, new Int32Array([1]))
    expectClose(await f32(gpu, gpu.crossEntropy(gx, gt, 1, 2)[0]), [Math.LN2], 1e-6)
  })
  for (const [rows, cols] of [[1, 1], [3, 4], [64, 10], [1000, 10], [5, 300]] as const) {
    it(`[${rows}, ${cols}]: loss, row statistics and the gradient (targets out of range included)`, async () => {
      const [gx, cx] = both(gpu, cpu, uniform(rows * cols, -8, 8, rows * cols))
      const targets = Int32Array.from({ length: rows }, (_, r) => (r % 7 === 6 ? -1 : r % 11 === 10 ? cols : (r * 3) % cols))
      const [gt, ct] = both(gpu, cpu, targets)
      const [el, ee] = cpu.crossEntropy(cx, ct, rows, cols)
      const [al, ae] = gpu.crossEntropy(gx, gt, rows, cols)
      expectClose(await f32(gpu, al), await f32(cpu, el), 1e-5, 1e-6)
      expectClose(await f32(gpu, ae), await f32(cpu, ee), 1e-5, 1e-6)
      const [gg, cg] = both(gpu, cpu, new Float32Array([0.75]))
      expectClose(await f32(gpu, gpu.crossEntropyBackward(gx, ae, gt, gg, rows, cols)), await f32(cpu, cpu.crossEntropyBackward(cx, ee, ct, cg, rows, cols)), 1e-4, 1e-7)
    })
  }
})

describe("batch norm", () => {
  for (const [rows, cols] of [[2, 1], [64, 128], [7, 300], [1024, 10]] as const) {
    for (const affine of [true, false]) {
      for (const running of [true, false]) {
        it(`[${rows}, ${cols}], affine ${affine}, running statistics ${running}: forward, backward, eval`, async () => {
          const [gx, cx] = both(gpu, cpu, uniform(rows * cols, -3, 5, rows + cols))
          const [gw, cw] = both(gpu, cpu, uniform(cols, 0.5, 1.5, cols))
          const [gb, cb] = both(gpu, cpu, uniform(cols, -1, 1, cols + 1))
          const [grm, crm] = both(gpu, cpu, uniform(cols, -1, 1, cols + 2))
          const [grv, crv] = both(gpu, cpu, uniform(cols, 0.5, 2, cols + 3))
          const [gc, cc] = both(gpu, cpu, new Int32Array([41]))
          const spec = { rows, cols, eps: 1e-5 }
          const e = cpu.batchNormTrain(cx, affine ? cw : undefined, affine ? cb : undefined, running ? { mean: crm, variance: crv, count: cc, momentum: 0.1 } : undefined, spec)
          const a = gpu.batchNormTrain(gx, affine ? gw : undefined, affine ? gb : undefined, running ? { mean: grm, variance: grv, count: gc, momentum: 0.1 } : undefined, spec)
          expectClose(await f32(gpu, a.output), await f32(cpu, e.output), 1e-4, 1e-4)
          expectClose(await f32(gpu, a.mean), await f32(cpu, e.mean), 1e-5, 1e-5)
          expectClose(await f32(gpu, a.invStd), await f32(cpu, e.invStd), 1e-4, 1e-5)
          expect(a.running === undefined).toBe(!running)
          if (a.running !== undefined && e.running !== undefined) {
            expectClose(await f32(gpu, a.running.mean), await f32(cpu, e.running.mean), 1e-5, 1e-5)
            expectClose(await f32(gpu, a.running.variance), await f32(cpu, e.running.variance), 1e-4, 1e-5)
            expect(Array.from(await i32(gpu, a.running.count))).toEqual([42])
          }
          const [gg, cg] = both(gpu, cpu, uniform(rows * cols, -1, 1, rows * 7 + cols))
          const [edx, edw, edb] = cpu.batchNormBackward(cg, cx, e.mean, e.invStd, affine ? cw : undefined, spec)
          const [adx, adw, adb] = gpu.batchNormBackward(gg, gx, a.mean, a.invStd, affine ? gw : undefined, spec)
          expectClose(await f32(gpu, adx), await f32(cpu, edx), 1e-3, 1e-4)
          expect(adw === undefined).toBe(!affine)
          if (adw !== undefined && edw !== undefined && adb !== undefined && edb !== undefined) {
            expectClose(await f32(gpu, adw), await f32(cpu, edw), 1e-3, 1e-4)
            expectClose(await f32(gpu, adb), await f32(cpu, edb), 1e-4, 1e-4)
          }
          const ee = cpu.batchNormEval(cx, crm, crv, affine ? cw : undefined, affine ? cb : undefined, spec)
          const ae = gpu.batchNormEval(gx, grm, grv, affine ? gw : undefined, affine ? gb : undefined, spec)
          expectClose(await f32(gpu, ae), await f32(cpu, ee), 1e-5, 1e-5)
        })
      }
    }
  }
})

describe("dropoutApply", () => {
  it("equals x times dropoutMask for the same seed (and is its own backward)", async () => {
    for (const [n, p, seed] of [[1, 0.5, 1], [785, 0.2, 7], [10_000, 0.5, 123456789], [333, 0.9, 4]] as const) {
      const [gx, cx] = both(gpu, cpu, uniform(n, -2, 2, n))
      const expected = await f32(cpu, cpu.binary("mul", cx, cpu.dropoutMask(n, p, seed), [n], [1], [1]))
      expectClose(await f32(cpu, cpu.dropoutApply(cx, n, p, seed)), expected, 0)
      expectClose(await f32(gpu, gpu.dropoutApply(gx, n, p, seed)), expected, 0)
    }
  })
})

describe("gathering", () => {
  it("gatherRows copies float32 and int32 rows by index", async () => {
    const [ga, ca] = both(gpu, cpu, Int32Array.from({ length: 50 * 3 }, (_, i) => i * 7 - 100))
    const [gi, ci] = both(gpu, cpu, new Int32Array([49, 0, 7, 7, 3]))
    expect(Array.from(await i32(gpu, gpu.gatherRows(ga, gi, 5, 3)))).toEqual(Array.from(await i32(cpu, cpu.gatherRows(ca, ci, 5, 3))))
    const [gf, cf] = both(gpu, cpu, uniform(50, -1, 1, 3))
    expectClose(await f32(gpu, gpu.gatherRows(gf, gi, 5, 1)), await f32(cpu, cpu.gatherRows(cf, ci, 5, 1)), 0)
  })

  for (const features of [784, 7, 4, 1]) {
    it(`gatherBytes maps packed bytes through the table (${features} bytes a sample), bit-identical to the CPU`, async () => {
      const count = 37
      const bytes = Uint8Array.from({ length: count * features + 3 }, (_, i) => (i * 131 + 17) % 256)
      const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4)
      padded.set(bytes)
      const packed = new Int32Array(padded.buffer)
      const [gd, cd] = both(gpu, cpu, packed)
      const [gt, ct] = both(gpu, cpu, Float32Array.from({ length: 256 }, (_, p) => Math.fround((p / 255 - 0.1307) / 0.3081)))
      const [gi, ci] = both(gpu, cpu, new Int32Array([36, 0, 5, 5, 20, 1]))
      const expected = await f32(cpu, cpu.gatherBytes(cd, ci, ct, 6, features))
      expect(expected[0]).toBe(Math.fround((bytes[36 * features]! / 255 - 0.1307) / 0.3081))
      expectClose(await f32(gpu, gpu.gatherBytes(gd, gi, gt, 6, features)), expected, 0)
    })
  }
})

describe("deferred kernels fold a following ReLU", () => {
  it("relu(matmul) and relu(linear): one dispatch, same values, the raw result intact", async () => {
    const [ga, ca] = both(gpu, cpu, uniform(64 * 32, -1, 1, 1))
    const [gb, cb] = both(gpu, cpu, uniform(32 * 48, -1, 1, 2))
    const [gbias, cbias] = both(gpu, cpu, uniform(48, -1, 1, 3))
    gpu.flush()
    const spec = { m: 64, k: 32, n: 48, transA: false, transB: false }
    const d0 = gpu.stats().dispatches
    const raw = gpu.matmul(ga, gb, spec)
    const act = gpu.unary("relu", raw, 64 * 48, 0)
    expect(gpu.stats().dispatches - d0).toBe(1)
    const eraw = cpu.matmul(ca, cb, spec)
    expectClose(await f32(gpu, raw), await f32(cpu, eraw), 1e-5, 1e-5)
    expectClose(await f32(gpu, act), await f32(cpu, cpu.unary("relu", eraw, 64 * 48, 0)), 1e-5, 1e-5)
    const [gw, cw] = both(gpu, cpu, uniform(48 * 32, -1, 1, 4))
    const lin = { rows: 64, inFeatures: 32, outFeatures: 48, relu: false }
    const d1 = gpu.stats().dispatches
    const y = gpu.linear(ga, gw, gbias, lin)
    const r = gpu.unary("relu", y, 64 * 48, 0)
    expect(gpu.stats().dispatches - d1).toBe(1)
    const ey = cpu.linear(ca, cw, cbias, lin)
    expectClose(await f32(gpu, y), await f32(cpu, ey), 1e-5, 1e-5)
    expectClose(await f32(gpu, r), await f32(cpu, cpu.unary("relu", ey, 64 * 48, 0)), 1e-5, 1e-5)
  })

  it("reluBackward(x, matmul) folds the mask; any other op first encodes the matmul as it was", async () => {
    const [gg, cg] = both(gpu, cpu, uniform(16 * 8, -1, 1, 5))
    const [gw, cw] = both(gpu, cpu, uniform(8 * 24, -1, 1, 6))
    const [gx, cx] = both(gpu, cpu, uniform(16 * 24, -1, 1, 7))
    const spec = { m: 16, k: 8, n: 24, transA: false, transB: false }
    const d0 = gpu.stats().dispatches
    const dh = gpu.matmul(gg, gw, spec)
    const masked = gpu.reluBackward(gx, dh, 16 * 24)
    expect(gpu.stats().dispatches - d0).toBe(1)
    const edh = cpu.matmul(cg, cw, spec)
    expectClose(await f32(gpu, masked), await f32(cpu, cpu.reluBackward(cx, edh, 16 * 24)), 1e-5, 1e-5)
    // A ReLU of something else, a matmul read back at once, an upload after a matmul.
    const m2 = gpu.matmul(gg, gw, spec)
    const other = gpu.unary("relu", gx, 16 * 24, 0)
    expectClose(await f32(gpu, other), await f32(cpu, cpu.unary("relu", cx, 16 * 24, 0)), 0)
    expectClose(await f32(gpu, m2), await f32(cpu, edh), 1e-5, 1e-5)
    const m3 = gpu.matmul(gg, gw, spec)
    gpu.release(gg)
    const reused = gpu.upload(new Float32Array(16 * 8).fill(9))
    expectClose(await f32(gpu, m3), await f32(cpu, edh), 1e-5, 1e-5)
    expect((await f32(gpu, reused))[0]).toBe(9)
  })

  it("an input released after the kernel was deferred: the ReLU runs on its own, never in a buffer the kernel reads", async () => {
    // The released operands' buffers go back to the pool; the fused output could be one of
    // them, bound read-only and writable in one dispatch (a validation error).
    for (const kind of ["matmul", "add"] as const) {
      const n = 64
      const a = uniform(n * n, -1, 1, 21)
      const b = uniform(n * n, -1, 1, 22)
      const [ga, ca] = both(gpu, cpu, a)
      const [gb, cb] = both(gpu, cpu, b)
      const spec = { m: n, k: n, n, transA: false, transB: false }
      const c = kind === "matmul" ? gpu.matmul(ga, gb, spec) : gpu.binary("add", ga, gb, [n * n], [1], [1])
      gpu.release(ga)
      gpu.release(gb)
      const y = gpu.unary("relu", c, n * n, 0)
      const expected = cpu.unary("relu", kind === "matmul" ? cpu.matmul(ca, cb, spec) : cpu.binary("add", ca, cb, [n * n], [1], [1]), n * n, 0)
      expectClose(await f32(gpu, y), await f32(cpu, expected), 1e-5, 1e-5)
      gpu.release(c)
      gpu.release(y)
    }
  })

  it("relu(a + b) for same-shape a, b joins the add (a residual merge)", async () => {
    const [ga, ca] = both(gpu, cpu, uniform(64 * 256 + 3, -1, 1, 9))
    const [gb, cb] = both(gpu, cpu, uniform(64 * 256 + 3, -1, 1, 10))
    const n = 64 * 256 + 3
    const d0 = gpu.stats().dispatches
    const sum = gpu.binary("add", ga, gb, [n], [1], [1])
    const r = gpu.unary("relu", sum, n, 0)
    expect(gpu.stats().dispatches - d0).toBe(1)
    const e = cpu.binary("add", ca, cb, [n], [1], [1])
    expectClose(await f32(gpu, sum), await f32(cpu, e), 0)
    expectClose(await f32(gpu, r), await f32(cpu, cpu.unary("relu", e, n, 0)), 0)
    // A broadcast add is not deferred and still right.
    const [gbias, cbias] = both(gpu, cpu, uniform(256, -1, 1, 11))
    const [gm, cm] = both(gpu, cpu, uniform(64 * 256, -1, 1, 12))
    expectClose(await f32(gpu, gpu.binary("add", gm, gbias, [64, 256], [256, 1], [0, 1])), await f32(cpu, cpu.binary("add", cm, cbias, [64, 256], [256, 1], [0, 1])), 0)
  })

  it("relu(a + b) and relu(batchNormTrain output) keep NaN NaN in the folded ReLU, as the CPU", async () => {
    const n = 64
    const a = uniform(n, -1, 1, 31)
    a.set([NaN, -1, 0, -0], 0)
    const b = new Float32Array(n).fill(0)
    b[1] = 3 // a + b = 2 at 1
    const [ga, ca] = both(gpu, cpu, a)
    const [gb, cb] = both(gpu, cpu, b)
    const d0 = gpu.stats().dispatches
    const r = gpu.unary("relu", gpu.binary("add", ga, gb, [n], [1], [1]), n, 0)
    expect(gpu.stats().dispatches - d0).toBe(1)
    const er = await f32(cpu, cpu.unary("relu", cpu.binary("add", ca, cb, [n], [1], [1]), n, 0))
    expect(Array.from(er.slice(0, 4))).toEqual([NaN, 2, 0, 0])
    const gr = await f32(gpu, r)
    expectClose(gr, er, 0)
    expect(Number.isNaN(gr[0])).toBe(true)
    // Batch norm: a NaN in column 3 makes that column's mean, and so its outputs, NaN.
    const x = uniform(8 * 5, -2, 2, 32)
    x[4 * 5 + 3] = NaN
    const [gx, cx] = both(gpu, cpu, x)
    const spec = { rows: 8, cols: 5, eps: 1e-5 }
    const d1 = gpu.stats().dispatches
    const bn = gpu.batchNormTrain(gx, undefined, undefined, undefined, spec)
    const br = gpu.unary("relu", bn.output, 8 * 5, 0)
    expect(gpu.stats().dispatches - d1).toBe(1)
    const eb = await f32(cpu, cpu.unary("relu", cpu.batchNormTrain(cx, undefined, undefined, undefined, spec).output, 8 * 5, 0))
    const gbr = await f32(gpu, br)
    expectClose(gbr, eb, 1e-4, 1e-4)
    for (let row = 0; row < 8; row++) expect(Number.isNaN(gbr[row * 5 + 3])).toBe(true)
  })

  it("relu(batchNormTrain output) joins the batch-norm kernel", async () => {
    const [gx, cx] = both(gpu, cpu, uniform(32 * 20, -2, 2, 8))
    const spec = { rows: 32, cols: 20, eps: 1e-5 }
    const d0 = gpu.stats().dispatches
    const a = gpu.batchNormTrain(gx, undefined, undefined, undefined, spec)
    const r = gpu.unary("relu", a.output, 32 * 20, 0)
    expect(gpu.stats().dispatches - d0).toBe(1)
    const e = cpu.batchNormTrain(cx, undefined, undefined, undefined, spec)
    expectClose(await f32(gpu, a.output), await f32(cpu, e.output), 1e-4, 1e-4)
    expectClose(await f32(gpu, r), await f32(cpu, cpu.unary("relu", e.output, 32 * 20, 0)), 1e-4, 1e-4)
  })
})

describe("adamMany", () => {
  it("updates many parameters like one adam each (groups of ⌊bindings/7⌋ in one dispatch)", async () => {
    const sizes = [1, 3, 785, 100_352, 128, 10, 0, 257]
    const hyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupledWeightDecay: 0, biasCorrection1: 1 - 0.9 ** 3, biasCorrection2: 1 - 0.999 ** 3 }
    const gpuIn = sizes.map((n, i) => [0, 1, 2, 3].map((k) => gpu.upload(uniform(n, k === 3 ? 0 : -1, 1, i * 10 + k))))
    const cpuIn = sizes.map((n, i) => [0, 1, 2, 3].map((k) => cpu.upload(uniform(n, k === 3 ? 0 : -1, 1, i * 10 + k))))
    gpu.flush()
    const d0 = gpu.stats().dispatches
    const actual = gpu.adamMany(sizes.map((n, i) => [gpuIn[i]![0]!, gpuIn[i]![1]!, gpuIn[i]![2]!, gpuIn[i]![3]!, n] as const), hyper)
    const perDispatch = Math.min(8, Math.floor(gpu.device.limits.maxStorageBuffersPerShaderStage / 7))
    if (perDispatch >= 2) expect(gpu.stats().dispatches - d0).toBeLessThan(sizes.length)
    for (let i = 0; i < sizes.length; i++) {
      const e = cpu.adam(cpuIn[i]![0]!, cpuIn[i]![1]!, cpuIn[i]![2]!, cpuIn[i]![3]!, sizes[i]!, hyper)
      for (let k = 0; k < 3; k++) expectClose(await f32(gpu, actual[i]![k]!), await f32(cpu, e[k]!), 1e-5, 1e-7)
    }
  })
})
