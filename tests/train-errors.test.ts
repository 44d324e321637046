/**
 * `train` with a destination it cannot write: the failure comes before any training (not
 * after the epochs, losing the trained model), as one line on stderr, a JSON error object as
 * the last stdout line with `--json`, and exit code 1 — no stack trace.
 */
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")

const train = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "packages/examples/src/train.ts", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

describe("train: unwritable --save / --checkpoint", () => {
  it("fails before training with one clear line, exit code 1 and a JSON error", async () => {
    const folder = mkdtempSync(join(tmpdir(), "effect-nn-train-errors-"))
    const missing = join(folder, "no", "such", "model.safetensors")
    const r = await train(["--device", "cpu", "--limit", "640", "--epochs", "1", "--save", missing, "--json"])
    expect(r.code).toBe(1)
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("train: "))
    expect(lines).toEqual([`train: ${missing}: cannot be written: its folder ${join(folder, "no", "such")} does not exist or cannot be read (NotFound: FileSystem.stat (${join(folder, "no", "such")}))`])
    expect(r.stderr).not.toContain("    at ")
    expect(r.stdout).not.toMatch(/epoch 1: train loss/)
    const last = JSON.parse(r.stdout.trim().split("\n").at(-1)!)
    expect(last.error.tag).toBe("CheckpointError")

    const asFolder = await train(["--device", "cpu", "--limit", "640", "--epochs", "1", "--checkpoint", folder])
    expect(asFolder.code).toBe(1)
    expect(asFolder.stderr).toContain(`train: ${folder}: cannot be written: it is a folder`)
  }, 60_000)
})
