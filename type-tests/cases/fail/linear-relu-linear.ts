/**
 * A shape-preserving activation between two Linears passes the dim through, so the
 * mismatch 128 → 100 is reported on the second Linear.
 */
import { Linear, ReLU, sequential } from "@effect-nn/layers"

// expect-error: Linear(100, 10) expects last dim 100, got 128
export const oneLine = sequential(Linear(784, 128), ReLU(), Linear(100, 10))

export const multiLine = sequential(
  Linear(784, 128),
  ReLU(),
  // expect-error: Linear(100, 10) expects last dim 100, got 128 (input [..., 128])
  Linear(100, 10)
)
