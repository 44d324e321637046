/**
 * The module toolbox: modes, combinators and custom modules keep exact types.
 * - eval forward needs nothing; a train forward through Dropout needs `Rng`;
 * - `parallel(..., "concat")` of widths 64 and 32 is `[B, 96]`; `"add"` keeps the shape;
 * - `residual` keeps the shape; a 50-block `repeat` of residual blocks and a 100-module
 *   `sequential` check without "excessively deep" errors;
 * - a custom module's declared `[B, 256] → [B, 256]` carries the batch through;
 * - ConditionalNet-style options change the parameter type.
 */
import type { Activation, ForwardError, ModelOf, OutputOf, ParamsOf, RequirementsOf, Residual, ResidualOptions, Sequential, Trained, BuffersOf } from "@effect-nn/layers"
import { BatchNorm1d, Dropout, Linear, Mode, ReLU, forward, module, named, parallel, parallelInputs, repeat, residual, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Rng, Tensor } from "@effect-nn/tensor"
import { Effect } from "effect"
import { expectTypeOf } from "vitest"

declare const x: Tensor<[Sym<"B">, 784]>

// Modes: eval needs no services, train through Dropout needs Rng; without Dropout it needs none.
const deep = sequential(Linear(784, 64), BatchNorm1d(64), ReLU(), Dropout(0.2), Linear(64, 10))
declare const deepModel: ModelOf<typeof deep>
expectTypeOf(forward(deep, deepModel, x, Mode.eval)).toEqualTypeOf<Effect.Effect<Tensor<[Sym<"B">, 10]>, ForwardError>>()
expectTypeOf(forward(deep, deepModel, x, Mode.train)).toEqualTypeOf<
  Effect.Effect<Trained<[Sym<"B">, 10], BuffersOf<typeof deep>>, ForwardError, Rng>
>()
const noDropout = sequential(Linear(784, 64), BatchNorm1d(64), ReLU(), Linear(64, 10))
declare const noDropoutModel: ModelOf<typeof noDropout>
expectTypeOf<Effect.Services<ReturnType<typeof trainNoDropout>>>().toEqualTypeOf<never>()
function trainNoDropout() {
  return forward(noDropout, noDropoutModel, x, Mode.train)
}
// Buffers are typed: running statistics of the BatchNorm at index 1.
expectTypeOf<BuffersOf<typeof deep>["1"]["running_mean"]>().toEqualTypeOf<Tensor<[64]>>()

// parallel: concat sums the widths, add keeps the shape.
const wide = parallel([Linear(784, 64), Linear(784, 32)], "concat")
expectTypeOf<OutputOf<typeof wide, [Sym<"B">, 784]>>().toEqualTypeOf<[Sym<"B">, 96]>()
const named2 = parallel({ tabular: Linear(784, 64), image: sequential(Linear(784, 16), ReLU(), Linear(16, 32)) }, "concat")
expectTypeOf<OutputOf<typeof named2, [Sym<"B">, 784]>>().toEqualTypeOf<[Sym<"B">, 96]>()
expectTypeOf<keyof ParamsOf<typeof named2>>().toEqualTypeOf<"tabular" | "image">()
const summed = parallel([Linear(784, 32), Linear(784, 32)], "add")
expectTypeOf<OutputOf<typeof summed, [Sym<"B">, 784]>>().toEqualTypeOf<[Sym<"B">, 32]>()
const head = sequential(wide, Linear(96, 10))
expectTypeOf<OutputOf<typeof head, [Sym<"B">, 784]>>().toEqualTypeOf<[Sym<"B">, 10]>()

// residual keeps the shape; the block's keys are the residual's keys.
const block = residual(sequential(named("fc1", Linear(256, 128)), ReLU(), named("fc2", Linear(128, 256))), { activation: ReLU() })
expectTypeOf<OutputOf<typeof block, [Sym<"B">, 256]>>().toEqualTypeOf<[Sym<"B">, 256]>()
expectTypeOf<keyof ParamsOf<typeof block>>().toEqualTypeOf<"fc1" | "fc2">()
// Its activation is kept in the type (printModule shows it); without one, the field is undefined.
expectTypeOf(block.activation).toEqualTypeOf<Activation<"ReLU"> | undefined>()
expectTypeOf(residual(Linear(4, 4)).activation).toEqualTypeOf<undefined>()
// `Residual<Block>` names a block with an activation too, and options typed as
// `ResidualOptions` add no requirement (a train forward still needs nothing).
type Block4 = Sequential<readonly [ReturnType<typeof Linear<4, 4>>, Activation<"ReLU">]>
const annotated: Residual<Block4> = residual(sequential(Linear(4, 4), ReLU()), { activation: ReLU() })
const looseOptions: ResidualOptions = { activation: ReLU() }
const loose = residual(sequential(Linear(4, 4), ReLU()), looseOptions)
expectTypeOf<RequirementsOf<typeof annotated>>().toEqualTypeOf<never>()
expectTypeOf<RequirementsOf<typeof loose>>().toEqualTypeOf<never>()

// A 50-block repeat of residual blocks.
const stack = sequential(Linear(784, 256), repeat(50, () => block), Linear(256, 10))
expectTypeOf<OutputOf<typeof stack, [Sym<"B">, 784]>>().toEqualTypeOf<[Sym<"B">, 10]>()

// A custom module: declared [B, 256] → [B, 256], checked inside and where it is used.
const Block = module("ResidualBlock", { fc1: Linear(256, 128), fc2: Linear(128, 256) })
  .forward<[Sym<"B">, 256], [Sym<"B">, 256]>((m, h) =>
    Effect.gen(function*() {
      const a = yield* m.fc1(h)
      expectTypeOf(a).toEqualTypeOf<Tensor<[Sym<"B">, 128]>>()
      return yield* m.fc2(a)
    })
  )
expectTypeOf<OutputOf<typeof Block, [32, 256]>>().toEqualTypeOf<[32, 256]>()
const withCustom = sequential(Linear(784, 256), Block, Linear(256, 10))
expectTypeOf<OutputOf<typeof withCustom, [Sym<"B">, 784]>>().toEqualTypeOf<[Sym<"B">, 10]>()
expectTypeOf<keyof ParamsOf<typeof Block>>().toEqualTypeOf<"fc1" | "fc2">()

// parallelInputs: one input per branch (the tutorial's multi-modal network).
const multimodal = sequential(
  parallelInputs({ tabular: sequential(Linear(10, 32), ReLU()), image: sequential(Linear(784, 64), ReLU()) }, "concat"),
  Linear(96, 2)
)
declare const mmModel: ModelOf<typeof multimodal>
declare const tabular: Tensor<[Sym<"B">, 10]>
expectTypeOf(forward(multimodal, mmModel, { tabular, image: x }, Mode.eval)).toEqualTypeOf<Effect.Effect<Tensor<[Sym<"B">, 2]>, ForwardError>>()
