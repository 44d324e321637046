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

  it("flag values out of range, and a resume with nothing left to train, are one-line ConfigErrors", async () => {
    for (const [args, line] of [
      [["--limit", "0"], "train: --limit must be positive, got 0"],
      [["--test-limit", "-3"], "train: --test-limit must be positive, got -3"],
      [["--seed", "4294967296"], "train: --seed must be an integer in [0, 2^32), got 4294967296"]
    ] as const) {
      const r = await train(["--device", "cpu", ...args])
      expect(r.code).toBe(1)
      expect(r.stderr.split("\n").filter((l) => l.startsWith("train: "))).toEqual([line])
    }
    const folder = mkdtempSync(join(tmpdir(), "effect-nn-train-errors-"))
    const checkpoint = join(folder, "ck.safetensors")
    const first = await train(["--device", "cpu", "--limit", "640", "--test-limit", "100", "--epochs", "1", "--checkpoint", checkpoint])
    expect(first.code).toBe(0)
    const again = await train(["--device", "cpu", "--resume", checkpoint, "--epochs", "1", "--json"])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`train: --epochs must be at least 2 to continue ${checkpoint} (it has finished epoch 1; with --resume, --epochs is the last epoch to train), got 1`)
    expect(JSON.parse(again.stdout.trim().split("\n").at(-1)!).error.tag).toBe("ConfigError")
    // Another model than the checkpoint's: refused before the model summary is printed.
    const other = await train(["--device", "cpu", "--resume", checkpoint, "--model", "deep", "--epochs", "2", "--json"])
    expect(other.code).toBe(1)
    expect(other.stderr).toContain(`train: ${checkpoint}: it was written for model shallow, this run builds deep`)
    expect(other.stdout).not.toContain("parameters")
    expect(JSON.parse(other.stdout.trim().split("\n").at(-1)!).error.tag).toBe("CheckpointError")
    // Warnings (a test limit over the 10000 test images) go to stderr: stdout stays the report and its JSON.
    const warned = await train(["--device", "cpu", "--limit", "640", "--epochs", "1", "--test-limit", "20000", "--json"])
    expect(warned.code).toBe(0)
    expect(warned.stderr).toContain("limit 20000 is more than the 10000 images")
    expect(warned.stdout).not.toContain("WARN")
    expect(JSON.parse(warned.stdout.trim().split("\n").at(-1)!).epochs).toBe(1)
  }, 120_000)

  it("flags it cannot parse (wrong type, unknown name, unknown flag) and empty paths: one line each, before the summary, a JSON error with --json", async () => {
    for (const [args, line] of [
      [["--lr", "abc"], 'train: Invalid value for flag --lr: "abc". Expected a string representing a finite number; see --help'],
      [["--device", "tpu"], 'train: Invalid value for flag --device: "tpu". Expected: "webgpu" | "cpu"; see --help'],
      [["--bogus"], "train: Unrecognized flag: --bogus in command train; see --help"],
      [["--checkpoint", ""], 'train: --checkpoint must be a file path, got ""'],
      [["--resume", ""], 'train: --resume must be a file path, got ""'],
      [["--epocs", "2"], "train: Unrecognized flag: --epocs in command train. Did you mean this? --epochs; see --help"],
      [["--epochs", "-1"], "train: --epochs must be positive, got -1"]
    ] as const) {
      const r = await train([...(args[0] === "--device" ? [] : ["--device", "cpu"]), ...args, "--json"])
      expect(r.code).toBe(1)
      expect(r.stderr.split("\n").filter((l) => l.startsWith("train: "))).toEqual([line])
      expect(r.stderr).not.toContain("    at ")
      // No help text and no model summary before the error.
      expect(r.stdout).not.toContain("FLAGS")
      expect(r.stdout).not.toContain("parameters")
      expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!).error.message).toContain(line.replace(/^train: /, "").replace(/; see --help$/, ""))
    }
  }, 120_000)
})
