import { readFile } from "node:fs/promises"
import { Effect } from "effect"
import { DataError } from "./errors.ts"

/**
 * Reads a whole file into memory as bytes.
 *
 * @param path a file system path.
 * @returns an Effect of the file's bytes (a `Uint8Array` view over a buffer of exactly
 *   the file's length).
 * @errors `DataError` naming `path`, with the system's message (`ENOENT: …`, `EISDIR: …`)
 *   as the reason.
 */
export const readBytes = (path: string): Effect.Effect<Uint8Array, DataError> =>
  Effect.tryPromise({
    try: () => readFile(path),
    catch: (cause) =>
      new DataError({
        file: path,
        reason: `cannot read file: ${cause instanceof Error ? cause.message : String(cause)}`
      })
  }).pipe(Effect.map((buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)))
