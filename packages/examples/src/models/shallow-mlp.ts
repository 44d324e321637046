/**
 * The nn.Module tutorial's `ShallowMLP(784, 128, 10)`: fc1 → ReLU → fc2, state-dict keys
 * `fc1.weight`, `fc1.bias`, `fc2.weight`, `fc2.bias` (101,770 parameters).
 */
import type { InitScheme } from "@effect-nn/layers"
import { Linear, ReLU, kaimingUniform, linearDefaultBias, linearDefaultWeight, named, sequential, zeros } from "@effect-nn/layers"

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
  sequential(
    named("fc1", Linear(784, 128, linearInit(init))),
    ReLU(),
    named("fc2", Linear(128, 10, linearInit(init)))
  )
