/**
 * What `bench` measures on effect-nn: matmul throughput, epochs of the tutorial networks
 * through the general API (modules, autodiff, Adam, the training loop with the training
 * set resident on the device), ms per step at a given batch size, and the costs around
 * them (process CPU time, dispatches and submits per step, device memory).
 */
import { readdirSync, readFileSync } from "node:fs"
import type { MnistDataset } from "@effect-nn/data"
import { loadMnist, normalizeGather } from "@effect-nn/data"
import type { AnyModule, ModelOf } from "@effect-nn/layers"
import { adam } from "@effect-nn/optim"
import type { MemoryStats, Tensor } from "@effect-nn/tensor"
import { Device, dispose, disposeReplaced, item } from "@effect-nn/tensor"
import { Effect } from "effect"
import { models } from "../src/models/index.ts"
import { trainEpoch } from "../src/training/epoch.ts"
import { accuracy } from "../src/training/evaluate.ts"
import { residentDataset } from "../src/training/resident.ts"
import type { TrainState } from "../src/training/step.ts"
import { trainStep } from "../src/training/step.ts"

/** Median, min and max of a sample. */
export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly n: number
}

/** The spread of `xs` (NaN fields when empty). */
export const spread = (xs: ReadonlyArray<number>): Spread => {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  const median = n === 0 ? Number.NaN : n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2
  return { median, min: s[0] ?? Number.NaN, max: s[n - 1] ?? Number.NaN, n }
}

/** CPU milliseconds of each thread of this process, by thread id (Linux; undefined elsewhere). */
export const threadCpuMs = (): ReadonlyMap<string, number> | undefined => {
  try {
    const out = new Map<string, number>()
    for (const tid of readdirSync("/proc/self/task")) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      // utime + stime, in clock ticks (100 Hz on Linux).
      out.set(tid, (Number(fields[11]) + Number(fields[12])) * 10)
    }
    return out
  } catch {
    return undefined
  }
}

/**
 * CPU seconds of the main thread and of the other threads between two `threadCpuMs`
 * samples, and how many other threads were busy (over 10% of the interval's wall time:
 * the software GPU's workers).
 */
export const threadSplit = (before: ReadonlyMap<string, number> | undefined, after: ReadonlyMap<string, number> | undefined, wallSeconds: number) => {
  if (before === undefined || after === undefined) return undefined
  let main = 0
  let others = 0
  let busy = 0
  for (const [tid, ms] of after) {
    const d = (ms - (before.get(tid) ?? 0)) / 1000
    if (tid === String(process.pid)) main += d
    else {
      others += d
      if (d > 0.1 * wallSeconds) busy++
    }
  }
  return { main, others, busy }
}

/** Process CPU seconds (all threads) since `from` (a `process.cpuUsage()` value). */
const cpuSeconds = (from: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(from)
  return (d.user + d.system) / 1e6
}

/** One matmul size: GFLOP/s over timed runs, each = issue C = A·B and read C back. */
export interface MatmulResult {
  readonly n: number
  readonly ms: Spread
  readonly gflops: Spread
  /** Milliseconds of every timed run. */
  readonly runsMs: ReadonlyArray<number>
}

/** The figures of `runsMs` (milliseconds of n×n products). */
export const matmulFigures = (n: number, runsMs: ReadonlyArray<number>): MatmulResult => {
  const flop = 2 * n ** 3
  const ms = spread(runsMs)
  return { n, ms, gflops: { median: flop / ms.median / 1e6, min: flop / ms.max / 1e6, max: flop / ms.min / 1e6, n: ms.n }, runsMs }
}

/** One result per size from the runs of several passes together (sizes of the first pass). */
export const mergeMatmul = (passes: ReadonlyArray<ReadonlyArray<MatmulResult>>): Array<MatmulResult> =>
  (passes[0] ?? []).map((r) => matmulFigures(r.n, passes.flatMap((p) => p.find((q) => q.n === r.n)?.runsMs ?? [])))

/**
 * Square matmuls on the device as the peers time theirs: 2 warm-up runs, then up to 7
 * timed runs (at least 3; stops after `budgetMs`), each issuing C = A·B and reading all of
 * C back, with the same A and B every run (the backend keeps a B it packed twice packed).
 */
export const benchMatmul = (sizes: ReadonlyArray<number>, budgetMs = 20_000) =>
  Effect.gen(function*() {
    const device = yield* Device
    const backend = device.backend
    const results: Array<MatmulResult> = []
    for (const n of sizes) {
      const rnd = Float32Array.from({ length: n * n }, () => Math.random() * 2 - 1)
      const a = backend.upload(rnd)
      const b = backend.upload(rnd.reverse())
      const spec = { m: n, k: n, n, transA: false, transB: false }
      const once = () =>
        Effect.promise(async () => {
          const c = backend.matmul(a, b, spec)
          await backend.read(c, "float32")
          backend.release(c)
        })
      for (let i = 0; i < 2; i++) yield* once()
      const times: Array<number> = []
      const start = performance.now()
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now()
        yield* once()
        times.push(performance.now() - t0)
        if (i + 1 >= 3 && performance.now() - start > (n >= 2048 ? 3 * budgetMs : budgetMs)) break
      }
      backend.release(a)
      backend.release(b)
      results.push(matmulFigures(n, times))
    }
    return results
  })

/** The names of the tutorial networks the bench trains. */
export type NetworkName = "shallow" | "deep" | "residual"

/** Figures of one epoch. */
export interface EpochFigures {
  readonly epoch: number
  readonly seconds: number
  readonly samplesPerSecond: number
  readonly trainLoss: number
  /** Process CPU seconds (all threads: the host thread and the software GPU's workers). */
  readonly cpuSeconds: number
  /** CPU seconds of the main (host) thread and of the other threads, when known. */
  readonly mainThreadCpuSeconds: number | undefined
  readonly otherThreadsCpuSeconds: number | undefined
  /** Other threads busy for over 10% of the epoch (the software GPU's workers). */
  readonly busyWorkerThreads: number | undefined
  readonly dispatchesPerStep: number
  readonly submitsPerStep: number
  /** Device bytes live and the peak so far, after the epoch. */
  readonly liveBytes: number
  readonly peakBytes: number
}

/** Training figures of one network. */
export interface NetworkResult {
  readonly network: NetworkName
  readonly batchSize: number
  readonly resident: boolean
  readonly warmupSeconds: number
  readonly epochs: ReadonlyArray<EpochFigures>
  readonly testAccuracy: number
  /** Bind groups created after the first epoch (0 when the caches hold). */
  readonly bindGroupsCreatedAfterEpoch1: number | undefined
}

const statsOf = (s: MemoryStats): MemoryStats & { readonly bindGroupsCreated?: number } => s

/** Figures of `epochs` epochs of `network` (batch `batchSize`, Adam 1e-3, seed 0). */
export const benchTraining = (network: NetworkName, epochs: number, batchSize = 64, data?: { readonly train: MnistDataset; readonly test: MnistDataset }) =>
  Effect.gen(function*() {
    const device = yield* Device
    const train = data?.train ?? (yield* loadMnist("train"))
    const test = data?.test ?? (yield* loadMnist("test"))
    const module: AnyModule = models[network]()
    const optimizer = adam({ lr: 1e-3 })
    // Each network's peak on its own: free what earlier phases pooled, start a new peak.
    const gpuControls = device.backend as Partial<{ trim(): number; resetPeak(): void }>
    gpuControls.trim?.()
    gpuControls.resetPeak?.()
    const resident = yield* residentDataset(train)
    const options = resident === undefined ? {} : { resident }
    // Warm-up (kernel compilation): a few steps of a throwaway model, as the peers do.
    const warm0 = performance.now()
    {
      const throwaway = (yield* module.init) as ModelOf<AnyModule>
      let s: TrainState<ModelOf<AnyModule>, unknown> = { model: throwaway, opt: yield* optimizer.init(throwaway.params), lossSum: undefined }
      const step = trainStep(module, optimizer as never, train.features, resident)
      const indices = Int32Array.from({ length: batchSize }, (_, i) => i)
      const batch = { size: batchSize, x: new Float32Array(0), y: new Int32Array(0), indices }
      for (let i = 0; i < 3; i++) {
        const next = yield* step(s as never, resident === undefined ? hostBatch(train, indices) : batch)
        yield* disposeReplaced(s, next)
        s = next as typeof s
      }
      if (s.lossSum !== undefined) yield* item(s.lossSum)
      yield* dispose(s)
    }
    const warmupSeconds = (performance.now() - warm0) / 1000
    const model = (yield* module.init) as ModelOf<AnyModule>
    let state: TrainState<ModelOf<AnyModule>, unknown> = { model, opt: yield* optimizer.init(model.params), lossSum: undefined }
    const figures: Array<EpochFigures> = []
    let groupsAfter1: number | undefined
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const before = statsOf(device.backend.stats())
      const threads0 = threadCpuMs()
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      const result = yield* trainEpoch(module, optimizer as never, train, state as never, { batchSize, seed: 0, epoch, ...options })
      const seconds = (performance.now() - t0) / 1000
      const cpu = cpuSeconds(cpu0)
      const split = threadSplit(threads0, threadCpuMs(), seconds)
      const after = statsOf(device.backend.stats())
      const lossSum = (result.state as TrainState<unknown, unknown>).lossSum
      state = { ...(result.state as TrainState<ModelOf<AnyModule>, unknown>), lossSum: undefined }
      if (lossSum !== undefined) yield* dispose(lossSum)
      if (epoch === 1) groupsAfter1 = after.bindGroupsCreated
      figures.push({
        epoch,
        seconds,
        samplesPerSecond: train.count / seconds,
        trainLoss: result.meanLoss,
        cpuSeconds: cpu,
        mainThreadCpuSeconds: split?.main,
        otherThreadsCpuSeconds: split?.others,
        busyWorkerThreads: split?.busy,
        dispatchesPerStep: (after.dispatches - before.dispatches) / result.steps,
        submitsPerStep: (after.submits - before.submits) / result.steps,
        liveBytes: after.liveBytes,
        peakBytes: after.peakBytes
      })
    }
    const final = statsOf(device.backend.stats())
    const testAccuracy = yield* accuracy(module, state.model, test)
    yield* dispose(state)
    if (resident !== undefined) yield* dispose(resident)
    return {
      network,
      batchSize,
      resident: resident !== undefined,
      warmupSeconds,
      epochs: figures,
      testAccuracy,
      bindGroupsCreatedAfterEpoch1: groupsAfter1 === undefined || final.bindGroupsCreated === undefined ? undefined : final.bindGroupsCreated - groupsAfter1
    } satisfies NetworkResult
  })

/** A host batch of the samples at `indices` (for a device where the training set does not fit). */
const hostBatch = (train: MnistDataset, indices: Int32Array) => ({
  size: indices.length,
  x: normalizeGather(train.images, indices, train.features),
  y: Int32Array.from(indices, (s) => train.labels[s]!),
  indices
})

/** Steady-state time per training step at one batch size. */
export interface StepResult {
  readonly network: NetworkName
  readonly batchSize: number
  readonly steps: number
  readonly msPerStep: number
  readonly dispatchesPerStep: number
  readonly submitsPerStep: number
}

/**
 * Milliseconds per training step of `network` at `batchSize` in steady state: 3 warm-up
 * steps, then steps until `budgetMs` has passed (at least 5), timed to the device's
 * completion of the last one.
 */
export const benchSteps = (network: NetworkName, batchSize: number, budgetMs = 4000, data?: MnistDataset) =>
  Effect.gen(function*() {
    const device = yield* Device
    const train = data ?? (yield* loadMnist("train"))
    const module: AnyModule = models[network]()
    const optimizer = adam({ lr: 1e-3 })
    const resident = yield* residentDataset(train)
    const model = (yield* module.init) as ModelOf<AnyModule>
    let state: TrainState<ModelOf<AnyModule>, unknown> = { model, opt: yield* optimizer.init(model.params), lossSum: undefined }
    const step = trainStep(module, optimizer as never, train.features, resident)
    const indices = Int32Array.from({ length: batchSize }, (_, i) => (i * 7919) % train.count)
    const batch = resident === undefined ? hostBatch(train, indices) : { size: batchSize, x: new Float32Array(0), y: new Int32Array(0), indices }
    const run1 = () =>
      Effect.gen(function*() {
        const next = (yield* step(state as never, batch)) as TrainState<ModelOf<AnyModule>, unknown>
        yield* disposeReplaced(state, next)
        state = next
      })
    const sync = () => (state.lossSum === undefined ? Effect.void : Effect.asVoid(item(state.lossSum as Tensor<[]>)))
    for (let i = 0; i < 3; i++) yield* run1()
    yield* sync()
    const before = device.backend.stats()
    const t0 = performance.now()
    let steps = 0
    while (steps < 5 || performance.now() - t0 < budgetMs) {
      yield* run1()
      steps++
      if (steps % 20 === 0) yield* sync()
    }
    yield* sync()
    const ms = (performance.now() - t0) / steps
    const after = device.backend.stats()
    yield* dispose(state)
    if (resident !== undefined) yield* dispose(resident)
    return {
      network,
      batchSize,
      steps,
      msPerStep: ms,
      dispatchesPerStep: (after.dispatches - before.dispatches) / steps,
      submitsPerStep: (after.submits - before.submits) / steps
    } satisfies StepResult
  })
