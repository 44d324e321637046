/** Activations: element-wise, shape-preserving, parameter-free. */
import { relu } from "@effect-nn/tensor"
import { Effect } from "effect"
import type { Module, SameShape } from "./module.ts"

/** A parameter-free, shape-preserving module. */
export interface Activation<Tag extends string> extends Module<SameShape, {}> {
  readonly _tag: Tag
}

/** `ReLU()`: max(x, 0); derivative 0 at 0. Source: PyTorch `torch.nn.ReLU`. */
export const ReLU = (): Activation<"ReLU"> => ({
  _tag: "ReLU",
  label: "ReLU()",
  name: undefined,
  parameterCount: 0,
  init: Effect.succeed({}),
  apply: (_params, x) => relu(x),
  outputShape: (input) => input
})
