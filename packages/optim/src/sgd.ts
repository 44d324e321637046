/**
 * Stochastic gradient descent, PyTorch's `torch.optim.SGD` semantics
 * (https://pytorch.org/docs/stable/generated/torch.optim.SGD.html), for each parameter
 * with a gradient: g ← g + λ·p (weight decay); with momentum μ: b ← μ·b + g (b = g at the
 * parameter's first update), g ← g + μ·b (Nesterov) or g ← b; then p ← p − lr·g.
 * A frozen parameter (PyTorch's `grad is None`) is skipped entirely: no decay, and its
 * momentum buffer, if it has one, is kept as it is.
 */
import type { AnyTensor, Tensor } from "@effect-nn/tensor"
import { assertFloat, axpy, mapTensors, scale } from "@effect-nn/tensor"
import { Effect } from "effect"
import { nesterovFlag, nonNegative } from "./hyperparameters.ts"
import type { Optimizer } from "./optimizer.ts"
import type { ParamStates } from "./param-state.ts"
import { checkStep, nextStates, stateOf } from "./param-state.ts"
import { run } from "./tree-ops.ts"

/** Options of `sgd`. Defaults as PyTorch: momentum 0, no Nesterov, weight decay 0. */
export interface SgdOptions {
  /** Learning rate. */
  readonly lr: number
  readonly momentum?: number
  readonly nesterov?: boolean
  readonly weightDecay?: number
}

/** One parameter's SGD state, PyTorch's `optimizer.state[p]` (only with momentum). */
export interface SgdParamState {
  /** PyTorch's `state['momentum_buffer']`, shaped as the parameter. */
  readonly momentumBuffer: AnyTensor
}

/**
 * SGD's state, as PyTorch's `optimizer.state_dict()`: `state` holds each parameter's
 * momentum buffer by path, and is empty without momentum or before the first step.
 */
export interface SgdState {
  readonly state: ParamStates<SgdParamState>
}

/** The tensors of a parameter's state, by PyTorch's names (what `checkStep` checks and checkpoints write). */
export const sgdSlots = (s: SgdParamState): ReadonlyArray<readonly [string, AnyTensor]> => [["momentum_buffer", s.momentumBuffer]]

/**
 * `sgd({ lr, momentum?, nesterov?, weightDecay? })`, as PyTorch's `torch.optim.SGD`
 * (https://pytorch.org/docs/stable/generated/torch.optim.SGD.html; the formula above,
 * without dampening). Throws `ConfigError` at construction when lr, momentum or weightDecay
 * is not a finite number ≥ 0, or nesterov is set with a zero momentum. Its `step` fails
 * with `ShapeError` when the gradients or the state do not fit the parameters.
 */
export const sgd = (options: SgdOptions): Optimizer<SgdState> => {
  const lr = nonNegative("SGD", "lr", options.lr)
  const momentum = nonNegative("SGD", "momentum", options.momentum ?? 0)
  const nesterov = nesterovFlag("SGD", options.nesterov ?? false, momentum)
  const weightDecay = nonNegative("SGD", "weightDecay", options.weightDecay ?? 0)
  return {
    name: "SGD",
    init: () => Effect.succeed({ state: {} }),
    step: (params, grads, { state }) =>
      run(() => {
        const stepping = checkStep("SGD", params, grads, state, sgdSlots)
        const params2 = new Map<string, AnyTensor>()
        const updated = new Map<string, SgdParamState>()
        for (const { path, param, grad } of stepping) {
          if (param.frozen) continue
          const p = assertFloat("SGD", param)
          const g0 = assertFloat("SGD", grad)
          let g: Tensor<unknown> = weightDecay !== 0 ? axpy(g0, p, weightDecay) : g0
          if (momentum !== 0) {
            const prev = stateOf(state, path)?.momentumBuffer
            const buf = prev === undefined ? g : axpy(scale(assertFloat("SGD", prev), momentum), g, 1)
            updated.set(path, { momentumBuffer: buf })
            g = nesterov ? axpy(g, buf, momentum) : buf
          }
          params2.set(path, axpy(p, g, -lr))
        }
        return { params: mapTensors(params, (p, path) => params2.get(path) ?? p), state: { state: nextStates(stepping, state, updated) } }
      })
  }
}
