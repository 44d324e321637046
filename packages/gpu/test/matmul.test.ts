/** Matmul against the CPU reference: both kernels, all four transpose combinations, odd sizes. */
import { CpuBackend, type MatmulSpec } from "@effect-nn/tensor"
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

const shapes: ReadonlyArray<readonly [number, number, number]> = [
  [1, 1, 1],
  [3, 3, 3],
  [1, 785, 1],
  [64, 784, 128],
  [127, 785, 3],
  [785, 3, 127],
  [33, 17, 65],
  [17, 1, 40],
  // m % 4 = 0 and k % 4 = 0 but m not a multiple of the 16-row subgroup block: the vec4 row
  // quads of a transposed A are clamped at the edge (and 4 rows: a single quad).
  [20, 8, 40],
  [4, 12, 5],
  [36, 6, 9]
]
const transposes: ReadonlyArray<readonly [boolean, boolean]> = [[false, false], [true, false], [false, true], [true, true]]

/** |C_gpu − C_cpu| ≤ 1e-4·|C| + 1e-5·Σ_p |op(A)_ip·op(B)_pj| (float32 accumulation). */
const check = async (gpu: WebGpuBackend, spec: MatmulSpec): Promise<void> => {
  const { m, k, n, transA, transB } = spec
  const a = uniform(m * k, -1, 1, m * 7 + k)
  const b = uniform(k * n, -1, 1, n * 13 + k)
  const [ga, ca] = both(gpu, cpu, a)
  const [gb, cb] = both(gpu, cpu, b)
  const expected = await cpu.read(cpu.matmul(ca, cb, spec), "float32")
  const actual = await gpu.read(gpu.matmul(ga, gb, spec), "float32")
  const scale = (i: number): number => {
    const row = Math.floor(i / n)
    const col = i % n
    let s = 0
    for (let p = 0; p < k; p++) {
      const av = transA ? a[p * m + row]! : a[row * k + p]!
      const bv = transB ? b[col * k + p]! : b[p * n + col]!
      s += Math.abs(av * bv)
    }
    return 1e-5 * s
  }
  expectClose(actual, expected, 1e-4, scale)
  for (const s of [ga, gb]) gpu.release(s)
}

for (const variant of ["subgroup", "tiled"] as const) {
  describe(`matmul (${variant} kernel)`, () => {
    it("is the kernel in use", () => {
      expect(backends.get(variant)!.matmulVariant).toBe(variant)
    })
    for (const [m, k, n] of shapes) {
      it(`${m}x${k}x${n}, all transposes`, async () => {
        const gpu = backends.get(variant)!
        for (const [transA, transB] of transposes) await check(gpu, { m, k, n, transA, transB })
      })
    }
    it("k = 0 gives zeros; m or n = 0 gives an empty result", async () => {
      const gpu = backends.get(variant)!
      const a = gpu.alloc(0)
      expect(Array.from(await gpu.read(gpu.matmul(a, a, { m: 2, k: 0, n: 3, transA: false, transB: false }), "float32"))).toEqual([0, 0, 0, 0, 0, 0])
      expect((await gpu.read(gpu.matmul(a, a, { m: 0, k: 4, n: 3, transA: false, transB: false }), "float32")).length).toBe(0)
    })
  })
}

describe("tiled kernel register blocks", () => {
  const blocks = [
    { rowsPerThread: 8, colsPerThread: 4 },
    { rowsPerThread: 4, colsPerThread: 8 },
    { rowsPerThread: 8, colsPerThread: 8 }
  ] as const
  it("every block is close to the CPU and bit-identical to the default 4×4 (products, bias + ReLU, row sums)", async () => {
    const gpu = backends.get("tiled")!
    const shapes: ReadonlyArray<readonly [number, number, number]> = [[130, 33, 70], [17, 1, 129], [64, 784, 128]]
    try {
      for (const [m, k, n] of shapes) {
        for (const [transA, transB] of transposes) {
          const spec = { m, k, n, transA, transB }
          const a = gpu.upload(uniform(m * k, -1, 1, m + k))
          const b = gpu.upload(uniform(k * n, -1, 1, n + k))
          const bias = gpu.upload(uniform(n, -1, 1, n))
          const run = async (): Promise<Array<number>> => {
            const c = gpu.matmul(a, b, spec)
            const [rc, rs] = gpu.matmulRowSums(a, b, spec)
            const out = [...(await gpu.read(c, "float32")), ...(await gpu.read(rc, "float32")), ...(await gpu.read(rs, "float32"))]
            if (!transA && transB) {
              const y = gpu.linear(a, b, bias, { rows: m, inFeatures: k, outFeatures: n, relu: true })
              out.push(...(await gpu.read(y, "float32")))
              gpu.release(y)
            }
            for (const s of [c, rc, rs]) gpu.release(s)
            return out
          }
          gpu.useTiledConfig({ rowsPerThread: 4, colsPerThread: 4 })
          const reference = await run()
          for (const block of blocks) {
            gpu.useTiledConfig(block)
            expect(await run()).toEqual(reference)
          }
          for (const s of [a, b, bias]) gpu.release(s)
        }
        gpu.useTiledConfig({ rowsPerThread: 8, colsPerThread: 8 })
        await check(gpu, { m, k, n, transA: true, transB: false })
      }
    } finally {
      gpu.useTiledConfig({ rowsPerThread: 4, colsPerThread: 4 })
    }
  }, 60_000)
})
