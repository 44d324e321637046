import { Cause, Effect, Exit } from "effect"
import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** Bytes of an IDX images file with the given header and `pixels` (defaults to count*rows*cols bytes of i % 256). */
export const idxImagesBytes = (count: number, rows: number, cols: number, magic = 0x00000803): Uint8Array => {
  const bytes = new Uint8Array(16 + count * rows * cols)
  const dv = new DataView(bytes.buffer)
  dv.setUint32(0, magic, false)
  dv.setUint32(4, count, false)
  dv.setUint32(8, rows, false)
  dv.setUint32(12, cols, false)
  for (let i = 16; i < bytes.length; i++) bytes[i] = (i - 16) % 256
  return bytes
}

/** Bytes of an IDX labels file with labels i % 10. */
export const idxLabelsBytes = (count: number, magic = 0x00000801): Uint8Array => {
  const bytes = new Uint8Array(8 + count)
  const dv = new DataView(bytes.buffer)
  dv.setUint32(0, magic, false)
  dv.setUint32(4, count, false)
  for (let i = 0; i < count; i++) bytes[8 + i] = i % 10
  return bytes
}

/** A fresh temporary folder. */
export const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), "effect-nn-data-"))

/** Writes `bytes` to `dir/name` and returns the path. */
export const writeTemp = async (dir: string, name: string, bytes: Uint8Array): Promise<string> => {
  const path = join(dir, name)
  await writeFile(path, bytes)
  return path
}

/** Runs an effect expected to fail and returns its typed error (throws if it succeeded or died). */
export const runFailure = async <A, E>(effect: Effect.Effect<A, E>): Promise<E> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "None") throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return error.value
}
