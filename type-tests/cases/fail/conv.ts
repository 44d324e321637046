/**
 * The most common CNN mistake — a Linear after a conv stack that does not take the
 * flattened size — and the other spatial misfits are compile errors naming the sizes:
 * - after Conv2d(1, 32, 3), MaxPool2d(2) and Flatten() on [B, 1, 28, 28], Linear(5000, 10)
 *   names 5408 (= 32·13·13) and 5000: on the Linear when the chain is pinned to its input
 *   (`sequentialFor`), at `forward` otherwise;
 * - the field case Conv2d(1, 10, 3) → Flatten() → Linear(49, 10) on [2, 1, 9, 9]: 490
 *   (= 10·7·7) expected against 49;
 * - channel mismatches (between layers even before an input is given), a window larger than
 *   the input, a wrong rank, Flatten dims out of range, a BatchNorm2d of the wrong width.
 */
import type { ModelOf } from "@effect-nn/layers"
import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, Mode, ReLU, forward, sequential, sequentialFor } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"

type B = Sym<"B">

export const pinned = sequentialFor<[B, 1, 28, 28]>()(
  Conv2d(1, 32, 3),
  ReLU(),
  MaxPool2d(2),
  Flatten(),
  // expect-error: Linear(5000, 10) expects last dim 5000, got 5408 (input [B, 5408])
  Linear(5000, 10)
)

// Unpinned, the chain cannot know the image size; the error appears at forward.
const unpinned = sequential(Conv2d(1, 32, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(5000, 10))
declare const model: ModelOf<typeof unpinned>
declare const images: Tensor<[B, 1, 28, 28]>
// expect-error: Linear(5000, 10) expects last dim 5000, got 5408 (input [B, 5408])
forward(unpinned, model, images, Mode.eval)

// The field case: 490 = 10·7·7 expected, 49 given — at the Linear.
export const field = sequentialFor<[2, 1, 9, 9]>()(
  Conv2d(1, 10, 3),
  Flatten(),
  // expect-error: Linear(49, 10) expects last dim 49, got 490 (input [2, 490])
  Linear(49, 10)
)
const fieldUnpinned = sequential(Conv2d(1, 10, 3), Flatten(), Linear(49, 10))
declare const fieldModel: ModelOf<typeof fieldUnpinned>
declare const small: Tensor<[2, 1, 9, 9]>
// expect-error: Linear(49, 10) expects last dim 49, got 490 (input [2, 490])
forward(fieldUnpinned, fieldModel, small, Mode.eval)

// Channels: the second conv expects 16, the first gives 32 — caught without an input.
export const channels = sequential(
  Conv2d(1, 32, 3),
  ReLU(),
  // expect-error: Conv2d(16, 64, 3) expects 16 input channels (in_channels), got 32 (input [..., 32, ?, ?])
  Conv2d(16, 64, 3)
)
export const rgb = sequentialFor<[B, 1, 28, 28]>()(
  // expect-error: Conv2d(3, 16, 3) expects 3 input channels (in_channels), got 1 (input [B, 1, 28, 28])
  Conv2d(3, 16, 3)
)
export const bnWidth = sequential(
  Conv2d(1, 32, 3),
  // expect-error: BatchNorm2d(16) expects 16 channels (num_features), got 32 (input [..., 32, ?, ?])
  BatchNorm2d(16)
)

// A kernel larger than the (padded) input: the output would be empty.
export const tooSmall = sequentialFor<[B, 1, 3, 3]>()(
  // expect-error: Conv2d(1, 8, 5) on input [B, 1, 3, 3]: height: ConvOut(H=3, K=5, S=1, P=0, D=1): output size would be <= 0
  Conv2d(1, 8, 5)
)
export const pooledAway = sequentialFor<[B, 8, 5, 5]>()(
  Conv2d(8, 8, 3),
  MaxPool2d(2),
  // expect-error: MaxPool2d(2) on input [B, 8, 1, 1]: height: ConvOut(H=1, K=2, S=2, P=0, D=1): output size would be <= 0
  MaxPool2d(2)
)

// Wrong rank: a flat vector into a convolution.
export const flatIn = sequentialFor<[B, 784]>()(
  // expect-error: Conv2d(1, 32, 3) expects an input [N, 1, H, W] or [1, H, W], got [B, 784]
  Conv2d(1, 32, 3)
)

// Flatten dims that are not dims of the input.
export const badFlatten = sequentialFor<[B, 2, 3]>()(
  // expect-error: Flatten(start_dim=2, end_dim=1) does not fit input [B, 2, 3] of rank 3
  Flatten(2, 1)
)
