/**
 * `SequenceLSTM`: MNIST as a sequence task — each 28×28 image is read row by row, 28 steps
 * of 28 features, by `LSTM(28, hidden, { batchFirst: true })`, and a `Linear(hidden, 10)`
 * classifies the last step's output (the row-by-row "sequential MNIST" of Le, Jaitly &
 * Hinton 2015, in its 28-step form as in PyTorch's and Keras' examples).
 *
 * PyTorch equivalent (state-dict keys `lstm.weight_ih_l0`, `lstm.weight_hh_l0`,
 * `lstm.bias_ih_l0`, `lstm.bias_hh_l0`, `fc.weight`, `fc.bias`; 82,186 parameters for
 * hidden 128):
 *
 *   self.lstm = nn.LSTM(28, 128, batch_first=True); self.fc = nn.Linear(128, 10)
 *   def forward(self, x): out, _ = self.lstm(x.view(-1, 28, 28)); return self.fc(out[:, -1])
 *
 * Input: the loader's normalised rows [B, 784]; output: logits [B, 10].
 */
import { LSTM, Linear, module, run } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/tensor"
import { reshape, select } from "@effect-nn/tensor"
import { Effect } from "effect"

/** Rows per image = steps per sequence, and pixels per row = features per step. */
export const mnistRows = 28

/**
 * `SequenceLSTM(hidden = 128)`: [B, 784] → [B, 28, 28] → LSTM → last step → [B, 10].
 * (`hidden` is a plain `number`: a hidden size generic in the types would defer the
 * `Linear`'s check, see type-tests/cases/pass/generic-batch.ts.)
 */
export const SequenceLSTM = (hidden: number = 128) =>
  module("SequenceLSTM", {
    lstm: LSTM(mnistRows, hidden, { batchFirst: true }),
    fc: Linear(hidden, 10)
  }).forward<[Sym<"B">, 784], [Sym<"B">, 10]>((m, x) =>
    Effect.gen(function*() {
      const rows = yield* run(() => reshape(x, [x.shape[0], mnistRows, mnistRows]))
      const out = yield* m.lstm(rows) // [B, 28, hidden]
      const last = yield* run(() => select(out, 1, mnistRows - 1)) // [B, hidden]
      return yield* m.fc(last)
    })
  )
