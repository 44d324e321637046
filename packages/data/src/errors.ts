import { Data } from "effect"

/**
 * A failure to obtain or validate data: a file that cannot be read, an IDX file whose
 * header or length is wrong, a dataset whose parts disagree, or loader options that
 * cannot describe a batch sequence.
 *
 * - `file`: the path of the file involved, or for in-memory data the name of the
 *   component that rejected it (e.g. `"loader"`).
 * - `reason`: what was expected and what was found, in words and numbers.
 *
 * `message` reads `"<file>: <reason>"`.
 */
export class DataError extends Data.TaggedError("DataError")<{
  readonly file: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}
