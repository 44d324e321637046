/**
 * The nn.Module tutorial's `DeepMLP(784, [512, 256, 128], 10, dropout_rate=0.2)`:
 * `self.net = Sequential(*[Linear, BatchNorm1d, ReLU, Dropout] per hidden size, Linear)`,
 * forward `net(x)`. State-dict keys `net.0.weight`, `net.1.running_mean`, … (569,226
 * parameters, 1,795 buffer elements).
 */
import { BatchNorm1d, Dropout, Linear, ReLU, module, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/tensor"
import type { InitChoice } from "./shallow-mlp.ts"
import { linearInit } from "./shallow-mlp.ts"

/** `DeepMLP` with the tutorial's sizes; `dropout` is the tutorial's `dropout_rate`. */
export const DeepMLP = (init: InitChoice = "tutorial", dropout = 0.2) => {
  const options = linearInit(init)
  return module("DeepMLP", {
    net: sequential(
      Linear(784, 512, options), BatchNorm1d(512), ReLU(), Dropout(dropout),
      Linear(512, 256, options), BatchNorm1d(256), ReLU(), Dropout(dropout),
      Linear(256, 128, options), BatchNorm1d(128), ReLU(), Dropout(dropout),
      Linear(128, 10, options)
    )
  }).forward<[Sym<"B">, 784], [Sym<"B">, 10]>((m, x) => m.net(x))
}
