/**
 * Spatial layers compute their output shapes in the types:
 * - `Conv2d(1, 32, 3)` on [B, 1, 28, 28] is [B, 32, 26, 26]; with padding 1, [B, 32, 28, 28];
 *   stride, dilation and per-dim sizes follow floor((H + 2P − D(K − 1) − 1)/S) + 1;
 * - `MaxPool2d(2)` halves (stride defaults to the kernel), `AvgPool2d` likewise;
 * - `Flatten()` multiplies out [B, 32, 13, 13] to [B, 5408]; other start/end dims;
 * - a whole CNN, as a `sequential` and pinned with `sequentialFor`, gives [B, 10], and
 *   `forward` returns `Tensor<[B, 10]>`; unbatched [C, H, W] inputs work;
 * - parameters: weight [O, C/groups, kH, kW], bias [O] (absent with `bias: false`);
 *   BatchNorm2d keeps the shape and has BatchNorm's state.
 */
import type { ForwardError, ModelOf, OutputOf, ParamsOf, BuffersOf } from "@effect-nn/layers"
import { AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Mode, ReLU, forward, sequential, sequentialFor } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import type { Effect } from "effect"
import { expectTypeOf } from "vitest"

type B = Sym<"B">

// Conv2d: the example and the usual variants.
expectTypeOf<OutputOf<ReturnType<typeof Conv2d<1, 32, 3>>, [B, 1, 28, 28]>>().toEqualTypeOf<[B, 32, 26, 26]>()
const conv = Conv2d(1, 32, 3)
expectTypeOf<OutputOf<typeof conv, [B, 1, 28, 28]>>().toEqualTypeOf<[B, 32, 26, 26]>()
expectTypeOf<OutputOf<typeof conv, [64, 1, 28, 28]>>().toEqualTypeOf<[64, 32, 26, 26]>()
expectTypeOf<OutputOf<typeof conv, [1, 28, 28]>>().toEqualTypeOf<[32, 26, 26]>()
const same = Conv2d(1, 32, 3, { padding: 1 })
expectTypeOf<OutputOf<typeof same, [B, 1, 28, 28]>>().toEqualTypeOf<[B, 32, 28, 28]>()
const strided = Conv2d(3, 16, [5, 3], { stride: 2, padding: [2, 1], dilation: [1, 2] })
// H: floor((32 + 4 − 4 − 1)/2) + 1 = 16; W: floor((20 + 2 − 4 − 1)/2) + 1 = 9.
expectTypeOf<OutputOf<typeof strided, [B, 3, 32, 20]>>().toEqualTypeOf<[B, 16, 16, 9]>()
// Sizes unknown until run time stay unknown; the batch stays symbolic.
expectTypeOf<OutputOf<typeof conv, [B, 1, number, 28]>>().toEqualTypeOf<[B, 32, number, 26]>()
expectTypeOf<OutputOf<typeof conv, [B, number, 28, 28]>>().toEqualTypeOf<[B, 32, 26, 26]>()

// Parameters: weight [O, C/groups, kH, kW] and bias [O].
expectTypeOf<ParamsOf<typeof conv>>().toEqualTypeOf<{ readonly weight: Tensor<[32, 1, 3, 3]>; readonly bias: Tensor<[32]> }>()
const grouped = Conv2d(8, 16, [3, 5], { groups: 4, bias: false })
expectTypeOf<ParamsOf<typeof grouped>>().toEqualTypeOf<{ readonly weight: Tensor<[16, 2, 3, 5]> }>()

// Pooling: stride defaults to the kernel size.
expectTypeOf<OutputOf<ReturnType<typeof MaxPool2d<2>>, [B, 32, 26, 26]>>().toEqualTypeOf<[B, 32, 13, 13]>()
expectTypeOf<OutputOf<ReturnType<typeof MaxPool2d<2>>, [B, 64, 11, 11]>>().toEqualTypeOf<[B, 64, 5, 5]>()
const overlapping = MaxPool2d(3, { stride: 2, padding: 1 })
expectTypeOf<OutputOf<typeof overlapping, [B, 8, 28, 28]>>().toEqualTypeOf<[B, 8, 14, 14]>()
const avg = AvgPool2d([2, 4])
expectTypeOf<OutputOf<typeof avg, [B, 8, 28, 28]>>().toEqualTypeOf<[B, 8, 14, 7]>()

// Flatten: the product of the flattened dims.
const flat = Flatten()
expectTypeOf<OutputOf<typeof flat, [B, 32, 13, 13]>>().toEqualTypeOf<[B, 5408]>()
expectTypeOf<OutputOf<ReturnType<typeof Flatten<0, 1>>, [4, 5, 6]>>().toEqualTypeOf<[20, 6]>()
expectTypeOf<OutputOf<ReturnType<typeof Flatten<1, 2>>, [B, 2, 3, 4]>>().toEqualTypeOf<[B, 6, 4]>()
expectTypeOf<OutputOf<ReturnType<typeof Flatten<-2, -1>>, [B, 2, 3, 4]>>().toEqualTypeOf<[B, 2, 12]>()
expectTypeOf<OutputOf<typeof flat, [B, number, 13, 13]>>().toEqualTypeOf<[B, number]>()

// BatchNorm2d keeps the shape; its state is BatchNorm's.
const bn = BatchNorm2d(32)
expectTypeOf<OutputOf<typeof bn, [B, 32, 26, 26]>>().toEqualTypeOf<[B, 32, 26, 26]>()
expectTypeOf<BuffersOf<typeof bn>["running_mean"]>().toEqualTypeOf<Tensor<[32]>>()

// The chain: Conv2d(1, 32, 3) → MaxPool2d(2) → Flatten() gives 5408 features.
const chain = sequential(Conv2d(1, 32, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(5408, 10))
expectTypeOf<OutputOf<typeof chain, [B, 1, 28, 28]>>().toEqualTypeOf<[B, 10]>()

// A two-block CNN, pinned to its input: checked at construction, [B, 10] out.
const cnn = sequentialFor<[B, 1, 28, 28]>()(
  Conv2d(1, 32, 3), BatchNorm2d(32), ReLU(), MaxPool2d(2),
  Conv2d(32, 64, 3), ReLU(), MaxPool2d(2),
  Dropout(0.25), Flatten(), Linear(1600, 10)
)
expectTypeOf<OutputOf<typeof cnn, [B, 1, 28, 28]>>().toEqualTypeOf<[B, 10]>()
declare const cnnModel: ModelOf<typeof cnn>
declare const images: Tensor<[B, 1, 28, 28]>
expectTypeOf(forward(cnn, cnnModel, images, Mode.eval)).toEqualTypeOf<Effect.Effect<Tensor<[B, 10]>, ForwardError>>()
expectTypeOf<keyof ParamsOf<typeof cnn>>().toEqualTypeOf<"0" | "1" | "4" | "9">()
expectTypeOf<ParamsOf<typeof cnn>["4"]["weight"]>().toEqualTypeOf<Tensor<[64, 32, 3, 3]>>()

// BatchNorm2d in train mode with a batch of one image is fine (statistics over H·W too).
declare const oneImage: Tensor<[1, 1, 28, 28]>
forward(cnn, cnnModel, oneImage, Mode.train)

// Before an input is given a chain is checked on [..., ?]: spatial layers keep what they know.
expectTypeOf<OutputOf<typeof conv, [...Array<number>, number]>>().toEqualTypeOf<[...Array<number>, 32, number, number]>()
expectTypeOf<OutputOf<ReturnType<typeof MaxPool2d<2>>, [...Array<number>, 32, number, number]>>().toEqualTypeOf<[...Array<number>, 32, number, number]>()

// Options known only as their declared type: sizes unknown, the bias either present or not.
declare const someOptions: import("@effect-nn/layers").Conv2dOptions
const loose = Conv2d(1, 8, 3, someOptions)
expectTypeOf<OutputOf<typeof loose, [B, 1, 28, 28]>>().toEqualTypeOf<[B, 8, number, number]>()
expectTypeOf<ParamsOf<typeof loose>>().toEqualTypeOf<
  { readonly weight: Tensor<[8, number, 3, 3]>; readonly bias: Tensor<[8]> } | { readonly weight: Tensor<[8, number, 3, 3]> }
>()
