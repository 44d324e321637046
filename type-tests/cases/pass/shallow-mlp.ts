/**
 * ShallowMLP (the tutorial's first network): 784 → 128 → ReLU → 10, with named layers.
 * Checks construction, the output shape for symbolic and literal batches, `forward`'s
 * Effect type and the parameter record.
 */
import type { ForwardError, LinearParams, OutputOf, ModelOf, ParamsOf, Sequential } from "@effect-nn/layers"
import { Mode, Linear, ReLU, forward, named, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import type { Effect } from "effect"
import { expectTypeOf } from "vitest"

/** The shape carried by the tensor an Effect succeeds with. */
type ShapeOut<E> = Effect.Success<E> extends Tensor<infer S> ? S : never

const net = sequential(named("fc1", Linear(784, 128)), ReLU(), named("fc2", Linear(128, 10)))

// The description keeps its modules, in order, with their names.
expectTypeOf(net).toExtend<Sequential<any>>()
expectTypeOf(net.modules[0].name).toEqualTypeOf<"fc1">()
expectTypeOf(net.modules[2].name).toEqualTypeOf<"fc2">()
expectTypeOf(net.modules[0].inFeatures).toEqualTypeOf<784>()
expectTypeOf(net.modules[2].outFeatures).toEqualTypeOf<10>()

// Output shape, symbolic batch: exactly [B, 10].
expectTypeOf<OutputOf<typeof net, [Sym<"B">, 784]>>().toEqualTypeOf<[Sym<"B">, 10]>()
// Literal batch and unknown batch.
expectTypeOf<OutputOf<typeof net, [32, 784]>>().toEqualTypeOf<[32, 10]>()
expectTypeOf<OutputOf<typeof net, [number, 784]>>().toEqualTypeOf<[number, 10]>()
// Leading dims are carried through untouched.
expectTypeOf<OutputOf<typeof net, [Sym<"T">, Sym<"B">, 784]>>().toEqualTypeOf<[Sym<"T">, Sym<"B">, 10]>()

declare const params: ModelOf<typeof net>

// forward with a symbolic batch: Effect<Tensor<[B, 10]>, ForwardError>, no requirements.
declare const x: Tensor<[Sym<"B">, 784]>
const y = forward(net, params, x, Mode.eval)
expectTypeOf(y).toEqualTypeOf<Effect.Effect<Tensor<[Sym<"B">, 10]>, ForwardError>>()
expectTypeOf<Effect.Success<typeof y>>().toEqualTypeOf<Tensor<[Sym<"B">, 10]>>()
expectTypeOf<ShapeOut<typeof y>>().toEqualTypeOf<[Sym<"B">, 10]>()
expectTypeOf<Effect.Error<typeof y>>().toEqualTypeOf<ForwardError>()
expectTypeOf<Effect.Services<typeof y>>().toEqualTypeOf<never>()

// forward with a literal batch: Tensor<[32, 10]>.
declare const x32: Tensor<[32, 784]>
const y32 = forward(net, params, x32, Mode.eval)
expectTypeOf(y32).toEqualTypeOf<Effect.Effect<Tensor<[32, 10]>, ForwardError>>()
expectTypeOf<ShapeOut<typeof y32>>().toEqualTypeOf<[32, 10]>()

// Parameters: keyed by the given names; parameter-free ReLU takes no key.
type P = ParamsOf<typeof net>
expectTypeOf<keyof P>().toEqualTypeOf<"fc1" | "fc2">()
expectTypeOf<P["fc1"]>().toEqualTypeOf<LinearParams<784, 128>>()
expectTypeOf<P["fc1"]["weight"]>().toEqualTypeOf<Tensor<[128, 784]>>()
expectTypeOf<P["fc1"]["bias"]>().toEqualTypeOf<Tensor<[128]>>()
expectTypeOf<P["fc2"]["weight"]>().toEqualTypeOf<Tensor<[10, 128]>>()
expectTypeOf<P["fc2"]["bias"]>().toEqualTypeOf<Tensor<[10]>>()
expectTypeOf<P>().toEqualTypeOf<{
  readonly fc1: { readonly weight: Tensor<[128, 784]>; readonly bias: Tensor<[128]> }
  readonly fc2: { readonly weight: Tensor<[10, 128]>; readonly bias: Tensor<[10]> }
}>()
