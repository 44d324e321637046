/**
 * Conv/pool output sizes that would be ≤ 0 (or a zero kernel/stride/dilation) are
 * `ShapeMismatch` errors naming the inputs; using one where a size is expected fails.
 */
import type { ConvOut } from "@effect-nn/shape"

declare const size: number

// A 5-wide kernel does not fit a 2-wide input.
// expect-error: ConvOut(H=2, K=5, S=1, P=0, D=1): output size would be <= 0: padded input H + 2P = 2 is smaller than the kernel span D(K - 1) + 1 = 5
export const tooSmall: ConvOut<2, 5, 1, 0, 1> = size

// Dilation widens the span: 2·(3 − 1) + 1 = 5 > 3 + 2·0.
// expect-error: ConvOut(H=3, K=3, S=1, P=0, D=2): output size would be <= 0
export const dilated: ConvOut<3, 3, 1, 0, 2> = size

// expect-error: ConvOut(H=28, K=2, S=0, P=0, D=1): stride must be positive, got 0
export const zeroStride: ConvOut<28, 2, 0> = size
