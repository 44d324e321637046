/**
 * The nn.Module tutorial's `ResidualNetwork(784, num_blocks=4, block_features=256,
 * num_classes=10)`: input_layer → bn_input → ReLU → 4 ResidualBlocks (a ModuleList) →
 * output_layer. Each `ResidualBlock(256)`: fc1 (256→128), bn1, ReLU, dropout, fc2
 * (128→256), bn2, + x, ReLU. 470,794 parameters, 3,593 buffer elements.
 *
 * The block is written twice: as the tutorial writes it (a custom module: parts declared,
 * then a forward), and from combinators (`residual` of a `sequential`). Both give the same
 * state-dict keys and, for the same weights, the same outputs (tested).
 */
import { BatchNorm1d, Dropout, Linear, ReLU, module, named, repeat, residual, run, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/tensor"
import { add, relu } from "@effect-nn/tensor"
import { Effect } from "effect"
import type { InitChoice } from "./shallow-mlp.ts"
import { linearInit } from "./shallow-mlp.ts"

/** The tutorial's `ResidualBlock(256, dropout)` as a custom module. */
export const ResidualBlock = (init: InitChoice = "tutorial", dropout = 0.2) => {
  const options = linearInit(init)
  return module("ResidualBlock", {
    fc1: Linear(256, 128, options),
    bn1: BatchNorm1d(128),
    fc2: Linear(128, 256, options),
    bn2: BatchNorm1d(256),
    dropout: Dropout(dropout)
  }).forward<[Sym<"B">, 256], [Sym<"B">, 256]>((m, x) =>
    Effect.gen(function*() {
      const h = yield* m.bn1(yield* m.fc1(x))
      const d = yield* m.dropout(yield* run(() => relu(h)))
      const y = yield* m.bn2(yield* m.fc2(d))
      return yield* run(() => relu(add(y, x)))
    })
  )
}

/** The same block from combinators: relu(residual(fc1 → bn1 → ReLU → dropout → fc2 → bn2)). */
export const ResidualBlockFromCombinators = (init: InitChoice = "tutorial", dropout = 0.2) => {
  const options = linearInit(init)
  return residual(
    sequential(
      named("fc1", Linear(256, 128, options)),
      named("bn1", BatchNorm1d(128)),
      ReLU(),
      named("dropout", Dropout(dropout)),
      named("fc2", Linear(128, 256, options)),
      named("bn2", BatchNorm1d(256))
    ),
    { activation: ReLU() }
  )
}

/** `ResidualNetwork(784, 4 blocks, 256 features, 10 classes)`. */
export const ResidualNetwork = (init: InitChoice = "tutorial", dropout = 0.2, blocks = 4) => {
  const options = linearInit(init)
  return module("ResidualNetwork", {
    input_layer: Linear(784, 256, options),
    bn_input: BatchNorm1d(256),
    blocks: repeat(blocks, () => ResidualBlock(init, dropout)),
    output_layer: Linear(256, 10, options)
  }).forward<[Sym<"B">, 784], [Sym<"B">, 10]>((m, x) =>
    Effect.gen(function*() {
      const h = yield* m.bn_input(yield* m.input_layer(x))
      const b = yield* m.blocks(yield* run(() => relu(h)))
      return yield* m.output_layer(b)
    })
  )
}
