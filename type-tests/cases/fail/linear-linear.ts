/**
 * Two Linears whose features do not meet: the error names both dims and sits on the
 * second Linear (the first module whose input does not fit).
 */
import { Linear, named, sequential } from "@effect-nn/layers"

// expect-error: Linear(64, 10) expects last dim 64, got 128
export const oneLine = sequential(Linear(784, 128), Linear(64, 10))

export const multiLine = sequential(
  Linear(784, 128),
  // expect-error: Linear(64, 10) expects last dim 64, got 128 (input [..., 128])
  Linear(64, 10)
)

// Naming a module does not hide its check.
export const namedLayers = sequential(
  named("fc1", Linear(784, 128)),
  // expect-error: Linear(64, 10) expects last dim 64, got 128
  named("fc2", Linear(64, 10))
)
