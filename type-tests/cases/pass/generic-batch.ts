/**
 * A batch dim that is a generic type parameter `B extends number`.
 *
 * What works (asserted below): `Linear`'s transform inspects only the last dim, so a
 * generic leading dim is carried through `[...Pre, O]` untouched: `OutputOf` is `[B, 10]`
 * and `forward` gives `Effect<Tensor<[B, 10]>>` inside the generic function, and the
 * instantiated call sites resolve to `[Sym<"B">, 10]` / `[7, 10]`.
 *
 * What does not (documented, not asserted here): a *feature* dim that is a type
 * parameter (`Tensor<[Sym<"B">, D]>`) makes every check that inspects it defer;
 * `forward` then rejects the argument with an unreadable
 * `... is not assignable to ... & InputCheck<Sequential<...>, [...]>`. Mismatches under a
 * generic batch are still caught, but their message shows the unresolved template text of
 * `DimText<B>` (see fail/generic.ts). The branded `Sym<"B">` is the designed way to keep
 * a batch symbolic: it resolves everywhere and prints as `B`.
 */
import type { ForwardError, OutputOf, ModelOf, ParamsOf } from "@effect-nn/layers"
import { Mode, Linear, ReLU, forward, named, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import type { Effect } from "effect"
import { expectTypeOf } from "vitest"

const net = sequential(named("fc1", Linear(784, 128)), ReLU(), named("fc2", Linear(128, 10)))
declare const params: ModelOf<typeof net>

export const predict = <B extends number>(x: Tensor<[B, 784]>) => {
  expectTypeOf<OutputOf<typeof net, [B, 784]>>().toEqualTypeOf<[B, 10]>()
  const y = forward(net, params, x, Mode.eval)
  expectTypeOf(y).toEqualTypeOf<Effect.Effect<Tensor<[B, 10]>, ForwardError>>()
  return y
}

// Instantiated with the branded symbolic dim and with a literal.
declare const xs: Tensor<[Sym<"B">, 784]>
expectTypeOf(predict(xs)).toEqualTypeOf<Effect.Effect<Tensor<[Sym<"B">, 10]>, ForwardError>>()
declare const x7: Tensor<[7, 784]>
expectTypeOf(predict(x7)).toEqualTypeOf<Effect.Effect<Tensor<[7, 10]>, ForwardError>>()

// The generic alias itself.
type Out<B extends number> = OutputOf<typeof net, [B, 784]>
expectTypeOf<Out<Sym<"N">>>().toEqualTypeOf<[Sym<"N">, 10]>()
expectTypeOf<Out<64>>().toEqualTypeOf<[64, 10]>()
