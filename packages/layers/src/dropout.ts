/**
 * `Dropout(p)`: inverted dropout, PyTorch's `nn.Dropout`. Sources: Srivastava et al.,
 * "Dropout: A Simple Way to Prevent Neural Networks from Overfitting" (JMLR 2014);
 * PyTorch `torch.nn.Dropout` (kept units scaled by 1/(1−p) during training, identity in
 * eval).
 */
import { DeviceError, dropout } from "@effect-nn/tensor"
import type { Rng } from "@effect-nn/tensor"
import { Effect } from "effect"
import { ConfigError, pythonFloatRepr } from "./errors.ts"
import { leaf, stateless } from "./leaf.ts"
import type { Module, SameShape } from "./module.ts"

/**
 * A `Dropout` description: shape-preserving ([S] → [S]), no parameters, no buffers; its
 * train forward needs the `Rng` service (`R = Rng`).
 */
export interface Dropout extends Module<SameShape, {}, {}, Rng> {
  readonly _tag: "Dropout"
  /** The probability of zeroing an element, in [0, 1]. */
  readonly p: number
}

/**
 * `Dropout(p = 0.5)`: in train mode zeroes each element independently with probability
 * `p` and scales the kept ones by 1/(1−p) (so the expected output equals the input); in
 * eval mode returns its input unchanged, bit for bit. Any shape: [S] → [S].
 *
 * Randomness: each train forward draws one 32-bit seed from the `Rng` (`nextU32`) and
 * passes it to the device's mask kernel, so a seeded `Rng` reproduces the masks; the
 * mask depends only on the seed and the element index, the same on CPU and GPU.
 * `p = 0` and `p = 1` draw nothing (identity and zeros, as PyTorch). The gradient reuses
 * the forward's mask: g/(1−p) where kept, 0 where dropped.
 *
 * Errors: throws `ConfigError` at construction (synchronously — a description is a plain
 * value) when `p` is not in [0, 1] (NaN included), like PyTorch's `ValueError`. A train
 * forward run without a random source (possible only by calling `run` by hand, since
 * `forward` requires `Rng` in its type) fails with a `DeviceError` whose message says to
 * provide `Rng` and whose `cause` is a `ConfigError`.
 *
 * Label: PyTorch's repr, `Dropout(p=0.2, inplace=False)`.
 */
export const Dropout = (p = 0.5): Dropout => {
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new ConfigError({ module: "Dropout", argument: "p", expected: "a probability in [0, 1]", value: p })
  }
  const label = `Dropout(p=${pythonFloatRepr(p)}, inplace=False)`
  return leaf<SameShape, {}, {}, Rng, { _tag: "Dropout"; p: number }>({
    tag: "Dropout",
    label,
    parameterCount: 0,
    init: Effect.succeed(stateless),
    apply: (ctx, model, x, path) => {
      if (ctx.mode === "eval" || p === 0) return { output: x, buffers: model.buffers }
      if (p === 1) return { output: dropout(x, 1, 0), buffers: model.buffers }
      if (ctx.rng === undefined) {
        const where = path === "" ? "Dropout" : path
        const cause = new ConfigError({ module: where, argument: "the Rng service", expected: "provided for a train-mode forward", value: "none" })
        throw new DeviceError({
          reason: `${where}: ${label} in train mode needs a random source; provide Rng (e.g. Effect.provide(Rng.seeded(seed))) or run in eval mode`,
          cause
        })
      }
      return { output: dropout(x, p, ctx.rng.nextU32()), buffers: model.buffers }
    },
    outputShape: (input) => input
  }, { _tag: "Dropout", p })
}
