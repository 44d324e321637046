/**
 * The assertions used in pass/ really fail when a type is wrong: a wrong dim, a wrong
 * symbolic name, a plain `number` for a symbolic dim, and a wrong tensor shape inside
 * forward's Effect are each reported.
 */
import type { ForwardError, OutputOf, ModelOf, ParamsOf } from "@effect-nn/layers"
import { Mode, Linear, ReLU, forward, named, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import type { Effect } from "effect"
import { expectTypeOf } from "vitest"

const net = sequential(named("fc1", Linear(784, 128)), ReLU(), named("fc2", Linear(128, 10)))
type Out = OutputOf<typeof net, [Sym<"B">, 784]>

// expect-error: Expected: literal number: 11, Actual: literal number: 10
expectTypeOf<Out>().toEqualTypeOf<[Sym<"B">, 11]>()
// expect-error: Type '[Sym<"C">, 10]' does not satisfy the constraint
expectTypeOf<Out>().toEqualTypeOf<[Sym<"C">, 10]>()
// expect-error: Type '[number, 10]' does not satisfy the constraint
expectTypeOf<Out>().toEqualTypeOf<[number, 10]>()

declare const params: ModelOf<typeof net>
declare const x: Tensor<[Sym<"B">, 784]>
// (TS 7 and TS 5.9 elaborate this one differently, via `Covariant<...>` or via `[iterator]()`;
// both report the failed constraint on the expected type first.)
// expect-error: Type 'Effect<Tensor<[Sym<"B">, 11], "float32">, ForwardError, never>' does not satisfy the constraint
expectTypeOf(forward(net, params, x, Mode.eval)).toEqualTypeOf<Effect.Effect<Tensor<[Sym<"B">, 11]>, ForwardError>>()
// expect-error: Expected: literal string: fc3, Actual: never
expectTypeOf<keyof ParamsOf<typeof net>>().toEqualTypeOf<"fc1" | "fc2" | "fc3">()
