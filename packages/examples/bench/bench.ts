/**
 * `bench` — effect-nn against the JavaScript peers on the same device, from one run:
 *
 * - matmul GFLOP/s at 256/512/1024/2048 (issue + read back, the peers' method), effect-nn's
 *   runs taken before the peers' matmuls and after each peer's, and pooled (see `main`);
 * - one epoch of ShallowMLP, DeepMLP and ResidualNetwork on MNIST (batch 64, Adam 1e-3)
 *   through the general API (modules, autodiff, optimiser, the training loop): seconds,
 *   samples/s, process CPU time next to wall time (main thread vs the software GPU's
 *   workers), dispatches and submits per step, device memory after each epoch, test
 *   accuracy (beside PyTorch's CPU figures from `../shared/reference/README.md`);
 * - ms per step at batch 64 and 1024;
 * - the same for the peers in `../shared/peers` (a selectable, time-bounded subset), and
 *   the ratios.
 *
 * Prints markdown tables and writes every figure as JSON (`--json`, default
 * `bench-results/bench.json`).
 *
 *   pnpm bench [--only-effect-nn] [--peers=default|all|none|name,…] [--peer-budget-s=900]
 *              [--peer-max-epoch-s=30] [--sizes=256,512,1024,2048] [--networks=shallow,deep,residual]
 *              [--epochs=3] [--step-batches=64,1024] [--json=path] [--quick]
 *
 * Flags are parsed with `effect/cli` (`--flag=value` or `--flag value`); `--help` lists them.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { loadMnist } from "@effect-nn/data"
import { tuningOf, WebGpu, WebGpuBackend } from "@effect-nn/gpu"
import { Device, Rng } from "@effect-nn/tensor"
import { NodeChildProcessSpawner, NodeFileSystem, NodePath, NodeRuntime, NodeStdio, NodeTerminal } from "@effect/platform-node-shared"
import { Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import type { MatmulResult, NetworkName, NetworkResult, StepResult } from "./measure.ts"
import { benchMatmul, benchSteps, benchTraining, mergeMatmul } from "./measure.ts"
import type { PeerOutcome } from "./peers.ts"
import { defaultPeers, peerCatalog, preparePeers, runPeer } from "./peers.ts"
import { oneLineErrors } from "../src/cli-errors.ts"

if (process.env["XDG_RUNTIME_DIR"] === undefined || process.env["XDG_RUNTIME_DIR"] === "") process.env["XDG_RUNTIME_DIR"] = "/tmp"

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, "..", "..", "..")

const networkNames: ReadonlyArray<NetworkName> = ["shallow", "deep", "residual"]

/** The run's settings, from the flags (see the header; `--quick` changes the defaults). */
interface BenchConfig {
  readonly quick: boolean
  readonly sizes: ReadonlyArray<number>
  readonly networks: ReadonlyArray<NetworkName>
  readonly epochs: number
  readonly stepBatches: ReadonlyArray<number>
  readonly peerBudgetS: number
  readonly peerMaxEpochS: number
  readonly jsonPath: string
  /** The peer runs to do, in order (empty with `--only-effect-nn` or `--peers=none`). */
  readonly peerSelection: ReadonlyArray<string>
}

/** A comma-separated list's items, trimmed, empty ones dropped. */
const items = (text: string): Array<string> => text.split(",").map((s) => s.trim()).filter((s) => s !== "")
const isPositiveInt = (s: string): boolean => /^[0-9]+$/.test(s) && Number(s) > 0
/** A flag holding a comma-separated list of positive integers (absent: `Option.none()`). */
const intList = (name: string, description: string) =>
  Flag.String(name).pipe(
    Flag.filterMap(
      (text) => (items(text).length > 0 && items(text).every(isPositiveInt) ? Option.some(items(text).map(Number)) : Option.none()),
      (text) => `Expected comma-separated positive integers, got ${items(text).filter((s) => !isPositiveInt(s)).map((s) => `"${s}"`).join(", ") || "none"}`
    ),
    Flag.withMetavar("n,…"),
    Flag.withDescription(description),
    Flag.optional
  )
const isNetworkName = (s: string): s is NetworkName => (networkNames as ReadonlyArray<string>).includes(s)

const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}

/** PyTorch's CPU figures (3 epochs) from `../shared/reference/README.md`, by network. */
const pytorchReference = (): Partial<Record<NetworkName, { readonly accuracy: number; readonly loss: number }>> => {
  try {
    const text = readFileSync(join(repo, "..", "shared", "reference", "README.md"), "utf8")
    const row = (prefix: string) => {
      const m = text.match(new RegExp(`\\| ${prefix}[^|]*\\|[^|]*\\| ([0-9.]+) % \\| ([0-9.]+) \\|`))
      return m === null ? undefined : { accuracy: Number(m[1]) / 100, loss: Number(m[2]) }
    }
    const out: Partial<Record<NetworkName, { readonly accuracy: number; readonly loss: number }>> = {}
    const s = row("ShallowMLP")
    const d = row("DeepMLP")
    const r = row("ResidualNetwork")
    if (s !== undefined) out.shallow = s
    if (d !== undefined) out.deep = d
    if (r !== undefined) out.residual = r
    return out
  } catch {
    return {}
  }
}

interface EffectNnResults {
  readonly device: string
  /** Workgroup shape of the subgroup matmul chosen by the autotune (absent for other kernels). */
  readonly matmulWorkgroup?: { readonly subgroupRows: number; readonly subgroupCols: number }
  /** Register block of the tiled matmul chosen by the autotune (absent for other kernels). */
  readonly matmulBlock?: { readonly rowsPerThread: number; readonly colsPerThread: number }
  /** The autotune's timings of every candidate (workgroup shape or register block, ms) and whether they came from the cache. */
  readonly matmulTuning?: { readonly measuredMs: Readonly<Record<string, number>>; readonly cached: boolean }
  /** All timed runs of all passes together (the figures the tables and ratios use). */
  readonly matmul: ReadonlyArray<MatmulResult>
  /** effect-nn's matmul passes: one before the peers' matmuls and one after each peer matmul run that ran. */
  readonly matmulPasses: ReadonlyArray<MatmulPass>
  readonly training: ReadonlyArray<NetworkResult>
  readonly steps: ReadonlyArray<StepResult>
}

/** One pass of effect-nn's square matmuls and when it ran ("before the peers' matmuls", "after mm-jax-webgpu"). */
interface MatmulPass {
  readonly when: string
  readonly results: ReadonlyArray<MatmulResult>
}

/** The device layer of every effect-nn pass: WebGPU, the matmul autotune measured once and cached. */
const gpuLayer = Layer.merge(WebGpu.layer({ autotune: "measure" }), Rng.seeded(0))

/** The device's description, its matmul kernel and the autotuned workgroup shape (subgroup kernel) or register block (tiled kernel). */
const effectNnDevice = Effect.gen(function*() {
  const device = yield* Device
  const gpu = device.backend instanceof WebGpuBackend ? device.backend : undefined
  const tuning = gpu === undefined ? undefined : tuningOf(gpu)
  const how = `(autotune: ${tuning === undefined ? "none" : tuning.cached ? "cached" : "measured now"})`
  const tuned = gpu === undefined
    ? ""
    : gpu.matmulVariant === "subgroup"
    ? `, workgroups of ${gpu.matmulConfig.subgroupRows}×${gpu.matmulConfig.subgroupCols} subgroups ${how}`
    : `, ${gpu.tiledConfig.rowsPerThread}×${gpu.tiledConfig.colsPerThread} register blocks ${how}`
  log(`bench: effect-nn on ${device.backend.description}${gpu === undefined ? "" : `, ${gpu.matmulVariant} matmul kernel${tuned}`}`)
  return {
    device: device.backend.description,
    ...(gpu === undefined ? {} : gpu.matmulVariant === "subgroup" ? { matmulWorkgroup: gpu.matmulConfig } : { matmulBlock: gpu.tiledConfig }),
    ...(tuning === undefined ? {} : { matmulTuning: { measuredMs: tuning.measuredMs, cached: tuning.cached } })
  }
})

/** One pass of effect-nn's square matmuls. */
const effectNnMatmul = ({ sizes }: BenchConfig, pass: string) =>
  Effect.gen(function*() {
    const about = yield* effectNnDevice
    log(`bench: matmul ${sizes.join(", ")} (${pass})`)
    return { about, matmul: yield* benchMatmul(sizes) }
  }).pipe(Effect.provide(gpuLayer))

/** effect-nn's training epochs and steps. */
const effectNnTraining = ({ networks, epochs, stepBatches, quick }: BenchConfig) => (Effect.gen(function*() {
  const train = yield* loadMnist("train")
  const test = yield* loadMnist("test")
  const training: Array<NetworkResult> = []
  for (const n of networks) {
    log(`bench: ${n}, ${epochs} epoch(s) at batch 64`)
    training.push(yield* benchTraining(n, epochs, 64, { train, test }))
  }
  const steps: Array<StepResult> = []
  for (const n of networks) {
    for (const b of stepBatches) {
      log(`bench: ${n}, ms per step at batch ${b}`)
      steps.push(yield* benchSteps(n, b, quick ? 1500 : 4000, train))
    }
  }
  return { training, steps }
  // The tutorial networks need at most the Rng (dropout), which is provided here.
}) as Effect.Effect<{ readonly training: ReadonlyArray<NetworkResult>; readonly steps: ReadonlyArray<StepResult> }, unknown, Device | Rng>).pipe(Effect.provide(gpuLayer))

/** When the first peer run started (the peer budget counts from there, across both phases). */
let peerClock: number | undefined

/** Runs the peer runs of `selection` in order, within what is left of the peer budget. */
const runPeers = async ({ sizes, peerMaxEpochS, peerBudgetS }: BenchConfig, selection: ReadonlyArray<string>): Promise<{ readonly outcomes: ReadonlyArray<PeerOutcome>; readonly error?: string }> => {
  if (selection.length === 0) return { outcomes: [] }
  const catalog = peerCatalog(sizes, peerMaxEpochS)
  const unknown = selection.filter((p) => !catalog.some((r) => r.name === p))
  if (unknown.length > 0) return { outcomes: [], error: `unknown peer runs: ${unknown.join(", ")} (known: ${catalog.map((r) => r.name).join(", ")})` }
  const dir = join(repo, ".peers")
  const problem = preparePeers(join(repo, "..", "shared", "peers"), dir, log)
  if (problem !== undefined) return { outcomes: [], error: problem }
  const outcomes: Array<PeerOutcome> = []
  peerClock ??= performance.now()
  const t0 = peerClock
  for (const name of selection) {
    const run = catalog.find((r) => r.name === name)!
    const left = peerBudgetS - (performance.now() - t0) / 1000
    if (left < Math.min(run.expectSeconds, 60)) {
      outcomes.push({ name, seconds: 0, status: "skipped", results: [], log: `skipped: ${left.toFixed(0)} s of the peer budget left` })
      log(`bench: peer ${name} skipped (budget)`)
      continue
    }
    log(`bench: peer ${name} (at most ${Math.round(left)} s)`)
    let outcome = await runPeer(dir, run, Math.max(30, left))
    log(`bench: peer ${name}: ${outcome.status} in ${outcome.seconds.toFixed(0)} s`)
    const leftNow = peerBudgetS - (performance.now() - t0) / 1000
    if (outcome.status === "failed" && run.script.startsWith("mnist") && leftNow > 60) {
      // tfjs-webgpu has crashed (SIGSEGV in Dawn) during full epochs here: retry with the
      // epoch extrapolated from its 200-step probe.
      const retry = await runPeer(dir, { ...run, args: [...run.args.filter((a) => !a.startsWith("--maxEpochS")), "--maxEpochS=1"] }, Math.max(30, leftNow))
      log(`bench: peer ${name}, retried with the epoch extrapolated: ${retry.status} in ${retry.seconds.toFixed(0)} s`)
      if (retry.status === "ok") outcome = { ...retry, log: `${outcome.log}\n(first attempt ${outcome.status}; retried extrapolated)` }
    }
    outcomes.push(outcome)
  }
  return { outcomes }
}

// ---- formatting ----

const f = (x: number | undefined, digits = 1): string => (x === undefined || Number.isNaN(x) ? "—" : x.toFixed(digits))
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)
const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n")

const networkTitle: Record<NetworkName, string> = { shallow: "ShallowMLP", deep: "DeepMLP", residual: "ResidualNetwork" }

interface PeerMatmul {
  readonly label: string
  readonly gflops: ReadonlyMap<number, number>
}

interface PeerMnist {
  readonly label: string
  readonly network: NetworkName
  readonly epochS: number
  readonly samplesPerS: number
  readonly measured: string
  readonly testAcc: number | undefined
}

const peerLabel = (r: Record<string, unknown>): string => `${r["lib"] === "jax-js" ? "jax-js" : String(r["lib"])} ${String(r["backend"])}`

const report = ({ sizes, networks, stepBatches }: BenchConfig, ours: EffectNnResults, outcomes: ReadonlyArray<PeerOutcome>): string => {
  const peerMatmul: Array<PeerMatmul> = []
  const peerMnist: Array<PeerMnist> = []
  for (const o of outcomes) {
    for (const r of o.results) {
      if (r["bench"] === "matmul") {
        const label = peerLabel(r)
        let entry = peerMatmul.find((p) => p.label === label)
        if (entry === undefined) {
          entry = { label, gflops: new Map() }
          peerMatmul.push(entry)
        }
        ;(entry.gflops as Map<number, number>).set(Number(r["n"]), Number((r["gflops"] as { median: number }).median))
      } else if (r["bench"] === "mnist") {
        peerMnist.push({
          label: peerLabel(r),
          network: r["model"] === "deep" ? "deep" : "shallow",
          epochS: Number(r["epochS"]),
          samplesPerS: Number(r["samplesPerS"]),
          measured: String(r["measured"]),
          testAcc: typeof r["testAcc"] === "number" ? r["testAcc"] : undefined
        })
      }
    }
  }
  const out: Array<string> = []
  out.push(`## bench — ${ours.device}, ${new Date().toISOString()}\n`)
  // Matmul
  const mmRows: Array<Array<string>> = [["effect-nn webgpu", ...sizes.map((n) => f(ours.matmul.find((m) => m.n === n)?.gflops.median))]]
  if (ours.matmulPasses.length > 1) {
    for (const pass of ours.matmulPasses) mmRows.push([`… its pass ${pass.when}`, ...sizes.map((n) => f(pass.results.find((m) => m.n === n)?.gflops.median))])
  }
  for (const p of peerMatmul) mmRows.push([p.label, ...sizes.map((n) => f(p.gflops.get(n)))])
  for (const p of peerMatmul.filter((q) => q.label.endsWith("webgpu"))) {
    mmRows.push([`effect-nn ÷ ${p.label}`, ...sizes.map((n) => {
      const a = ours.matmul.find((m) => m.n === n)?.gflops.median
      const b = p.gflops.get(n)
      return a === undefined || b === undefined ? "—" : `×${f(a / b)}`
    })])
  }
  out.push(`### Matmul fp32, GFLOP/s (median; each run issues C = A·B and reads C back, with the same A and B every run, as the peers' runs; effect-nn packs B into a texture from 512 on and keeps it packed from the second run on (weight prepacking, packages/gpu/src/packed.ts)${ours.matmulPasses.length > 1 ? "; effect-nn: the median of all its runs, in passes before the peers' matmuls and after each of them" : ""})\n`)
  out.push(table(["implementation", ...sizes.map((n) => `${n}`)], mmRows))
  // Training
  const ref = pytorchReference()
  const trainRows: Array<Array<string>> = []
  for (const t of ours.training) {
    const secs = t.epochs.map((e) => e.seconds)
    const med = [...secs].sort((a, b) => a - b)[Math.floor(secs.length / 2)]!
    const last = t.epochs[t.epochs.length - 1]!
    const cpu = t.epochs.map((e) => e.cpuSeconds)
    trainRows.push([
      networkTitle[t.network],
      "effect-nn webgpu",
      `${f(med, 2)} (${secs.map((s) => f(s, 2)).join(", ")})`,
      f(t.epochs.length === 0 ? Number.NaN : 60000 / med, 0),
      `${cpu.map((c) => f(c, 2)).join(", ")}`,
      f(last.cpuSeconds / last.seconds, 2),
      `${f(last.mainThreadCpuSeconds, 2)} / ${f(last.otherThreadsCpuSeconds, 2)} (${last.busyWorkerThreads ?? "—"})`,
      f(last.dispatchesPerStep, 1),
      f(last.submitsPerStep, 2),
      t.epochs.map((e) => mb(e.peakBytes)).join(", "),
      `${f(t.testAccuracy * 100, 2)}% (${t.epochs.length} ep), train loss ${f(last.trainLoss, 4)}`,
      ref[t.network] === undefined ? "—" : `${f(ref[t.network]!.accuracy * 100, 2)}% (3 ep), train loss ${f(ref[t.network]!.loss, 4)}`
    ])
    for (const p of peerMnist.filter((q) => q.network === t.network)) {
      trainRows.push([networkTitle[t.network], p.label, `${f(p.epochS, 2)}${p.measured === "full epoch" ? "" : " (extrapolated)"}`, f(p.samplesPerS, 0), "—", "—", "—", "—", "—", "—", p.testAcc === undefined ? "—" : `${f(p.testAcc * 100, 2)}%`, "—"])
    }
  }
  out.push("\n### MNIST training, batch 64, Adam 1e-3, one epoch = 60,000 samples (938 steps)\n")
  out.push(table(["network", "library / backend", "epoch s (median; each)", "samples/s", "process CPU s per epoch", "CPU ÷ wall (last)", "CPU s main / other threads (busy threads), last epoch", "dispatches/step", "submits/step", "peak device MiB after each epoch", "test accuracy, mean train loss of the last epoch", "PyTorch CPU (reference README)"], trainRows))
  // Steps
  const stepRows = networks.map((n) => [
    networkTitle[n],
    ...stepBatches.flatMap((b) => {
      const s = ours.steps.find((x) => x.network === n && x.batchSize === b)
      return s === undefined ? ["—", "—"] : [f(s.msPerStep, 2), `${f(s.dispatchesPerStep, 0)} / ${f(s.submitsPerStep, 2)}`]
    })
  ])
  out.push("\n### effect-nn ms per training step (steady state) and dispatches / submits per step\n")
  out.push(table(["network", ...stepBatches.flatMap((b) => [`ms @ batch ${b}`, `dispatches / submits @ ${b}`])], stepRows))
  // Ratios
  const ratioRows: Array<Array<string>> = []
  for (const p of peerMnist) {
    const t = ours.training.find((x) => x.network === p.network)
    if (t === undefined || t.epochs.length === 0) continue
    const secs = t.epochs.map((e) => e.seconds).sort((a, b) => a - b)
    const med = secs[Math.floor(secs.length / 2)]!
    ratioRows.push([networkTitle[p.network], p.label, `×${f(p.epochS / med, 1)}`])
  }
  if (ratioRows.length > 0) {
    out.push("\n### Speed-up of effect-nn webgpu: peer epoch seconds ÷ effect-nn epoch seconds\n")
    out.push(table(["network", "peer", "speed-up"], ratioRows))
  }
  const failed = outcomes.filter((o) => o.status !== "ok")
  if (failed.length > 0) out.push(`\nPeer runs not completed: ${failed.map((o) => `${o.name} (${o.status})`).join(", ")}`)
  return out.join("\n")
}

/**
 * The order: effect-nn's matmuls, then each peer's matmuls followed by effect-nn's matmuls
 * again (when that peer ran), then effect-nn's training and the peers' training. The
 * machine's own speed drifts by tens of percent over minutes, so effect-nn's matmul runs are
 * taken before, between and after the peers' and pooled: the ratios compare measurements
 * spread over the same minutes, and one slow spell weighs on one pass of several.
 */
const main = async (config: BenchConfig): Promise<void> => {
  const { sizes, networks, epochs, stepBatches, peerSelection, peerBudgetS, peerMaxEpochS, jsonPath } = config
  const started = performance.now()
  const first = await Effect.runPromise(effectNnMatmul(config, "before the peers' matmuls"))
  const isMatmulPeer = (name: string): boolean => name.startsWith("mm-")
  const passes: Array<MatmulPass> = [{ when: "before the peers' matmuls", results: first.matmul }]
  const matmulOutcomes: Array<PeerOutcome> = []
  let matmulError: string | undefined
  for (const name of peerSelection.filter(isMatmulPeer)) {
    const run = await runPeers(config, [name])
    matmulOutcomes.push(...run.outcomes)
    if (run.error !== undefined) {
      matmulError = run.error
      break
    }
    if (run.outcomes.some((o) => o.status === "ok")) {
      const when = `after ${name}`
      passes.push({ when, results: (await Effect.runPromise(effectNnMatmul(config, when))).matmul })
    }
  }
  const peersMatmul = { outcomes: matmulOutcomes, error: matmulError }
  const trained = await Effect.runPromise(effectNnTraining(config))
  const peersTraining = peersMatmul.error === undefined ? await runPeers(config, peerSelection.filter((name) => !isMatmulPeer(name))) : { outcomes: [] }
  const ours: EffectNnResults = { ...first.about, matmul: mergeMatmul(passes.map((p) => p.results)), matmulPasses: passes, ...trained }
  const peers = { outcomes: [...peersMatmul.outcomes, ...peersTraining.outcomes], error: peersMatmul.error ?? peersTraining.error }
  if (peers.error !== undefined) log(`bench: peers not run: ${peers.error}`)
  const text = report(config, ours, peers.outcomes)
  process.stdout.write(`${text}\n`)
  mkdirSync(dirname(jsonPath), { recursive: true })
  writeFileSync(jsonPath, `${JSON.stringify({
    date: new Date().toISOString(),
    node: process.version,
    cpus: (await import("node:os")).cpus().length,
    options: { sizes, networks, epochs, stepBatches, peers: peerSelection, peerBudgetS, peerMaxEpochS },
    effectNn: ours,
    peers: peers.outcomes.map((o) => ({ name: o.name, status: o.status, seconds: o.seconds, results: o.results, ...(o.status === "ok" ? {} : { log: o.log }) })),
    peersError: peers.error ?? null,
    seconds: (performance.now() - started) / 1000
  }, null, 2)}\n`)
  log(`bench: figures written to ${jsonPath} (${((performance.now() - started) / 1000).toFixed(0)} s in all)`)
}

const command = Command.make(
  "bench",
  {
    onlyEffectNn: Flag.Boolean("only-effect-nn").pipe(Flag.withDescription("Measure effect-nn alone (no peer runs)"), Flag.withDefault(false)),
    peers: Flag.String("peers").pipe(
      Flag.withMetavar("default|all|none|name,…"),
      Flag.withDescription("Peer runs: default, all, none or a comma-separated list of run names (default: default; with --quick: none)"),
      Flag.optional
    ),
    peerBudgetS: Flag.Finite("peer-budget-s").pipe(Flag.withMetavar("seconds"), Flag.withDescription("Seconds for all the peer runs together (default 900)"), Flag.withDefault(900)),
    peerMaxEpochS: Flag.Finite("peer-max-epoch-s").pipe(Flag.withMetavar("seconds"), Flag.withDescription("Seconds a peer's epoch may take before it is extrapolated (default 30)"), Flag.withDefault(30)),
    sizes: intList("sizes", "Square matmul sizes (default 256,512,1024,2048; with --quick: 256,512)"),
    networks: Flag.String("networks").pipe(
      Flag.filterMap(
        (text) => (items(text).length > 0 && items(text).every(isNetworkName) ? Option.some(items(text) as Array<NetworkName>) : Option.none()),
        (text) => `Expected comma-separated networks of ${networkNames.join(", ")}; unknown: ${items(text).filter((s) => !isNetworkName(s)).map((s) => `"${s}"`).join(", ") || "none given"}`
      ),
      Flag.withMetavar("name,…"),
      Flag.withDescription("Networks to train (default shallow,deep,residual; with --quick: shallow)"),
      Flag.optional
    ),
    epochs: Flag.Int("epochs").pipe(
      Flag.filter((n) => n > 0, (n) => `Expected a positive integer, got ${n}`),
      Flag.withDescription("Training epochs per network (default 3; with --quick: 1)"),
      Flag.optional
    ),
    stepBatches: intList("step-batches", "Batch sizes for ms per step (default 64,1024; with --quick: 64)"),
    json: Flag.String("json").pipe(Flag.withMetavar("path"), Flag.withDescription("Write every figure as JSON here (default bench-results/bench.json)"), Flag.optional),
    quick: Flag.Boolean("quick").pipe(Flag.withDescription("A short run: smaller defaults (see the other flags), fewer timed steps"), Flag.withDefault(false))
  },
  (flags) =>
    Effect.gen(function*() {
      const quick = flags.quick
      const sizes = Option.getOrElse(flags.sizes, () => (quick ? [256, 512] : [256, 512, 1024, 2048]))
      const peerMaxEpochS = flags.peerMaxEpochS
      const peerSelection = flags.onlyEffectNn ? [] : (() => {
        const p = Option.getOrElse(flags.peers, () => (quick ? "none" : "default"))
        if (p === "none") return []
        if (p === "default") return defaultPeers
        if (p === "all") return peerCatalog(sizes, peerMaxEpochS).map((r) => r.name)
        return p.split(",")
      })()
      const config: BenchConfig = {
        quick,
        sizes,
        networks: Option.getOrElse(flags.networks, (): ReadonlyArray<NetworkName> => (quick ? ["shallow"] : networkNames)),
        epochs: Option.getOrElse(flags.epochs, () => (quick ? 1 : 3)),
        stepBatches: Option.getOrElse(flags.stepBatches, () => (quick ? [64] : [64, 1024])),
        peerBudgetS: flags.peerBudgetS,
        peerMaxEpochS,
        jsonPath: resolve(Option.getOrElse(flags.json, () => join(repo, "bench-results", "bench.json"))),
        peerSelection
      }
      yield* Effect.promise(() => main(config))
    })
).pipe(Command.withDescription("Benchmark effect-nn against the JavaScript peers on the same device (markdown tables on stdout, figures as JSON)"))

// Parse errors as one `bench: …` line each (its --json names a file, so no JSON error line).
const services = Layer.mergeAll(NodeTerminal.layer, NodeStdio.layer, NodeChildProcessSpawner.layer, oneLineErrors("bench", false)).pipe(
  Layer.provideMerge(Layer.merge(NodeFileSystem.layer, NodePath.layer))
)

command.pipe(Command.run({ version: "0.1.0" }), Effect.provide(services), NodeRuntime.runMain)
