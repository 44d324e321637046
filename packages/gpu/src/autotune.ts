/**
 * A small matmul autotune, measured once per adapter and cached. The subgroup kernel's
 * per-subgroup work is fixed (a 16×32 block of C, 24×64 when B is read from a texture; see
 * `matmul-subgroup.ts`); what varies
 * between adapters is how many subgroups share a workgroup (1×1 up to 4×4, within
 * `maxComputeInvocationsPerWorkgroup`). Every candidate computes each element of C with
 * the same operations in the same order, so the choice changes speed, never results.
 *
 * The measurement times each candidate on a square 512³ product and on the forward pass
 * of a 784→128 linear layer at batch 128 (dispatch plus readback, best of a few runs) and
 * keeps the fastest by total time — unless the default shape is within 10 % of it, in which
 * case the default stays (shapes within noise of each other must not flip from run to run).
 * Each candidate is a new pipeline per shape: on lavapipe
 * the compiles dominate (about 0.5–2 s each with a cold Mesa shader cache, 10–30 s in all;
 * the runs themselves take under a second). So it runs only when asked (`bench` does) and
 * its result is cached in a JSON file keyed by the adapter's description and limits (Node:
 * `$XDG_CACHE_HOME/effect-nn/` or `~/.cache/effect-nn/`; browsers keep it for the page),
 * which every later acquisition applies by default.
 * The file is validated with a `Schema` when read: a missing, unreadable or malformed file
 * counts as no cache, and is replaced by an atomic write (temporary file, then rename).
 */
import type { MatmulSpec } from "@effect-nn/tensor"
import { Option, Schema } from "effect"
import type { WebGpuBackend } from "./backend.ts"
import { type SubgroupMatmulConfig, subgroupMatmulConfig, subgroupWidth } from "./kernels/matmul-subgroup.ts"

/** Version of the kernels the cache was measured with; a change invalidates old entries. */
export const autotuneVersion = 3

/** How much faster (fraction of the default shape's time) another shape must be to replace it. */
export const clearMargin = 0.1

/** The outcome of tuning one adapter. */
export interface MatmulTuning {
  /** The chosen workgroup shape. */
  readonly config: SubgroupMatmulConfig
  /** Milliseconds of every candidate measured (best of the runs, summed over the shapes), by "rows×cols". */
  readonly measuredMs: Readonly<Record<string, number>>
  /** True when the result came from the cache rather than a measurement in this process. */
  readonly cached: boolean
}

const Entry = Schema.Struct({
  subgroupRows: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 16 })),
  subgroupCols: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 16 })),
  measuredMs: Schema.Record(Schema.String, Schema.Finite)
})
// The file is decoded in two steps, so that one malformed entry loses only itself.
const CacheFile = Schema.Struct({
  version: Schema.Literal(autotuneVersion),
  adapters: Schema.Record(Schema.String, Schema.Unknown)
})
type Entry = typeof Entry.Type
const decodeCache = Schema.decodeUnknownOption(Schema.fromJsonString(CacheFile))
const decodeEntry = Schema.decodeUnknownOption(Entry)

/** The valid entries of a cache file's text (none when the text is not a cache file of this version). */
const readEntries = (text: string | undefined): Record<string, Entry> => {
  const file = Option.getOrUndefined(decodeCache(text))
  const out: Record<string, Entry> = {}
  if (file === undefined) return out
  for (const [key, value] of Object.entries(file.adapters)) {
    const entry = Option.getOrUndefined(decodeEntry(value))
    if (entry !== undefined) out[key] = entry
  }
  return out
}

/** Workgroup shapes worth trying on a device with this many invocations per workgroup. */
export const candidateConfigs = (maxInvocations: number): ReadonlyArray<SubgroupMatmulConfig> => {
  const shapes: ReadonlyArray<readonly [number, number]> = [[1, 1], [1, 2], [2, 1], [2, 2], [2, 4], [4, 2], [4, 4]]
  return shapes.filter(([r, c]) => r * c * subgroupWidth <= maxInvocations).map(([subgroupRows, subgroupCols]) => ({ subgroupRows, subgroupCols }))
}

/** The cache key of an adapter: its description, its limits that bound the kernels, and the kernel version. */
export const adapterKey = (backend: WebGpuBackend): string => {
  const l = backend.device.limits
  return `${backend.description}|inv=${l.maxComputeInvocationsPerWorkgroup}|wg=${l.maxComputeWorkgroupStorageSize}|v${autotuneVersion}`
}

const label = (c: SubgroupMatmulConfig): string => `${c.subgroupRows}x${c.subgroupCols}`

const random = (n: number, seed: number): Float32Array => {
  const out = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 32 - 0.5
  }
  return out
}

/**
 * The shapes timed: a square product (B read from a texture, see `matmul-texture.ts`) and
 * a linear layer's forward pass x·Wᵀ at a training batch (below the texture's row threshold).
 */
export const tuneShapes: ReadonlyArray<MatmulSpec> = [
  { m: 512, k: 512, n: 512, transA: false, transB: false },
  { m: 128, k: 784, n: 128, transA: false, transB: true }
]

/** What a measurement tries (defaults: every candidate of the device, `tuneShapes`, 3 timed runs). */
export interface MeasureOptions {
  readonly candidates?: ReadonlyArray<SubgroupMatmulConfig>
  readonly shapes?: ReadonlyArray<MatmulSpec>
  readonly runs?: number
}

/**
 * Measures every candidate workgroup shape on `backend` (leaving the fastest selected)
 * and returns the timings. Only for the subgroup kernel; other variants keep their
 * fixed tiles.
 */
export const measureMatmulConfigs = async (backend: WebGpuBackend, options: MeasureOptions = {}): Promise<MatmulTuning> => {
  const candidates = options.candidates ?? candidateConfigs(backend.device.limits.maxComputeInvocationsPerWorkgroup)
  const runs = options.runs ?? 3
  const inputs = (options.shapes ?? tuneShapes).map((spec, i) => {
    const a = backend.upload(random(spec.m * spec.k, 2 * i + 1))
    const b = backend.upload(random(spec.k * spec.n, 2 * i + 2))
    return { spec, a, b }
  })
  const measuredMs: Record<string, number> = {}
  let best = subgroupMatmulConfig
  let bestMs = Infinity
  try {
    for (const config of candidates) {
      backend.useMatmulConfig(config)
      let total = 0
      for (const { a, b, spec } of inputs) {
        let fastest = Infinity
        // The first run compiles the pipeline and is not counted.
        for (let r = 0; r <= runs; r++) {
          const t0 = performance.now()
          const c = backend.matmul(a, b, spec)
          await backend.read(c, "float32")
          backend.release(c)
          if (r > 0) fastest = Math.min(fastest, performance.now() - t0)
        }
        total += fastest
      }
      measuredMs[label(config)] = total
    }
    // The default shape stays unless another is clearly faster: on a noisy machine shapes
    // within a few percent of each other would otherwise win by chance, run after run.
    const fallback = measuredMs[label(subgroupMatmulConfig)]
    for (const config of candidates) {
      const ms = measuredMs[label(config)]!
      if (ms < bestMs) {
        bestMs = ms
        best = config
      }
    }
    if (fallback !== undefined && bestMs > fallback * (1 - clearMargin)) best = subgroupMatmulConfig
  } finally {
    for (const { a, b } of inputs) {
      backend.release(a)
      backend.release(b)
    }
  }
  backend.useMatmulConfig(best)
  return { config: best, measuredMs, cached: false }
}

/** Where the tuning cache lives and how it is read and written (Node's file system, or memory). */
export interface TuneStore {
  /** Where the cache lives (a file path), when it has a place. */
  readonly location?: string
  read(): Promise<string | undefined>
  write(text: string): Promise<void>
}

/** Tunings of this process, by adapter key (also the whole store in browsers). */
const memory = new Map<string, MatmulTuning>()

/**
 * The default store: a JSON file under `cacheDir` (default `$XDG_CACHE_HOME/effect-nn` or
 * `~/.cache/effect-nn`) in Node; nothing in browsers (the in-process memory still applies).
 * Writes are atomic: a temporary file in the same folder, then a rename.
 */
export const fileStore = async (cacheDir?: string): Promise<TuneStore | undefined> => {
  if (typeof process === "undefined" || process.versions?.node === undefined) return undefined
  const fs = await import("node:fs/promises")
  const path = await import("node:path")
  const os = await import("node:os")
  // XDG Base Directory rules: an empty or relative XDG_CACHE_HOME is ignored.
  const xdg = process.env["XDG_CACHE_HOME"]
  const root = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), ".cache")
  const dir = cacheDir ?? path.join(root, "effect-nn")
  const file = path.join(dir, "matmul-autotune.json")
  /** Larger files are not a cache this module wrote (a few hundred bytes per adapter). */
  const maxBytes = 1 << 20
  return {
    location: file,
    // Only a regular file is read (a FIFO or device would block or never end).
    read: async () => {
      try {
        const info = await fs.stat(file)
        return info.isFile() && info.size <= maxBytes ? await fs.readFile(file, "utf8") : undefined
      } catch {
        return undefined
      }
    },
    write: async (text) => {
      await fs.mkdir(dir, { recursive: true })
      const temp = path.join(dir, `.matmul-autotune.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`)
      try {
        await fs.writeFile(temp, text, "utf8")
        await fs.rename(temp, file)
      } catch (cause) {
        await fs.rm(temp, { force: true })
        throw cause
      }
    }
  }
}

/**
 * Selects the workgroup shape of `backend`'s subgroup matmul: from this process's memory,
 * else from `store`, else — when `measure` — by measuring (then saving to `store`). With
 * neither a cached entry nor `measure`, the default shape stays and `undefined` is
 * returned. A store that cannot be written only loses the cache (the tuning still applies).
 */
export const tuneMatmul = async (backend: WebGpuBackend, store: TuneStore | undefined, measure: boolean, options: MeasureOptions = {}): Promise<MatmulTuning | undefined> => {
  if (backend.matmulVariant !== "subgroup") return undefined
  const key = adapterKey(backend)
  const known = memory.get(key)
  if (known !== undefined) {
    backend.useMatmulConfig(known.config)
    return { ...known, cached: true }
  }
  const entries = store === undefined ? {} : readEntries(await store.read())
  const entry = Object.hasOwn(entries, key) ? entries[key] : undefined
  if (entry !== undefined && candidateConfigs(backend.device.limits.maxComputeInvocationsPerWorkgroup).some((c) => c.subgroupRows === entry.subgroupRows && c.subgroupCols === entry.subgroupCols)) {
    const tuning: MatmulTuning = { config: { subgroupRows: entry.subgroupRows, subgroupCols: entry.subgroupCols }, measuredMs: entry.measuredMs, cached: true }
    memory.set(key, tuning)
    backend.useMatmulConfig(tuning.config)
    return tuning
  }
  if (!measure) return undefined
  const tuning = await measureMatmulConfigs(backend, options)
  memory.set(key, tuning)
  if (store !== undefined) {
    const adapters = { ...entries, [key]: { ...tuning.config, measuredMs: tuning.measuredMs } }
    await store.write(JSON.stringify({ version: autotuneVersion, adapters }, null, 2)).catch(() => undefined)
  }
  return tuning
}

/** The tuning applied to `backend`'s adapter in this process (measured here, or read from the cache), if any. */
export const tuningOf = (backend: WebGpuBackend): MatmulTuning | undefined => memory.get(adapterKey(backend))

/** Forgets this process's tunings (tests). */
export const forgetTunings = (): void => memory.clear()
