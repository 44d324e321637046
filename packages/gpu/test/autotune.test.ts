import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises"
import { homedir, tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { adapterKey, autotuneVersion, candidateConfigs, candidateTiledConfigs, clearMargin, fileStore, forgetTunings, measureMatmulConfigs, tuneMatmul, type TuneStore } from "../src/autotune.ts"
import type { WebGpuBackend } from "../src/index.ts"
import { makeGpu, uniform } from "./helpers.ts"

let gpu: WebGpuBackend
beforeAll(async () => {
  gpu = await makeGpu({ autotune: "off" })
})
afterAll(() => gpu.destroy())

/** A store in memory that counts its writes. */
const memoryStore = (initial?: string): TuneStore & { text: string | undefined; writes: number } => {
  const store = {
    text: initial,
    writes: 0,
    read: async () => store.text,
    write: async (text: string) => {
      store.text = text
      store.writes++
    }
  }
  return store
}

describe("matmul autotune", () => {
  it("offers only workgroup shapes within maxComputeInvocationsPerWorkgroup", () => {
    expect(candidateConfigs(256).map((c) => `${c.subgroupRows}x${c.subgroupCols}`)).toEqual(["1x1", "1x2", "2x1", "2x2", "2x4", "4x2", "4x4"])
    expect(candidateConfigs(32).map((c) => `${c.subgroupRows}x${c.subgroupCols}`)).toEqual(["1x1", "1x2", "2x1", "2x2"])
    expect(candidateConfigs(8)).toHaveLength(1)
  })

  it("every candidate gives bit-identical products (the choice changes speed, never results)", async () => {
    if (gpu.matmulVariant !== "subgroup") return
    const specs = [
      { m: 70, k: 36, n: 100, transA: false, transB: false },
      { m: 20, k: 8, n: 40, transA: true, transB: false },
      // B read from a texture (the "auto" policy's threshold): a fixed workgroup shape whatever the tuning.
      { m: 256, k: 1024, n: 260, transA: false, transB: true }
    ]
    for (const spec of specs) {
      const a = gpu.upload(uniform(spec.m * spec.k, -1, 1, spec.m))
      const b = gpu.upload(uniform(spec.k * spec.n, -1, 1, spec.n))
      const results: Array<Float32Array> = []
      // Three shapes of workgroup (each a pipeline compile, slow on lavapipe with a cold cache).
      for (const config of [{ subgroupRows: 1, subgroupCols: 1 }, { subgroupRows: 2, subgroupCols: 4 }, { subgroupRows: 4, subgroupCols: 4 }]) {
        gpu.useMatmulConfig(config)
        const c = gpu.matmul(a, b, spec)
        results.push(await gpu.read(c, "float32") as Float32Array)
        gpu.release(c)
      }
      for (const r of results) expect(Array.from(r)).toEqual(Array.from(results[0]!))
      gpu.release(a)
      gpu.release(b)
    }
  })

  // Two candidates and one small shape keep the pipeline compiles (the slow part) few.
  const quick = { candidates: [{ subgroupRows: 1, subgroupCols: 1 }, { subgroupRows: 2, subgroupCols: 2 }], shapes: [{ m: 64, k: 128, n: 64, transA: false, transB: false }], runs: 2 }

  it("measures every candidate, selects the fastest, caches it, and reuses the cache", async () => {
    if (gpu.matmulVariant !== "subgroup") return
    forgetTunings()
    const store = memoryStore()
    expect(await tuneMatmul(gpu, store, false, quick)).toBeUndefined()
    expect(store.writes).toBe(0)

    const measured = await tuneMatmul(gpu, store, true, quick)
    expect(measured?.cached).toBe(false)
    if (measured?.kernel !== "subgroup") throw new Error("expected a tuning of the subgroup kernel")
    const candidates = quick.candidates
    expect(Object.keys(measured!.measuredMs).sort()).toEqual(candidates.map((c) => `${c.subgroupRows}x${c.subgroupCols}`).sort())
    // The fastest, unless the default 2×2 is within the margin of it.
    const fastest = Math.min(...Object.values(measured!.measuredMs))
    const chosen = measured!.measuredMs[`${measured!.config.subgroupRows}x${measured!.config.subgroupCols}`]!
    if (measured!.measuredMs["2x2"]! <= fastest / (1 - clearMargin)) expect(measured!.config).toEqual({ subgroupRows: 2, subgroupCols: 2 })
    else expect(chosen).toBe(fastest)
    expect(gpu.matmulConfig).toEqual(measured!.config)
    expect(store.writes).toBe(1)
    const file = JSON.parse(store.text!)
    expect(file.adapters[adapterKey(gpu)]).toMatchObject(measured!.config)

    // A new process (memory forgotten) reads the cache instead of measuring.
    forgetTunings()
    gpu.useMatmulConfig({ subgroupRows: 1, subgroupCols: 1 })
    const cached = await tuneMatmul(gpu, store, true, quick)
    expect(cached).toEqual({ ...measured!, cached: true })
    expect(gpu.matmulConfig).toEqual(measured!.config)
    expect(store.writes).toBe(1)
  }, 60_000)

  it("a malformed or foreign cache counts as none and is replaced", async () => {
    if (gpu.matmulVariant !== "subgroup") return
    for (const text of ["{not json", JSON.stringify({ version: autotuneVersion - 1, adapters: {} }), JSON.stringify({ version: autotuneVersion, adapters: { [adapterKey(gpu)]: { subgroupRows: 3, subgroupCols: 3, measuredMs: {} } } })]) {
      forgetTunings()
      const store = memoryStore(text)
      expect(await tuneMatmul(gpu, store, false, quick)).toBeUndefined()
      const t = await tuneMatmul(gpu, store, true, quick)
      expect(t?.cached).toBe(false)
      expect(JSON.parse(store.text!).adapters[adapterKey(gpu)]).toMatchObject(t!.config)
    }
  }, 60_000)

  it("one malformed entry loses only itself: other adapters' tunings are kept and rewritten", async () => {
    if (gpu.matmulVariant !== "subgroup") return
    forgetTunings()
    const other = { subgroupRows: 4, subgroupCols: 4, measuredMs: { "4x4": 1 } }
    const store = memoryStore(JSON.stringify({ version: autotuneVersion, adapters: { "Other GPU": other, [adapterKey(gpu)]: { subgroupRows: "two" } } }))
    const t = await tuneMatmul(gpu, store, true, quick)
    expect(t?.cached).toBe(false)
    const file = JSON.parse(store.text!)
    expect(file.adapters["Other GPU"]).toEqual(other)
    expect(file.adapters[adapterKey(gpu)]).toMatchObject(t!.config)
  }, 60_000)

  it("the file store ignores what is not a regular file, an empty or relative XDG_CACHE_HOME, and /proc or /sys", async () => {
    const dir = await mkdtemp(join(tmpdir(), "effect-nn-tune-"))
    const saved = process.env["XDG_CACHE_HOME"]
    try {
      // A folder where the file should be reads as nothing.
      await mkdir(join(dir, "matmul-autotune.json"))
      expect(await (await fileStore(dir))!.read()).toBeUndefined()
      for (const value of ["", "relative/cache"]) {
        process.env["XDG_CACHE_HOME"] = value
        // The default under the home folder, never the working folder.
        expect((await fileStore())!.location).toBe(join(homedir(), ".cache", "effect-nn", "matmul-autotune.json"))
      }
      process.env["XDG_CACHE_HOME"] = join(dir, "xdg")
      await (await fileStore())!.write("{}")
      expect(await readFile(join(dir, "xdg", "effect-nn", "matmul-autotune.json"), "utf8")).toBe("{}")
      // Kernel file systems are no store (Node's recursive mkdir never settles under /proc).
      expect(await fileStore("/proc/self/effect-nn")).toBeUndefined()
      expect(await fileStore("/sys")).toBeUndefined()
      process.env["XDG_CACHE_HOME"] = "/proc/x"
      expect(await fileStore()).toBeUndefined()
    } finally {
      if (saved === undefined) delete process.env["XDG_CACHE_HOME"]
      else process.env["XDG_CACHE_HOME"] = saved
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("the file store writes atomically and reads back; a missing file reads as nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "effect-nn-tune-"))
    try {
      const store = (await fileStore(join(dir, "nested")))!
      expect(await store.read()).toBeUndefined()
      await store.write("{\"a\": 1}")
      expect(await store.read()).toBe("{\"a\": 1}")
      expect(await readdir(join(dir, "nested"))).toEqual(["matmul-autotune.json"])
      expect(await readFile(join(dir, "nested", "matmul-autotune.json"), "utf8")).toBe("{\"a\": 1}")
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("measureMatmulConfigs releases its inputs", async () => {
    if (gpu.matmulVariant !== "subgroup") return
    const before = gpu.stats().inUse
    await measureMatmulConfigs(gpu, quick)
    expect(gpu.stats().inUse).toBe(before)
  }, 60_000)

  it("tiled kernel: register blocks within maxComputeWorkgroupStorageSize, measured, cached under a key naming the kernel", async () => {
    const label = (c: { rowsPerThread: number; colsPerThread: number }) => `${c.rowsPerThread}x${c.colsPerThread}`
    expect(candidateTiledConfigs(16384).map(label)).toEqual(["4x4", "8x4", "4x8", "8x8"])
    expect(candidateTiledConfigs(12288).map(label)).toEqual(["4x4", "8x4", "4x8"])
    expect(candidateTiledConfigs(8192).map(label)).toEqual(["4x4"])
    const tiled = await makeGpu({ autotune: "off", matmulVariant: "tiled" })
    try {
      forgetTunings()
      expect(adapterKey(tiled)).toContain("|tiled|")
      expect(adapterKey(tiled)).not.toBe(adapterKey(gpu))
      const store = memoryStore()
      const options = { candidates: [{ rowsPerThread: 4, colsPerThread: 4 }, { rowsPerThread: 8, colsPerThread: 8 }] as const, shapes: [{ m: 64, k: 64, n: 64, transA: false, transB: false }], runs: 1 }
      const measured = await tuneMatmul(tiled, store, true, options)
      if (measured?.kernel !== "tiled") throw new Error("expected a tuning of the tiled kernel")
      expect(Object.keys(measured.measuredMs).sort()).toEqual(["4x4", "8x8"])
      expect(tiled.tiledConfig).toEqual(measured.config)
      expect(JSON.parse(store.text!).adapters[adapterKey(tiled)]).toMatchObject(measured.config)
      forgetTunings()
      tiled.useTiledConfig({ rowsPerThread: 4, colsPerThread: 8 })
      expect(await tuneMatmul(tiled, store, false, options)).toEqual({ ...measured, cached: true })
      expect(tiled.tiledConfig).toEqual(measured.config)
      // An entry of the other kernel's shape under this key is no tiled entry.
      forgetTunings()
      const foreign = memoryStore(JSON.stringify({ version: autotuneVersion, adapters: { [adapterKey(tiled)]: { subgroupRows: 2, subgroupCols: 2, measuredMs: {} } } }))
      expect(await tuneMatmul(tiled, foreign, false, options)).toBeUndefined()
    } finally {
      tiled.destroy()
      forgetTunings()
    }
  }, 60_000)

  it("a store that throws on read or write only loses the cache; candidates of the other kernel alone mean the kernel's own", async () => {
    if (gpu.matmulVariant !== "subgroup") return
    forgetTunings()
    const broken: TuneStore = {
      read: async () => {
        throw new Error("EIO")
      },
      write: () => {
        throw new Error("sync EACCES")
      }
    }
    const t = await tuneMatmul(gpu, broken, true, quick)
    expect(t?.cached).toBe(false)
    expect(gpu.matmulConfig).toEqual(t!.config)
    forgetTunings()
    const store = memoryStore()
    const foreignOnly = await tuneMatmul(gpu, store, true, { ...quick, candidates: [{ rowsPerThread: 8, colsPerThread: 8 }] })
    expect(Object.keys(foreignOnly!.measuredMs).length).toBe(candidateConfigs(gpu.device.limits.maxComputeInvocationsPerWorkgroup).length)
    forgetTunings()
  }, 60_000)
})
