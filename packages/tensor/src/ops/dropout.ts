/**
 * Inverted dropout as an op: y = x ⊙ m with m from the device's `dropoutMask`.
 * Sources: Srivastava et al., "Dropout: A Simple Way to Prevent Neural Networks from
 * Overfitting" (JMLR 2014); PyTorch `torch.nn.functional.dropout` (kept units scaled by
 * 1/(1−p) in training so that eval needs no rescaling).
 */
import { ShapeError } from "@effect-nn/shape"
import type { Tensor } from "../tensor.ts"
import type { F32 } from "./record.ts"
import { assertFloat, deviceOf, result, retype } from "./record.ts"

/**
 * `dropout(x, p, seed)`: zeroes each element of a float32 tensor independently with
 * probability `p` and scales the kept ones by 1/(1−p): y = x ⊙ m, m = `dropoutMask(numel,
 * p, seed)` (1/(1−p) where kept, 0 where dropped; the mask is a function of `seed` and the
 * element index only, the same on every backend). Shape preserved: [S] → [S].
 *
 * Gradient: the mask is a constant, so dL/dx = g ⊙ m — kept units pass g/(1−p), dropped
 * units 0 (the forward's mask, recomputed from the seed, as PyTorch reuses its mask).
 *
 * Edge cases (as PyTorch): `p = 0` returns `x` itself (identity, no mask drawn);
 * `p = 1` returns zeros whose gradient is zero — computed without multiplying `x`, so an
 * infinite or NaN input still gives 0, never NaN.
 *
 * Throws `ShapeError` when `x` is not float32, when `p` is not in [0, 1] (NaN included),
 * or when `seed` is not an integer (it is used modulo 2³²).
 */
export const dropout = <S>(x: Tensor<S>, p: number, seed: number): Tensor<S> => {
  const input = assertFloat("dropout", x)
  if (!(p >= 0 && p <= 1)) {
    throw new ShapeError({ op: "dropout", reason: `p must be a probability in [0, 1], got ${p}`, shapes: [input.dims] })
  }
  if (!Number.isInteger(seed)) {
    throw new ShapeError({ op: "dropout", reason: `seed must be an integer (used modulo 2^32), got ${seed}`, shapes: [input.dims] })
  }
  if (p === 0) return x
  const device = deviceOf("dropout", input)
  if (p === 1) {
    const zeros = device.backend.fill(input.numel, 0, "float32")
    return retype(result(device, zeros, input.dims, "float32", [input], (g) => [
      result(device, device.backend.fill(g.numel, 0, "float32"), g.dims, "float32", [])
    ]))
  }
  // One pass (`Backend.dropoutApply`: the mask is recomputed from the seed, never stored);
  // the backward is the same op on the gradient.
  const apply = (t: F32): F32 =>
    result(device, device.backend.dropoutApply(t.storage, t.numel, p, seed >>> 0), t.dims, "float32", [t], (g) => [apply(g)])
  return retype(apply(input))
}
