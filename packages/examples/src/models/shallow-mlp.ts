/**
 * The nn.Module tutorial's `ShallowMLP(784, 128, 10)`, attribute for attribute: `fc1`,
 * `fc2`, forward `fc2(relu(fc1(x)))`; state-dict keys `fc1.weight`, `fc1.bias`,
 * `fc2.weight`, `fc2.bias` (101,770 parameters).
 */
import type { InitScheme } from "@effect-nn/layers"
import { Linear, kaimingUniform, linearDefaultBias, linearDefaultWeight, module, run, zeros } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/tensor"
import { relu } from "@effect-nn/tensor"
import { Effect } from "effect"

/** How weights start: PyTorch's `nn.Linear` default, or the tutorial's training scheme. */
export type InitChoice = "pytorch" | "tutorial"

/**
 * The tutorial's training example re-initialises every Linear with
 * `kaiming_uniform_(nonlinearity="relu")` and zeroes the biases.
 */
export const linearInit = (choice: InitChoice): { weightInit: InitScheme; biasInit: InitScheme } =>
  choice === "tutorial"
    ? { weightInit: kaimingUniform({ nonlinearity: "relu" }), biasInit: zeros }
    : { weightInit: linearDefaultWeight, biasInit: linearDefaultBias }

/** `ShallowMLP(784 → 128 → ReLU → 10)`. */
export const ShallowMLP = (init: InitChoice = "tutorial") =>
  module("ShallowMLP", {
    fc1: Linear(784, 128, linearInit(init)),
    fc2: Linear(128, 10, linearInit(init))
  }).forward<[Sym<"B">, 784], [Sym<"B">, 10]>((m, x) =>
    Effect.gen(function*() {
      const h = yield* m.fc1(x)
      const a = yield* run(() => relu(h))
      return yield* m.fc2(a)
    })
  )
