/** The one error of checkpoint reading, writing and loading. */
import { Data } from "effect"

/** One key whose tensor does not fit the module: the file's shape and dtype against the model's. */
export interface KeyMismatch {
  readonly key: string
  /** The shape in the checkpoint. */
  readonly actual: ReadonlyArray<number>
  /** The shape the module's tensor has. */
  readonly expected: ReadonlyArray<number>
  /** The checkpoint's safetensors dtype (`F32`, `I64`, …). */
  readonly actualDtype: string
  /** The dtype the module's tensor has (`float32`, `int32`). */
  readonly expectedDtype: string
  /** Why it does not fit, in words: `shape [1, 3] against [2, 3]`. */
  readonly reason: string
}

/**
 * How a state dict met a module: what was loaded, which of the module's keys the
 * checkpoint lacks, which of the checkpoint's keys the module lacks (after any prefix
 * option), and which keys are there on both sides but do not fit (shape, dtype or value
 * range). PyTorch's `load_state_dict` returns the first two as `missing_keys` and
 * `unexpected_keys`; a shape mismatch is an error there in either mode, and here too.
 */
export interface LoadReport {
  /** Keys loaded, in the module's state-dict order. */
  readonly loaded: ReadonlyArray<string>
  /** The module's keys absent from the checkpoint, with the module's shapes. */
  readonly missing: ReadonlyArray<{ readonly key: string; readonly shape: ReadonlyArray<number> }>
  /** The checkpoint's keys the module does not have (as named in the checkpoint), with their shapes. */
  readonly unexpected: ReadonlyArray<{ readonly key: string; readonly shape: ReadonlyArray<number> }>
  /** Keys on both sides whose tensors do not fit. */
  readonly mismatched: ReadonlyArray<KeyMismatch>
  /** A suggested fix when the key sets differ only by a prefix (`module.`), else undefined. */
  readonly hint: string | undefined
}

/**
 * A checkpoint could not be read, written or loaded. `file` is the path (or, for bytes in
 * memory, a name such as `<bytes>`), `reason` says what was expected and what was found,
 * in numbers where there are numbers (`file is 1000 bytes, the header says 407408`).
 * When a state dict did not fit a module, `report` lists every missing, unexpected and
 * mis-shaped key at once. `message` reads `"<file>: <reason>"`.
 *
 * Nothing has happened to the caller's model when this error is returned: loading builds
 * a new model only once every key has been checked, and a failed write leaves the
 * previous file in place.
 */
export class CheckpointError extends Data.TaggedError("CheckpointError")<{
  readonly file: string
  readonly reason: string
  readonly report?: LoadReport
  readonly cause?: unknown
}> {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

/** The name used in errors for bytes that did not come from a file. */
export const bytesName = "<bytes>"
