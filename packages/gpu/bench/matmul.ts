/**
 * Square matmul throughput on the WebGPU backend: GFLOP/s (2·n³ per product) for
 * n = 256, 512, 1024, the median of several runs, each run = one dispatch plus reading C
 * back (median and best, since a shared 2-core machine is noisy). Then the effect of the
 * transposes at n = 512, and the portable tiled kernel for comparison. Run: `XDG_RUNTIME_DIR=/tmp npx tsx packages/gpu/bench/matmul.ts`.
 */
import { Effect } from "effect"
import { acquireWebGpu, type MatmulVariant, type WebGpuBackend } from "../src/index.ts"

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() * 2 - 1)

/** [median, best] GFLOP/s of `runs` products of n×n matrices. */
const measure = async (gpu: WebGpuBackend, n: number, transA: boolean, transB: boolean, runs: number): Promise<readonly [number, number]> => {
  const a = gpu.upload(random(n * n))
  const b = gpu.upload(random(n * n))
  const spec = { m: n, k: n, n, transA, transB }
  const warm = gpu.matmul(a, b, spec)
  await gpu.read(warm, "float32")
  gpu.release(warm)
  const times: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    const c = gpu.matmul(a, b, spec)
    await gpu.read(c, "float32")
    times.push(performance.now() - t0)
    gpu.release(c)
  }
  gpu.release(a)
  gpu.release(b)
  const gflops = (ms: number): number => (2 * n ** 3) / (ms / 1000) / 1e9
  return [gflops(median(times)), gflops(Math.min(...times))]
}

const runsFor = (n: number): number => (n <= 256 ? 21 : n <= 512 ? 11 : 9)
const fmt = ([med, best]: readonly [number, number]): string => `${med.toFixed(1).padStart(6)} GFLOP/s median, ${best.toFixed(1).padStart(6)} best`

const main = async (): Promise<void> => {
  const variants: ReadonlyArray<MatmulVariant | undefined> = [undefined, "tiled"]
  for (const variant of variants) {
    const gpu = await Effect.runPromise(acquireWebGpu(variant === undefined ? {} : { matmulVariant: variant }))
    console.log(`${gpu.description} — ${gpu.matmulVariant} kernel`)
    for (const n of [256, 512, 1024]) {
      console.log(`  ${String(n).padStart(4)}×${n}×${n}  A·B   ${fmt(await measure(gpu, n, false, false, runsFor(n)))}`)
    }
    const n = 512
    for (const [ta, tb, name] of [[true, false, "Aᵀ·B "], [false, true, "A·Bᵀ "], [true, true, "Aᵀ·Bᵀ"]] as const) {
      console.log(`  ${n}×${n}×${n}  ${name} ${fmt(await measure(gpu, n, ta, tb, runsFor(n)))}`)
    }
    gpu.destroy()
  }
}

await main()
