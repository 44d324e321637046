/**
 * Recurrent layers: the sequence length stays generic. An `LSTM(28, H, { batchFirst: true })`
 * over `[B, T, 28]` gives `[B, T, H]` for a generic `T` (a type parameter) and for a
 * branded `Sym<"T">`; time-major `[T, B, I]` and unbatched `[T, I]` inputs keep their
 * layout; parameters carry PyTorch's names and shapes (`weight_ih_l0: [4H, I]`, the
 * `_l1` weights of a second layer `[4H, H]`); `forwardLSTM`'s state is
 * `[numLayers, B, H]` whatever the layout; `GRU` has 3 gates; `select`/`stack` move a dim.
 */
import type { ForwardError, LSTMResult, ModelOf, OutputOf, ParamsOf } from "@effect-nn/layers"
import { GRU, LSTM, Linear, Mode, forward, forwardLSTM, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { select, stack } from "@effect-nn/tensor"
import type { Effect } from "effect"
import { expectTypeOf } from "vitest"

const lstm = LSTM(28, 128, { batchFirst: true })
declare const model: ModelOf<typeof lstm>

// A generic sequence length (and batch): [B, T, 28] → [B, T, 128].
export const encode = <B extends number, T extends number>(x: Tensor<[B, T, 28]>) => {
  expectTypeOf<OutputOf<typeof lstm, [B, T, 28]>>().toEqualTypeOf<[B, T, 128]>()
  const y = forward(lstm, model, x, Mode.eval)
  expectTypeOf(y).toEqualTypeOf<Effect.Effect<Tensor<[B, T, 128]>, ForwardError>>()
  const last = select(x, 1, 0)
  expectTypeOf(last).toEqualTypeOf<Tensor<[B, 28]>>()
  return y
}
declare const xs: Tensor<[Sym<"B">, Sym<"T">, 28]>
expectTypeOf(encode(xs)).toEqualTypeOf<Effect.Effect<Tensor<[Sym<"B">, Sym<"T">, 128]>, ForwardError>>()
declare const x100: Tensor<[32, 100, 28]>
expectTypeOf(encode(x100)).toEqualTypeOf<Effect.Effect<Tensor<[32, 100, 128]>, ForwardError>>()

// Time-major and unbatched.
const tm = LSTM(10, 20, { numLayers: 2 })
expectTypeOf<OutputOf<typeof tm, [Sym<"T">, Sym<"B">, 10]>>().toEqualTypeOf<[Sym<"T">, Sym<"B">, 20]>()
expectTypeOf<OutputOf<typeof tm, [Sym<"T">, 10]>>().toEqualTypeOf<[Sym<"T">, 20]>()

// PyTorch's parameter names and shapes: 4 gates, layer 1 reads layer 0's hidden state.
type TmParams = ParamsOf<typeof tm>
expectTypeOf<keyof TmParams>().toEqualTypeOf<
  "weight_ih_l0" | "weight_hh_l0" | "bias_ih_l0" | "bias_hh_l0" | "weight_ih_l1" | "weight_hh_l1" | "bias_ih_l1" | "bias_hh_l1"
>()
expectTypeOf<TmParams["weight_ih_l0"]>().toEqualTypeOf<Tensor<[80, 10]>>()
expectTypeOf<TmParams["weight_ih_l1"]>().toEqualTypeOf<Tensor<[80, 20]>>()
expectTypeOf<TmParams["weight_hh_l1"]>().toEqualTypeOf<Tensor<[80, 20]>>()
expectTypeOf<TmParams["bias_hh_l1"]>().toEqualTypeOf<Tensor<[80]>>()
expectTypeOf<keyof ParamsOf<typeof lstm>>().toEqualTypeOf<"weight_ih_l0" | "weight_hh_l0" | "bias_ih_l0" | "bias_hh_l0">()
expectTypeOf<ParamsOf<typeof lstm>["weight_hh_l0"]>().toEqualTypeOf<Tensor<[512, 128]>>()

// No bias: no bias keys. GRU: 3 gates.
expectTypeOf<keyof ParamsOf<ReturnType<typeof LSTM<4, 8, 1, false, false>>>>().toEqualTypeOf<"weight_ih_l0" | "weight_hh_l0">()
const gru = GRU(28, 64)
expectTypeOf<ParamsOf<typeof gru>["weight_ih_l0"]>().toEqualTypeOf<Tensor<[192, 28]>>()
expectTypeOf<OutputOf<typeof gru, [Sym<"T">, Sym<"B">, 28]>>().toEqualTypeOf<[Sym<"T">, Sym<"B">, 64]>()

// Explicit state: h and c are [numLayers, B, H] in every layout.
declare const h: Tensor<[1, Sym<"B">, 128]>
const withState = forwardLSTM(lstm, model, xs, Mode.train, { h, c: h })
expectTypeOf(withState).toEqualTypeOf<
  Effect.Effect<LSTMResult<[Sym<"B">, Sym<"T">, 128], [1, Sym<"B">, 128]>, ForwardError>
>()

// In a chain: a Linear applied per step.
const net = sequential(LSTM(28, 64, { batchFirst: true }), Linear(64, 10))
expectTypeOf<OutputOf<typeof net, [Sym<"B">, Sym<"T">, 28]>>().toEqualTypeOf<[Sym<"B">, Sym<"T">, 10]>()

// stack inserts a dim.
declare const steps: ReadonlyArray<Tensor<[Sym<"B">, 128]>>
expectTypeOf(stack(steps, 1)).toEqualTypeOf<Tensor<[Sym<"B">, number, 128]>>()
