/**
 * Generic code: mismatches are still caught, but dims that are type parameters do not
 * print (compare the Sym-based messages in forward-input.ts).
 */
import type { ModelOf, ParamsOf } from "@effect-nn/layers"
import { Mode, Linear, ReLU, forward, named, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"

const net = sequential(named("fc1", Linear(784, 128)), ReLU(), named("fc2", Linear(128, 10)))
declare const params: ModelOf<typeof net>

// A generic batch with a wrong feature dim: both dims are named (the input shape text
// stays an unresolved template over DimText<B>, so only the dims are asserted).
export const predictWide = <B extends number>(x: Tensor<[B, 785]>) =>
  // expect-error: Linear(784, 128) expects last dim 784, got 785
  forward(net, params, x, Mode.eval)

// A factory generic in a feature dim is not checked at construction (the check defers);
// once instantiated, the misfit appears at forward with the actual dims.
const widen = <D extends number>(d: D) => sequential(Linear(784, d), ReLU(), Linear(5, 10))
const wide7 = widen(7)
declare const p7: ModelOf<typeof wide7>
declare const x: Tensor<[Sym<"B">, 784]>
// expect-error: Linear(5, 10) expects last dim 5, got 7 (input [B, 7])
forward(wide7, p7, x, Mode.eval)
