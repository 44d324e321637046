/** Activations: element-wise, shape-preserving, parameter-free. */
import type { Tensor } from "@effect-nn/tensor"
import { relu, sigmoid, tanh } from "@effect-nn/tensor"
import { Effect } from "effect"
import { leaf } from "./leaf.ts"
import type { Module, SameShape } from "./module.ts"

/** A parameter-free, shape-preserving module. */
export interface Activation<Tag extends string> extends Module<SameShape, {}, {}> {
  readonly _tag: Tag
}

const activation = <Tag extends string>(tag: Tag, f: (x: Tensor<unknown>) => Tensor<unknown>): Activation<Tag> =>
  leaf<SameShape, {}, {}, never, { _tag: Tag }>({
    tag,
    label: `${tag}()`,
    parameterCount: 0,
    init: Effect.succeed({ params: {}, buffers: {} }),
    apply: (_ctx, model, x) => ({ output: f(x), buffers: model.buffers }),
    outputShape: (input) => input
  }, { _tag: tag })

/** `ReLU()`: max(x, 0), NaN kept NaN; derivative 0 at 0. Source: PyTorch `torch.nn.ReLU`. */
export const ReLU = (): Activation<"ReLU"> => activation("ReLU", relu)

/** `Sigmoid()`: 1/(1 + e^(−x)), computed without overflow. Source: PyTorch `torch.nn.Sigmoid`. */
export const Sigmoid = (): Activation<"Sigmoid"> => activation("Sigmoid", sigmoid)

/** `Tanh()`: tanh x. Source: PyTorch `torch.nn.Tanh`. */
export const Tanh = (): Activation<"Tanh"> => activation("Tanh", tanh)

/** `Identity()`: returns its input. Source: PyTorch `torch.nn.Identity`. */
export const Identity = (): Activation<"Identity"> => activation("Identity", (x) => x)
