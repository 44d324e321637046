/**
 * Train and eval are different types. Pass `Mode.train` or `Mode.eval` to `forward`:
 * the train forward returns the module's new buffers and may need the `Rng`; the eval
 * forward needs nothing and records nothing for backward.
 */

/** Train mode: batch statistics, dropout active, new buffers returned. */
export interface Train {
  readonly _tag: "train"
}

/** Eval mode: running statistics, dropout off, nothing recorded for backward. */
export interface Eval {
  readonly _tag: "eval"
}

/** The two modes as values. */
export const Mode: { readonly train: Train; readonly eval: Eval } = {
  train: { _tag: "train" },
  eval: { _tag: "eval" }
}
