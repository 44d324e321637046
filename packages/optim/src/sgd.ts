/**
 * Stochastic gradient descent, PyTorch's `torch.optim.SGD` semantics
 * (https://pytorch.org/docs/stable/generated/torch.optim.SGD.html):
 * g ← g + λ·p (weight decay); with momentum μ: b ← μ·b + g (b = g at the first step),
 * g ← g + μ·b (Nesterov) or g ← b; then p ← p − lr·g.
 */
import type { Tensor } from "@effect-nn/tensor"
import { assertFloat, axpy, mapTensors, scale } from "@effect-nn/tensor"
import { Effect } from "effect"
import { run, zip } from "./tree-ops.ts"
import type { Optimizer } from "./optimizer.ts"

/** Options of `sgd`. Defaults as PyTorch: momentum 0, no Nesterov, weight decay 0. */
export interface SgdOptions {
  /** Learning rate. */
  readonly lr: number
  readonly momentum?: number
  readonly nesterov?: boolean
  readonly weightDecay?: number
}

/** SGD state: the momentum buffers (absent before the first step or without momentum). */
export interface SgdState {
  readonly step: number
  readonly momentumBuffers: ReadonlyArray<Tensor<unknown>> | undefined
}

/** `sgd({ lr, momentum?, nesterov?, weightDecay? })`. */
export const sgd = (options: SgdOptions): Optimizer<SgdState> => {
  const { lr } = options
  const momentum = options.momentum ?? 0
  const nesterov = options.nesterov ?? false
  const weightDecay = options.weightDecay ?? 0
  return {
    name: "SGD",
    init: () => Effect.succeed({ step: 0, momentumBuffers: undefined }),
    step: (params, grads, state) =>
      run(() => {
        const pairs = zip(params, grads)
        const buffers: Array<Tensor<unknown>> = []
        let i = 0
        const next = mapTensors(params, (param) => {
          const p = assertFloat("sgd", param)
          const g0 = assertFloat("sgd", pairs[i]![1])
          if (p.frozen) {
            // Frozen parameters (see `freeze`) are left as they are.
            if (momentum !== 0) buffers.push(state.momentumBuffers?.[i] ?? g0)
            i++
            return p
          }
          let g: Tensor<unknown> = weightDecay !== 0 ? axpy(g0, p, weightDecay) : g0
          if (momentum !== 0) {
            const prev = state.momentumBuffers?.[i]
            const buf = prev === undefined ? g : axpy(scale(prev, momentum), g, 1)
            buffers.push(buf)
            g = nesterov ? axpy(g, buf, momentum) : buf
          }
          i++
          return axpy(p, g, -lr)
        })
        return { params: next, state: { step: state.step + 1, momentumBuffers: momentum !== 0 ? buffers : undefined } }
      })
  }
}
