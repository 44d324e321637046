/**
 * Ctrl-C during `train` (issue 4): a child `train` process gets SIGINT after its first
 * epoch line; it stops after the step in progress, writes a training checkpoint, releases
 * the device, says how to resume and exits with 130. A second child resumes from that
 * checkpoint and finishes the epoch. The children run Node with tsx's loader directly
 * (one process, so the signal is delivered once, as a terminal delivers it).
 */
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node-shared"
import { ShallowMLP, readTrainingCheckpointInfo } from "@effect-nn/examples"
import { loadStateDict } from "@effect-nn/layers"
import { Cpu, Rng } from "@effect-nn/tensor"
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")

interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Starts `train` with `args`; `onStdout` sees the output so far after each chunk. */
const startTrain = (args: ReadonlyArray<string>, onStdout?: (text: string, child: ChildProcess) => void) => {
  const child = spawn(process.execPath, ["--import", "tsx", "packages/examples/src/train.ts", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString()
    onStdout?.(stdout, child)
  })
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString()
  })
  return new Promise<Finished>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })))
}

describe("SIGINT during train", () => {
  it("stops after the current step, writes a resumable checkpoint, says how to resume; the resumed run finishes", async () => {
    const folder = mkdtempSync(join(tmpdir(), "effect-nn-sigint-"))
    const checkpoint = join(folder, "run.ckpt")
    let signalled = false
    const first = await startTrain(["--device", "cpu", "--limit", "2048", "--test-limit", "500", "--epochs", "50", "--checkpoint", checkpoint], (text, child) => {
      if (!signalled && /^epoch 1:/m.test(text)) {
        signalled = true
        child.kill("SIGINT")
      }
    })
    expect(signalled).toBe(true)
    expect(first.stderr).toContain("stopping after the current step")
    // The signal arrives as epoch 2 starts; the loop gives the event loop a turn after every
    // step, so the run stops inside epoch 2, right after the step in progress.
    expect(first.stdout).toMatch(/interrupted: stopped after step \d+ of epoch 2 \(step \d+\); checkpoint written to /)
    expect(first.stdout).toContain("device memory released")
    expect(first.stdout).toContain(`resume with: npx -y pnpm@12.4.2 train --resume ${checkpoint} --epochs 50`)
    expect(first.code).toBe(130)
    expect(readdirSync(folder).filter((n) => n.endsWith(".tmp"))).toEqual([])

    const info = await Effect.runPromise(readTrainingCheckpointInfo(checkpoint).pipe(Effect.provide(NodeFileSystem.layer)))
    expect(info.progress.epoch).toBe(2)
    expect(info.progress.batch).toBeGreaterThan(0)
    expect(info.progress.batch).toBeLessThan(32)
    expect(info.progress.globalStep).toBe((info.progress.epoch - 1) * 32 + info.progress.batch)
    expect(info.settings).toEqual({ model: "shallow", batchSize: 64, lr: 1e-3, limit: 2048 })

    // Resume to the end of the interrupted epoch; model, batch size, lr and limit come from the checkpoint.
    const saved = join(folder, "model.safetensors")
    const epoch = info.progress.epoch
    const second = await startTrain(["--device", "cpu", "--resume", checkpoint, "--epochs", `${epoch}`, "--test-limit", "500", "--save", saved])
    expect(second.code).toBe(0)
    expect(second.stdout).toContain(`resumed from ${checkpoint}: epoch ${epoch}, after batch ${info.progress.batch}`)
    expect(second.stdout).toMatch(new RegExp(`^epoch ${epoch}: train loss \\d`, "m"))
    expect(existsSync(saved)).toBe(true)
    const loaded = await Effect.runPromise(Effect.gen(function*() {
      const net = ShallowMLP()
      return (yield* loadStateDict(saved, net, yield* net.init)).report.loaded
    }).pipe(Effect.provide(Layer.mergeAll(Cpu.layer, Rng.seeded(0), NodeFileSystem.layer))))
    expect(loaded).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
  }, 60_000)
})
