/**
 * An unnamed chain is keyed like PyTorch's `nn.Sequential`: by position, and only the
 * modules that have parameters get a key ("0" and "2"; ReLU at "1" has none).
 */
import type { LinearParams, OutputOf, ParamsOf } from "@effect-nn/layers"
import { Linear, ReLU, named, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { expectTypeOf } from "vitest"

const net = sequential(Linear(4, 8), ReLU(), Linear(8, 2))
type P = ParamsOf<typeof net>

expectTypeOf<keyof P>().toEqualTypeOf<"0" | "2">()
expectTypeOf<P["0"]>().toEqualTypeOf<LinearParams<4, 8>>()
expectTypeOf<P["2"]>().toEqualTypeOf<LinearParams<8, 2>>()
expectTypeOf<P["0"]["weight"]>().toEqualTypeOf<Tensor<[8, 4]>>()
expectTypeOf<P["2"]["weight"]>().toEqualTypeOf<Tensor<[2, 8]>>()
expectTypeOf<P["2"]["bias"]>().toEqualTypeOf<Tensor<[2]>>()
expectTypeOf<OutputOf<typeof net, [Sym<"B">, 4]>>().toEqualTypeOf<[Sym<"B">, 2]>()

// Mixing: named modules take their name, unnamed ones their position.
const mixed = sequential(named("enc", Linear(4, 8)), ReLU(), Linear(8, 8), ReLU(), Linear(8, 2))
expectTypeOf<keyof ParamsOf<typeof mixed>>().toEqualTypeOf<"enc" | "2" | "4">()
