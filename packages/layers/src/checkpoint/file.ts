/**
 * Checkpoint files through Effect's `FileSystem` service (provide `NodeFileSystem.layer`
 * from `@effect/platform-node-shared` in Node; browsers use the bytes API instead).
 *
 * Writes are atomic: the bytes go to a temporary file in the target's folder (same file
 * system, so the rename cannot turn into a copy), which is written in full, synced to
 * disk and closed, then renamed over the target — POSIX `rename(2)` replaces the target
 * in one step, so a reader sees the old file or the new one, never a mix. A failure or an
 * interruption at any point removes the temporary file and leaves the previous target
 * as it was. Sources: POSIX `rename()` ("If the link named by the new argument exists, it
 * shall be removed and old renamed to new … a link named new shall remain visible to
 * other threads throughout the renaming operation"); the write-sync-rename protocol of
 * e.g. SQLite's and Git's lock files.
 */
import type { Device, DeviceError } from "@effect-nn/tensor"
import { Effect, Exit, FileSystem } from "effect"
import type { AnyModule, ModelOf } from "../module.ts"
import { CheckpointError } from "./error.ts"
import type { SafetensorsFile } from "./reader.ts"
import { decodeSafetensors } from "./reader.ts"
import type { Loaded, LoadOptions, SaveOptions } from "./state-dict.ts"
import { applyStateDict, saveStateDictBytes } from "./state-dict.ts"

/** The folder part of a path (`.` for a bare name), for `/` and `\` separators. */
const folderOf = (path: string): string => {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"))
  return cut < 0 ? "." : cut === 0 ? path.slice(0, 1) : path.slice(0, cut)
}

const baseOf = (path: string): string => path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1)

/** A temporary name beside `path`: `<folder>/.<name>.<random>.tmp`. */
export const temporaryPathFor = (path: string): string => {
  const random = new Uint32Array(2)
  globalThis.crypto.getRandomValues(random)
  const folder = folderOf(path)
  const sep = path.includes("\\") && !path.includes("/") ? "\\" : "/"
  return `${folder}${folder.endsWith(sep) ? "" : sep}.${baseOf(path)}.${random[0]!.toString(36)}${random[1]!.toString(36)}.tmp`
}

/** True for names `temporaryPathFor` makes for `target` (to look for leftovers). */
export const isTemporaryFor = (target: string, name: string): boolean => name.startsWith(`.${baseOf(target)}.`) && name.endsWith(".tmp")

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Writes `bytes` to `path` atomically (see the module note): temporary file, write, sync,
 * close, rename. Fails with `CheckpointError` naming `path` and the failed stage; the
 * previous file at `path`, if any, is then untouched and no temporary file remains. An
 * interruption (a second Ctrl-C) has the same outcome: the temporary file is removed and
 * the previous file stays.
 */
export const writeFileAtomic = (path: string, bytes: Uint8Array): Effect.Effect<void, CheckpointError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const temp = temporaryPathFor(path)
    const stage = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>) =>
      Effect.mapError(effect, (e) => new CheckpointError({ file: path, reason: `writing failed while ${name} (temporary file ${temp}): ${describe(e)}`, cause: e }))
    const write = Effect.scoped(Effect.gen(function*() {
      const handle = yield* stage("creating the temporary file", fs.open(temp, { flag: "wx" }))
      yield* stage("writing", handle.writeAll(bytes))
      yield* stage("syncing", handle.sync)
    }))
    yield* Effect.gen(function*() {
      yield* write
      yield* stage("renaming over the target", fs.rename(temp, path))
    }).pipe(
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.ignore(fs.remove(temp, { force: true }))))
    )
    // Best effort: sync the folder so the rename itself survives a power cut (POSIX
    // fsync on a directory; not possible everywhere, and the new file is in place already).
    yield* Effect.ignore(Effect.scoped(Effect.flatMap(fs.open(folderOf(path), { flag: "r" }), (dir) => dir.sync)))
  })

/**
 * Checks, before any work whose result is to be written to `path`, that the write can
 * succeed: the folder exists and a file can be created in it (a temporary file is created
 * and removed, as `writeFileAtomic` would), and `path` is not a folder. Fails with a
 * `CheckpointError` naming `path` and the reason; writes nothing that stays.
 */
export const checkWritable = (path: string): Effect.Effect<void, CheckpointError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const folder = folderOf(path)
    const fail = (reason: string, cause?: unknown) => new CheckpointError({ file: path, reason, ...(cause === undefined ? {} : { cause }) })
    const folderInfo = yield* Effect.mapError(fs.stat(folder), (e) => fail(`cannot be written: its folder ${folder} does not exist or cannot be read (${describe(e)})`, e))
    if (folderInfo.type !== "Directory") return yield* fail(`cannot be written: ${folder} is not a folder`)
    const info = yield* Effect.option(fs.stat(path))
    if (info._tag === "Some" && info.value.type === "Directory") return yield* fail("cannot be written: it is a folder")
    const temp = temporaryPathFor(path)
    yield* Effect.scoped(Effect.mapError(fs.open(temp, { flag: "wx" }), (e) => fail(`cannot be written: creating a file in ${folder} failed (${describe(e)})`, e)))
    yield* Effect.ignore(fs.remove(temp, { force: true }))
  })

/** The bytes of `path`, or a `CheckpointError` naming it. */
export const readFileBytes = (path: string): Effect.Effect<Uint8Array, CheckpointError, FileSystem.FileSystem> =>
  Effect.flatMap(Effect.service(FileSystem.FileSystem), (fs) =>
    Effect.mapError(fs.readFile(path), (e) => new CheckpointError({ file: path, reason: `cannot read: ${describe(e)}`, cause: e })))

/** Reads and validates a safetensors file (see `decodeSafetensors` for the checks). */
export const readSafetensorsFile = (path: string): Effect.Effect<SafetensorsFile, CheckpointError, FileSystem.FileSystem> =>
  Effect.flatMap(readFileBytes(path), (bytes) => decodeSafetensors(bytes, path))

/**
 * Saves `model`'s state dict to `path` as safetensors, atomically: keys, shapes and
 * dtypes as PyTorch's `state_dict()` of the same architecture (float32 as `F32`,
 * counters as `I64`), so `model.load_state_dict(safetensors.torch.load_file(path))`
 * accepts it with `strict=True`.
 */
export const saveStateDict = <M extends AnyModule>(
  path: string,
  module: M,
  model: ModelOf<M>,
  options: SaveOptions = {}
): Effect.Effect<void, CheckpointError | DeviceError, FileSystem.FileSystem> =>
  Effect.flatMap(saveStateDictBytes(module, model, options), (bytes) => writeFileAtomic(path, bytes))

/**
 * Loads the safetensors state dict at `path` into a new model of `module` on the current
 * device. Every missing, unexpected and mis-shaped key is reported in one
 * `CheckpointError` (see `LoadOptions` for `strict` and the prefix options); `model` is
 * never changed.
 */
export const loadStateDict = <M extends AnyModule>(
  path: string,
  module: M,
  model: ModelOf<M>,
  options: Omit<LoadOptions, "file"> = {}
): Effect.Effect<Loaded<M>, CheckpointError | DeviceError, FileSystem.FileSystem | Device> =>
  Effect.flatMap(readSafetensorsFile(path), (file) => applyStateDict(module, model, file.tensors, { ...options, file: path }))
