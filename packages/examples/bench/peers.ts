/**
 * The peers' side of `bench`: the harness in `../shared/peers` (tfjs webgpu/wasm/cpu and
 * jax-js webgpu/wasm on the same Dawn device), copied to a git-ignored folder, installed
 * there with `npm install` (the shared folder is read-only), and run one script at a time
 * with a time limit. Each script prints `RESULT {json}` lines, collected here.
 */
import { spawn, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

/** One peer run: a script of the harness with its arguments. */
export interface PeerRun {
  /** Short name, e.g. `mm-tfjs-webgpu`. */
  readonly name: string
  readonly script: string
  readonly args: ReadonlyArray<string>
  /** Rough seconds it takes on a 2-core lavapipe machine (to skip runs that cannot fit the budget). */
  readonly expectSeconds: number
}

/** What a peer run produced. */
export interface PeerOutcome {
  readonly name: string
  readonly seconds: number
  /** `ok`, `timeout`, `failed` (non-zero exit) or `skipped` (budget). */
  readonly status: "ok" | "timeout" | "failed" | "skipped"
  readonly results: ReadonlyArray<Record<string, unknown>>
  readonly log: string
}

/** The peer runs `bench` knows, by name. `--peers=` picks among them. */
export const peerCatalog = (sizes: ReadonlyArray<number>, maxEpochS: number): ReadonlyArray<PeerRun> => {
  const s = `--sizes=${sizes.join(",")}`
  const big = sizes.some((n) => n >= 2048)
  return [
    { name: "mm-tfjs-webgpu", script: "matmul-tfjs.mjs", args: ["--backend=webgpu", s], expectSeconds: big ? 150 : 40 },
    { name: "mm-jax-webgpu", script: "matmul-jax.mjs", args: ["--device=webgpu", s], expectSeconds: big ? 150 : 40 },
    { name: "mm-tfjs-wasm", script: "matmul-tfjs.mjs", args: ["--backend=wasm", s], expectSeconds: big ? 150 : 40 },
    { name: "mm-jax-wasm", script: "matmul-jax.mjs", args: ["--device=wasm", s], expectSeconds: big ? 200 : 60 },
    { name: "mm-tfjs-cpu", script: "matmul-tfjs.mjs", args: ["--backend=cpu", s], expectSeconds: big ? 300 : 60 },
    { name: "mn-jax-webgpu", script: "mnist-jax.mjs", args: ["--device=webgpu", `--maxEpochS=${maxEpochS}`], expectSeconds: Math.min(maxEpochS, 30) + 30 },
    { name: "mn-tfjs-webgpu", script: "mnist-tfjs.mjs", args: ["--backend=webgpu", "--model=shallow", `--maxEpochS=${maxEpochS}`], expectSeconds: Math.min(maxEpochS, 60) + 40 },
    { name: "mn-tfjs-webgpu-deep", script: "mnist-tfjs.mjs", args: ["--backend=webgpu", "--model=deep", `--maxEpochS=${maxEpochS}`], expectSeconds: Math.min(maxEpochS, 120) + 60 },
    { name: "mn-jax-wasm", script: "mnist-jax.mjs", args: ["--device=wasm", `--maxEpochS=${maxEpochS}`], expectSeconds: Math.min(maxEpochS, 60) + 40 },
    { name: "mn-tfjs-wasm", script: "mnist-tfjs.mjs", args: ["--backend=wasm", "--model=shallow", `--maxEpochS=${maxEpochS}`], expectSeconds: Math.min(maxEpochS, 60) + 40 },
    { name: "mn-tfjs-wasm-deep", script: "mnist-tfjs.mjs", args: ["--backend=wasm", "--model=deep", `--maxEpochS=${maxEpochS}`], expectSeconds: Math.min(maxEpochS, 120) + 60 },
    { name: "mn-tfjs-cpu", script: "mnist-tfjs.mjs", args: ["--backend=cpu", "--model=shallow", `--maxEpochS=${maxEpochS}`], expectSeconds: Math.min(maxEpochS, 120) + 60 }
  ]
}

/** The default selection: the WebGPU peers (the same device as effect-nn). */
export const defaultPeers = ["mm-tfjs-webgpu", "mm-jax-webgpu", "mn-jax-webgpu", "mn-tfjs-webgpu", "mn-tfjs-webgpu-deep"]

/**
 * Copies the harness from `source` to `target` (unless it is there with the same
 * `package.json`) and runs `npm install` there when its dependencies are missing.
 * Returns an error text, or undefined when the harness is ready.
 */
export const preparePeers = (source: string, target: string, log: (line: string) => void): string | undefined => {
  if (!existsSync(join(source, "package.json"))) return `no peer harness at ${source}`
  const wanted = readFileSync(join(source, "package.json"), "utf8")
  const have = existsSync(join(target, "package.json")) ? readFileSync(join(target, "package.json"), "utf8") : undefined
  if (have !== wanted) {
    mkdirSync(target, { recursive: true })
    cpSync(source, target, { recursive: true, filter: (p) => !p.includes("node_modules") && !p.includes(`${source}/results`) })
  }
  const installed = existsSync(join(target, "node_modules", "@jax-js", "jax")) && existsSync(join(target, "node_modules", "@tensorflow", "tfjs"))
  if (!installed || have !== wanted) {
    log(`bench: installing the peers in ${target} (npm install)…`)
    const r = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: target, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", timeout: 600_000 })
    if (r.status !== 0) return `npm install failed in ${target}: ${(r.stderr ?? "").slice(-2000)}`
  }
  return undefined
}

/** Runs one peer script with a time limit; collects its RESULT lines. */
export const runPeer = (dir: string, run: PeerRun, timeoutS: number): Promise<PeerOutcome> =>
  new Promise((resolve) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, [join(dir, run.script), ...run.args], {
      cwd: dir,
      env: { ...process.env, XDG_RUNTIME_DIR: process.env["XDG_RUNTIME_DIR"] ?? "/tmp" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.stderr.on("data", (d: Buffer) => (out += d.toString()))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill("SIGKILL")
    }, timeoutS * 1000)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      const results = out.split("\n").filter((l) => l.startsWith("RESULT ")).map((l) => JSON.parse(l.slice(7)) as Record<string, unknown>)
      resolve({
        name: run.name,
        seconds: (performance.now() - t0) / 1000,
        status: timedOut ? "timeout" : code === 0 ? "ok" : "failed",
        results,
        log: `${out.slice(-4000)}${code === 0 ? "" : `\n(exit ${signal === null ? `code ${code}` : `signal ${signal}`})`}`
      })
    })
  })
