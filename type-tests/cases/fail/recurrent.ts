/**
 * Recurrent misuse is a compile error naming the dims: an input whose feature dim is not
 * the LSTM's input_size, a head sized for the wrong hidden size, an input of the wrong
 * rank, and an initial state whose hidden size differs.
 */
import type { ModelOf } from "@effect-nn/layers"
import { GRU, LSTM, Linear, Mode, forward, forwardLSTM, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"

const lstm = LSTM(28, 128, { batchFirst: true })
declare const model: ModelOf<typeof lstm>
declare const x32: Tensor<[Sym<"B">, Sym<"T">, 32]>
// expect-error: LSTM(28, 128) expects last dim 28 (input_size), got 32 (input [B, T, 32])
forward(lstm, model, x32, Mode.eval)

export const head = sequential(
  LSTM(28, 128),
  // expect-error: Linear(64, 10) expects last dim 64, got 128
  Linear(64, 10)
)

const gru = GRU(28, 16)
declare const gruModel: ModelOf<typeof gru>
declare const images: Tensor<[Sym<"B">, 1, 28, 28]>
// expect-error: GRU(28, 16) expects an input [T, B, 28] or unbatched [T, 28], got [B, 1, 28, 28]
forward(gru, gruModel, images, Mode.eval)

declare const xs: Tensor<[Sym<"B">, Sym<"T">, 28]>
declare const h64: Tensor<[1, Sym<"B">, 64]>
declare const c128: Tensor<[1, Sym<"B">, 128]>
// expect-error: Type '64' is not assignable to type '128'
forwardLSTM(lstm, model, xs, Mode.eval, { h: h64, c: c128 })
