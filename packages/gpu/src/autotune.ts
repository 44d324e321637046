/**
 * A small matmul autotune, measured once per adapter and cached, for the kernel the adapter
 * uses:
 * - the subgroup kernel (8-wide subgroups, lavapipe): its per-subgroup work is fixed (a
 *   16×32 block of C; see `matmul-subgroup.ts`); what varies is how many subgroups share a
 *   workgroup (1×1 up to 4×4, within `maxComputeInvocationsPerWorkgroup`). The texture
 *   mode for large products keeps a fixed, measured shape (`textureMatmulConfig`);
 * - the tiled kernel (every other adapter, real GPUs among them): each thread's register
 *   block, 4×4 to 8×8 (64×64 to 128×128 tiles, within `maxComputeWorkgroupStorageSize`;
 *   see `matmul-tiled.ts`).
 * Every candidate computes each element of C with the same operations in the same order,
 * so the choice changes speed, never results.
 *
 * The measurement times each candidate on rounds of `tuneShapes` (a hidden layer's three
 * products at batch 64 and a 512×256×256 product, encoded together and read back once, as
 * a training step runs; best of a few rounds taken in turn across the candidates, so that
 * the machine's drift weighs on all alike) and keeps the fastest — unless the default is
 * within the margin of it (`clearMargin`, 20 %; `tiledClearMargin`, 10 %), in which
 * case the default stays (shapes within noise of each other must not flip from run to run).
 * Each candidate is a new pipeline per shape: on lavapipe
 * the compiles dominate (about 0.5–2 s each with a cold Mesa shader cache, 10–30 s in all;
 * the runs themselves take under a second). So it runs only when asked (`bench` does) and
 * its result is cached in a JSON file keyed by the adapter's description, kernel, limits and
 * the cache version (Node:
 * `$XDG_CACHE_HOME/effect-nn/` or `~/.cache/effect-nn/`; browsers keep it for the page),
 * which every later acquisition applies by default.
 * The file is validated with a `Schema` when read: a missing, unreadable or malformed file
 * counts as no cache, and is replaced by an atomic write (temporary file, then rename).
 */
import type { MatmulSpec, Storage } from "@effect-nn/tensor"
import { Option, Schema } from "effect"
import type { WebGpuBackend } from "./backend.ts"
import type { MatmulVariant } from "./kernels/context.ts"
import { type SubgroupMatmulConfig, subgroupMatmulConfig, subgroupWidth } from "./kernels/matmul-subgroup.ts"
import { type TiledMatmulConfig, tiledMatmulConfig, tiledWorkgroupBytes } from "./kernels/matmul-tiled.ts"

/** Version of the kernels the cache was measured with; a change invalidates old entries. */
export const autotuneVersion = 9

/**
 * How much faster (fraction of the default's time) another workgroup shape of the subgroup
 * kernel must be to replace the default: on a shared 2-core host the best-of-7 rounds of
 * equivalent shapes still differ by up to about 15 % from one measurement to the next.
 */
export const clearMargin = 0.2

/**
 * The same for the tiled kernel's register blocks, whose differences are structural: on
 * lavapipe 8×8 took 19–29 % less time than 4×4 on the rounds, and a 20 % margin flipped
 * between the two from one measurement to the next.
 */
export const tiledClearMargin = 0.1

/** What every tuning outcome has. */
interface TuningFigures {
  /** Milliseconds of every candidate measured (best of the rounds), by its label ("rows×cols"). */
  readonly measuredMs: Readonly<Record<string, number>>
  /** True when the result came from the cache rather than a measurement in this process. */
  readonly cached: boolean
}

/** The outcome of tuning one adapter: the chosen configuration of the kernel it uses. */
export type MatmulTuning =
  | (TuningFigures & { readonly kernel: "subgroup"; readonly config: SubgroupMatmulConfig })
  | (TuningFigures & { readonly kernel: "tiled"; readonly config: TiledMatmulConfig })

const MeasuredMs = Schema.Record(Schema.String, Schema.Finite)
const SubgroupEntry = Schema.Struct({
  subgroupRows: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 16 })),
  subgroupCols: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 16 })),
  measuredMs: MeasuredMs
})
const Block = Schema.Literals([4, 8])
const TiledEntry = Schema.Struct({ rowsPerThread: Block, colsPerThread: Block, measuredMs: MeasuredMs })
// The file is decoded in two steps, so that one malformed entry loses only itself.
const CacheFile = Schema.Struct({
  version: Schema.Literal(autotuneVersion),
  adapters: Schema.Record(Schema.String, Schema.Unknown)
})
const decodeCache = Schema.decodeUnknownOption(Schema.fromJsonString(CacheFile))
const decodeSubgroup = Schema.decodeUnknownOption(SubgroupEntry)
const decodeTiled = Schema.decodeUnknownOption(TiledEntry)

/**
 * The entries of a cache file's text, each decoded later by its kernel's tuner (none when
 * the text is not a cache file of this version). An entry that does not decode counts as
 * no entry for its adapter and is replaced when that adapter is measured; the others are
 * kept as they are.
 */
const readEntries = (text: string | undefined): Record<string, unknown> => {
  const file = Option.getOrUndefined(decodeCache(text))
  return file === undefined ? {} : { ...file.adapters }
}

/** Workgroup shapes worth trying on a device with this many invocations per workgroup. */
export const candidateConfigs = (maxInvocations: number): ReadonlyArray<SubgroupMatmulConfig> => {
  const shapes: ReadonlyArray<readonly [number, number]> = [[1, 1], [1, 2], [2, 1], [2, 2], [2, 4], [4, 2], [4, 4]]
  return shapes.filter(([r, c]) => r * c * subgroupWidth <= maxInvocations).map(([subgroupRows, subgroupCols]) => ({ subgroupRows, subgroupCols }))
}

/** Register blocks of the tiled kernel worth trying within this much workgroup memory (bytes). */
export const candidateTiledConfigs = (maxWorkgroupStorage: number): ReadonlyArray<TiledMatmulConfig> => {
  const blocks: ReadonlyArray<TiledMatmulConfig> = [
    { rowsPerThread: 4, colsPerThread: 4 },
    { rowsPerThread: 8, colsPerThread: 4 },
    { rowsPerThread: 4, colsPerThread: 8 },
    { rowsPerThread: 8, colsPerThread: 8 }
  ]
  return blocks.filter((c) => tiledWorkgroupBytes(c) <= maxWorkgroupStorage)
}

/** The cache key of an adapter: its description, the kernel it uses, its limits that bound the kernels, and the kernel version. */
export const adapterKey = (backend: WebGpuBackend): string => {
  const l = backend.device.limits
  return `${backend.description}|${backend.matmulVariant}|inv=${l.maxComputeInvocationsPerWorkgroup}|wg=${l.maxComputeWorkgroupStorageSize}|v${autotuneVersion}`
}

/** How one kernel is tuned: its candidates, default and labels, how a choice is applied, stored and read back. */
interface Tuner<C> {
  readonly defaultConfig: C
  /** How much faster another candidate must be to replace the default (see `clearMargin`). */
  readonly margin: number
  candidates(limits: GPUSupportedLimits): ReadonlyArray<C>
  label(c: C): string
  apply(backend: WebGpuBackend, c: C): void
  /** The configuration of a cache entry, when it is a valid entry of this kernel. */
  decode(entry: unknown): { readonly config: C; readonly measuredMs: Readonly<Record<string, number>> } | undefined
  tuning(config: C, measuredMs: Readonly<Record<string, number>>, cached: boolean): MatmulTuning
}

const subgroupTuner: Tuner<SubgroupMatmulConfig> = {
  defaultConfig: subgroupMatmulConfig,
  margin: clearMargin,
  candidates: (l) => candidateConfigs(l.maxComputeInvocationsPerWorkgroup),
  label: (c) => `${c.subgroupRows}x${c.subgroupCols}`,
  apply: (backend, c) => backend.useMatmulConfig(c),
  decode: (entry) => {
    const e = Option.getOrUndefined(decodeSubgroup(entry))
    return e === undefined ? undefined : { config: { subgroupRows: e.subgroupRows, subgroupCols: e.subgroupCols }, measuredMs: e.measuredMs }
  },
  tuning: (config, measuredMs, cached) => ({ kernel: "subgroup", config, measuredMs, cached })
}

const tiledTuner: Tuner<TiledMatmulConfig> = {
  defaultConfig: tiledMatmulConfig,
  margin: tiledClearMargin,
  candidates: (l) => candidateTiledConfigs(l.maxComputeWorkgroupStorageSize),
  label: (c) => `${c.rowsPerThread}x${c.colsPerThread}`,
  apply: (backend, c) => backend.useTiledConfig(c),
  decode: (entry) => {
    const e = Option.getOrUndefined(decodeTiled(entry))
    return e === undefined ? undefined : { config: { rowsPerThread: e.rowsPerThread, colsPerThread: e.colsPerThread }, measuredMs: e.measuredMs }
  },
  tuning: (config, measuredMs, cached) => ({ kernel: "tiled", config, measuredMs, cached })
}

const sameConfig = <C>(tuner: Tuner<C>, a: C, b: C): boolean => tuner.label(a) === tuner.label(b)

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
 * The shapes timed, as one round: the three products of a 784→128 hidden layer at batch 64
 * (forward x·Wᵀ, weight gradient gᵀ·x, input gradient g·W) and a 512×256×256 product. All
 * read B from storage buffers (products large enough to read B from a texture use a fixed
 * workgroup shape, see `textureMatmulConfig`).
 */
export const tuneShapes: ReadonlyArray<MatmulSpec> = [
  { m: 64, k: 784, n: 128, transA: false, transB: true },
  { m: 128, k: 64, n: 784, transA: true, transB: false },
  { m: 64, k: 128, n: 784, transA: false, transB: false },
  { m: 512, k: 256, n: 256, transA: false, transB: false }
]

/**
 * What a measurement tries (defaults: every candidate of the kernel the backend uses,
 * `tuneShapes`, 7 timed rounds). `candidates` are workgroup shapes for the subgroup kernel and
 * register blocks for the tiled kernel; candidates of the other kernel are ignored.
 */
export interface MeasureOptions {
  readonly candidates?: ReadonlyArray<SubgroupMatmulConfig | TiledMatmulConfig>
  readonly shapes?: ReadonlyArray<MatmulSpec>
  readonly runs?: number
}

const isTiled = (c: SubgroupMatmulConfig | TiledMatmulConfig): c is TiledMatmulConfig => "rowsPerThread" in c

/**
 * Measures every candidate of `tuner` on `backend` (leaving the chosen one selected) and
 * returns the timings: the fastest, unless the default is among the candidates and within
 * the tuner's margin of it.
 */
const measureWith = async <C>(backend: WebGpuBackend, tuner: Tuner<C>, candidates: ReadonlyArray<C>, options: MeasureOptions): Promise<MatmulTuning> => {
  const runs = options.runs ?? 7
  const inputs = (options.shapes ?? tuneShapes).map((spec, i) => {
    const a = backend.upload(random(spec.m * spec.k, 2 * i + 1))
    const b = backend.upload(random(spec.k * spec.n, 2 * i + 2))
    return { spec, a, b }
  })
  const measuredMs: Record<string, number> = {}
  let best = tuner.defaultConfig
  let bestMs = Infinity
  try {
    // One round: every shape 4 times, encoded back to back and read back once — one submit,
    // as a training step runs its products (a product timed alone with its readback would
    // mostly time the round trip).
    const round = async (): Promise<number> => {
      const t0 = performance.now()
      const outs: Array<Storage> = []
      for (let rep = 0; rep < 4; rep++) for (const { a, b, spec } of inputs) outs.push(backend.matmul(a, b, spec))
      await backend.read(outs[outs.length - 1]!, "float32")
      for (const c of outs) backend.release(c)
      return performance.now() - t0
    }
    // A first, uncounted round of every candidate compiles its pipelines. Then the timed
    // rounds go round the candidates, so that a drift of the machine's speed over the
    // measurement (tens of percent over minutes on a shared host) weighs on all alike.
    for (const config of candidates) {
      tuner.apply(backend, config)
      await round()
    }
    const fastest = candidates.map(() => Infinity)
    for (let r = 0; r < runs; r++) {
      for (const [i, config] of candidates.entries()) {
        tuner.apply(backend, config)
        fastest[i] = Math.min(fastest[i]!, await round())
      }
    }
    for (const [i, config] of candidates.entries()) measuredMs[tuner.label(config)] = fastest[i]!
    // The default stays unless another is clearly faster: on a noisy machine candidates
    // within a few percent of each other would otherwise win by chance, run after run.
    const fallback = measuredMs[tuner.label(tuner.defaultConfig)]
    for (const config of candidates) {
      const ms = measuredMs[tuner.label(config)]!
      if (ms < bestMs) {
        bestMs = ms
        best = config
      }
    }
    if (fallback !== undefined && bestMs > fallback * (1 - tuner.margin)) best = tuner.defaultConfig
  } finally {
    for (const { a, b } of inputs) {
      backend.release(a)
      backend.release(b)
    }
  }
  tuner.apply(backend, best)
  return tuner.tuning(best, measuredMs, false)
}

/**
 * Measures every candidate configuration of the kernel `backend` uses (workgroup shapes of
 * the subgroup kernel, register blocks of the tiled kernel), leaves the chosen one
 * selected and returns the timings.
 */
export const measureMatmulConfigs = (backend: WebGpuBackend, options: MeasureOptions = {}): Promise<MatmulTuning> => {
  const limits = backend.device.limits
  if (backend.matmulVariant === "tiled") {
    // Candidates of the other kernel are ignored; none left means the kernel's own.
    const given = options.candidates?.filter(isTiled) ?? []
    return measureWith(backend, tiledTuner, given.length > 0 ? given : tiledTuner.candidates(limits), options)
  }
  const given = options.candidates?.filter((c): c is SubgroupMatmulConfig => !isTiled(c)) ?? []
  return measureWith(backend, subgroupTuner, given.length > 0 ? given : subgroupTuner.candidates(limits), options)
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
  const dir = path.resolve(cacheDir ?? path.join(root, "effect-nn"))
  // Kernel file systems hold no cache, and Node's recursive mkdir never settles under /proc
  // (Node 20): such a folder means no store.
  if (["/proc", "/sys"].some((top) => dir === top || dir.startsWith(`${top}/`))) return undefined
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
 * Selects the configuration of `backend`'s matmul kernel (the subgroup kernel's workgroup
 * shape, or the tiled kernel's register block): from this process's memory, else from
 * `store`, else — when `measure` — by measuring (then saving to `store`). With neither a
 * cached entry nor `measure`, the default stays and `undefined` is returned. A store that
 * cannot be read counts as empty, and one that cannot be written only loses the cache (the
 * tuning still applies).
 */
export const tuneMatmul = (backend: WebGpuBackend, store: TuneStore | undefined, measure: boolean, options: MeasureOptions = {}): Promise<MatmulTuning | undefined> =>
  backend.matmulVariant === "tiled" ? tuneWith(backend, tiledTuner, store, measure, options) : tuneWith(backend, subgroupTuner, store, measure, options)

const tuneWith = async <C>(backend: WebGpuBackend, tuner: Tuner<C>, store: TuneStore | undefined, measure: boolean, options: MeasureOptions): Promise<MatmulTuning | undefined> => {
  const key = adapterKey(backend)
  const known = memory.get(key)
  if (known !== undefined) {
    // Only this tuner's kernel is ever stored under this key (the key names the kernel).
    const again = tuner.decode({ ...known.config, measuredMs: known.measuredMs })
    if (again !== undefined) {
      tuner.apply(backend, again.config)
      return { ...known, cached: true }
    }
  }
  // A store that cannot be read counts as an empty cache.
  const entries = store === undefined ? {} : readEntries(await Promise.resolve().then(() => store.read()).catch(() => undefined))
  const entry = Object.hasOwn(entries, key) ? tuner.decode(entries[key]) : undefined
  const candidates = tuner.candidates(backend.device.limits)
  if (entry !== undefined && candidates.some((c) => sameConfig(tuner, c, entry.config))) {
    const tuning = tuner.tuning(entry.config, entry.measuredMs, true)
    memory.set(key, tuning)
    tuner.apply(backend, entry.config)
    return tuning
  }
  if (!measure) return undefined
  const tuning = await measureMatmulConfigs(backend, options)
  memory.set(key, tuning)
  if (store !== undefined) {
    const adapters = { ...entries, [key]: { ...tuning.config, measuredMs: tuning.measuredMs } }
    await Promise.resolve().then(() => store.write(JSON.stringify({ version: autotuneVersion, adapters }, null, 2))).catch(() => undefined)
  }
  return tuning
}

/** The tuning applied to `backend`'s adapter in this process (measured here, or read from the cache), if any. */
export const tuningOf = (backend: WebGpuBackend): MatmulTuning | undefined => memory.get(adapterKey(backend))

/** Forgets this process's tunings (tests). */
export const forgetTunings = (): void => memory.clear()
