/**
 * Atomic checkpoint writes (issue 4): a write that fails or is interrupted at any stage —
 * creating the temporary file, writing (part of) it, syncing it, renaming it — leaves the
 * previous file readable and byte-identical, and no temporary file behind. Failures are
 * injected through a `FileSystem` layer that wraps Node's.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node-shared"
import { CheckpointError, checkWritable, decodeSafetensors, encodeSafetensors, float32Bytes, isTemporaryFor, writeFileAtomic } from "@effect-nn/layers"
import { Cause, Effect, Exit, Fiber, FileSystem, Layer, PlatformError } from "effect"
import { describe, expect, it } from "vitest"

type Stage = "open" | "write" | "partial-write" | "sync" | "rename" | "hang-write" | "hang-sync" | "hang-rename"

const stages: ReadonlyArray<Stage> = ["open", "write", "partial-write", "sync", "rename", "hang-write", "hang-sync", "hang-rename"]

const injected = (stage: Stage, method: string) =>
  PlatformError.systemError({ _tag: "Unknown", module: "FileSystem", method, description: `injected failure (${stage})` })

/** Node's file system with one stage of writing a temporary file made to fail or hang. */
const failingAt = (stage: Stage) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(Effect.service(FileSystem.FileSystem), (base): FileSystem.FileSystem => {
      const isTemp = (path: string) => path.endsWith(".tmp")
      return {
        ...base,
        open: (path, options) => {
          if (!isTemp(path)) return base.open(path, options)
          if (stage === "open") return Effect.fail(injected(stage, "open"))
          return Effect.map(base.open(path, options), (file): FileSystem.File => ({
            [FileSystem.FileTypeId]: file[FileSystem.FileTypeId],
            stat: file.stat,
            seek: (offset, from) => file.seek(offset, from),
            read: (buffer, o) => file.read(buffer, o),
            readAlloc: (size, o) => file.readAlloc(size, o),
            truncate: (length) => file.truncate(length),
            write: (buffer) => file.write(buffer),
            sync: stage === "sync" ? Effect.fail(injected(stage, "sync")) : stage === "hang-sync" ? Effect.never : file.sync,
            writeAll: (buffer) =>
              stage === "write"
                ? Effect.fail(injected(stage, "writeAll"))
                : stage === "partial-write"
                  ? Effect.andThen(file.writeAll(buffer.subarray(0, buffer.length >> 1)), Effect.fail(injected(stage, "writeAll")))
                  : stage === "hang-write"
                    ? Effect.andThen(file.writeAll(buffer.subarray(0, buffer.length >> 1)), Effect.never)
                    : file.writeAll(buffer)
          }))
        },
        rename: (from, to) => (stage === "rename" ? Effect.fail(injected(stage, "rename")) : stage === "hang-rename" ? Effect.never : base.rename(from, to))
      }
    })
  ).pipe(Layer.provide(NodeFileSystem.layer))

const fileWith = (value: number) =>
  Effect.runPromise(encodeSafetensors([{ key: "w", dtype: "F32", shape: [64], bytes: float32Bytes(new Float32Array(64).fill(value)) }], { version: `${value}` }))

const leftovers = (folder: string, target: string) => readdirSync(folder).filter((name) => isTemporaryFor(target, name) || name.endsWith(".tmp"))

describe("atomic checkpoint writes", () => {
  it("a successful write replaces the previous file and leaves no temporary file", async () => {
    const folder = mkdtempSync(join(tmpdir(), "effect-nn-atomic-"))
    const path = join(folder, "model.safetensors")
    writeFileSync(path, await fileWith(1))
    const next = await fileWith(2)
    await Effect.runPromise(writeFileAtomic(path, next).pipe(Effect.provide(NodeFileSystem.layer)))
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(next))).toBe(true)
    expect(readdirSync(folder)).toEqual(["model.safetensors"])
  })

  for (const stage of stages) {
    it(`a write that ${stage.startsWith("hang") ? "is interrupted while it hangs in" : "fails in"} ${stage.replace("hang-", "")} leaves the previous file readable and no temporary file`, async () => {
      const folder = mkdtempSync(join(tmpdir(), "effect-nn-atomic-"))
      const path = join(folder, "model.safetensors")
      const previous = await fileWith(1)
      writeFileSync(path, previous)
      const next = await fileWith(2)
      const write = writeFileAtomic(path, next).pipe(Effect.provide(failingAt(stage)))
      if (stage.startsWith("hang")) {
        const exit = await Effect.runPromise(Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(write)
          yield* Effect.sleep("30 millis")
          yield* Fiber.interrupt(fiber)
          return yield* Fiber.await(fiber)
        }))
        expect(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)).toBe(true)
      } else {
        const exit = await Effect.runPromiseExit(write)
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect(error).toBeInstanceOf(CheckpointError)
        expect((error as CheckpointError).message).toContain(path)
        expect((error as CheckpointError).message).toContain("injected failure")
      }
      const now = readFileSync(path)
      expect(Buffer.from(now).equals(Buffer.from(previous))).toBe(true)
      const decoded = await Effect.runPromise(decodeSafetensors(now, path))
      expect(decoded.metadata["version"]).toBe("1")
      expect(leftovers(folder, path)).toEqual([])
    }, 10_000)
  }

  it("a failed first write leaves neither a target nor a temporary file", async () => {
    const folder = mkdtempSync(join(tmpdir(), "effect-nn-atomic-"))
    const path = join(folder, "model.safetensors")
    const exit = await Effect.runPromiseExit(writeFileAtomic(path, await fileWith(2)).pipe(Effect.provide(failingAt("sync"))))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(readdirSync(folder)).toEqual([])
  })

  it("writing into a folder that does not exist fails with a CheckpointError naming the path", async () => {
    const path = join(tmpdir(), "effect-nn-no-such-folder", "x", "model.safetensors")
    const error = await Effect.runPromise(Effect.flip(writeFileAtomic(path, await fileWith(1)).pipe(Effect.provide(NodeFileSystem.layer))))
    expect(error).toBeInstanceOf(CheckpointError)
    expect(error.message).toContain(path)
  })
})

describe("checkWritable: a destination is checked before the work whose result it receives", () => {
  const check = (path: string) => Effect.runPromiseExit(checkWritable(path).pipe(Effect.provide(NodeFileSystem.layer)))
  const reason = (exit: Exit.Exit<void, CheckpointError>): string => {
    if (Exit.isSuccess(exit)) return "succeeded"
    const e = Cause.squash(exit.cause)
    return e instanceof CheckpointError ? e.reason : `not a CheckpointError: ${String(e)}`
  }

  it("a writable path passes and leaves nothing behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "effect-nn-writable-"))
    expect(reason(await check(join(dir, "model.safetensors")))).toBe("succeeded")
    expect(readdirSync(dir)).toEqual([])
    // An existing file is fine too (it will be replaced atomically), and stays as it was.
    writeFileSync(join(dir, "old.safetensors"), "old")
    expect(reason(await check(join(dir, "old.safetensors")))).toBe("succeeded")
    expect(readdirSync(dir)).toEqual(["old.safetensors"])
    expect(readFileSync(join(dir, "old.safetensors"), "utf8")).toBe("old")
  })

  it("a missing folder, a folder as the path, and a file as the folder fail with a CheckpointError", async () => {
    const dir = mkdtempSync(join(tmpdir(), "effect-nn-writable-"))
    expect(reason(await check(join(dir, "no", "such", "model.safetensors")))).toMatch(/^cannot be written: its folder .*no\/such does not exist/)
    expect(reason(await check(dir))).toBe("cannot be written: it is a folder")
    writeFileSync(join(dir, "plain"), "x")
    expect(reason(await check(join(dir, "plain", "model.safetensors")))).toMatch(/^cannot be written: .*plain is not a folder/)
  })
})
