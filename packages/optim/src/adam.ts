/**
 * Adam and AdamW with PyTorch's semantics (https://pytorch.org/docs/stable/generated/torch.optim.Adam.html,
 * https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html), for each parameter
 * with a gradient, with t its own step count (PyTorch's `state['step']`, per parameter):
 * g ← g + λ·p (Adam's L2 weight decay) or p ← p·(1 − lr·λ) (AdamW, decoupled);
 * m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − (lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε).
 * A parameter's state (t = 0, m = v = 0) is created at its first update; a frozen
 * parameter (PyTorch's `grad is None`) is skipped entirely: no decay, no moment decay,
 * no step. Fused kernels: the parameters of a device that share a step count go to one
 * `adamMany` call (as few dispatches as the device's bindings allow), so a run where
 * every parameter is stepped together makes one call per device, as before; the bias
 * corrections of a step count reach the kernel through that call's per-dispatch
 * uniforms. Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8.
 */
import type { AdamHyper, AnyTensor, DeviceHandle, Storage } from "@effect-nn/tensor"
import { mapTensors, wrap } from "@effect-nn/tensor"
import { Effect } from "effect"
import { betaPair, nonNegative } from "./hyperparameters.ts"
import type { Optimizer } from "./optimizer.ts"
import type { ParamStates, Stepping } from "./param-state.ts"
import { checkStep, nextStates, stateOf } from "./param-state.ts"
import { run } from "./tree-ops.ts"

/** Options of `adam`/`adamw`. */
export interface AdamOptions {
  readonly lr?: number
  readonly betas?: readonly [number, number]
  readonly eps?: number
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 0.01). */
  readonly weightDecay?: number
}

/** One parameter's Adam state, PyTorch's `optimizer.state[p]`. */
export interface AdamParamState {
  /** Updates this parameter has had (PyTorch's `state['step']`); the next uses t = step + 1. */
  readonly step: number
  /** The first moment m (PyTorch's `state['exp_avg']`), shaped as the parameter. */
  readonly expAvg: AnyTensor
  /** The second moment v (PyTorch's `state['exp_avg_sq']`), shaped as the parameter. */
  readonly expAvgSq: AnyTensor
}

/**
 * Adam's state, as PyTorch's `optimizer.state_dict()`: `state` holds each parameter's
 * `AdamParamState` by path, and is empty before the first step.
 */
export interface AdamState {
  readonly state: ParamStates<AdamParamState>
}

/** The tensors of a parameter's state, by PyTorch's names (what `checkStep` checks and checkpoints write). */
export const adamSlots = (s: AdamParamState): ReadonlyArray<readonly [string, AnyTensor]> => [["exp_avg", s.expAvg], ["exp_avg_sq", s.expAvgSq]]

const make = (name: string, options: AdamOptions, decoupled: boolean): Optimizer<AdamState> => {
  const lr = nonNegative(name, "lr", options.lr ?? 1e-3)
  const [beta1, beta2] = betaPair(name, options.betas ?? [0.9, 0.999])
  const eps = nonNegative(name, "eps", options.eps ?? 1e-8)
  const decay = nonNegative(name, "weightDecay", options.weightDecay ?? (decoupled ? 0.01 : 0))
  const hyperAt = (t: number): AdamHyper => ({
    lr,
    beta1,
    beta2,
    eps,
    weightDecay: decoupled ? 0 : decay,
    decoupledWeightDecay: decoupled ? decay : 0,
    biasCorrection1: 1 - Math.pow(beta1, t),
    biasCorrection2: 1 - Math.pow(beta2, t)
  })
  return {
    name,
    init: () => Effect.succeed({ state: {} }),
    step: (params, grads, { state }) =>
      run(() => {
        const stepping = checkStep(name, params, grads, state, adamSlots)
        // Parameters to update, by device and then by step count: one `adamMany` each.
        const groups = new Map<DeviceHandle, Map<number, Array<Stepping>>>()
        for (const s of stepping) {
          if (s.param.frozen) continue
          const bySteps = groups.get(s.param.device) ?? new Map<number, Array<Stepping>>()
          const step = stateOf(state, s.path)?.step ?? 0
          const list = bySteps.get(step) ?? []
          list.push(s)
          bySteps.set(step, list)
          groups.set(s.param.device, bySteps)
        }
        const params2 = new Map<string, AnyTensor>()
        const updated = new Map<string, AdamParamState>()
        for (const [device, bySteps] of groups) {
          const zeros = (p: AnyTensor): Storage => wrap(device, device.backend.fill(p.numel, 0, "float32"), p.shape, "float32").storage
          for (const [step, list] of bySteps) {
            const out = device.backend.adamMany(list.map(({ path, param, grad }) => {
              const prev = stateOf(state, path)
              return [param.storage, grad.storage, prev?.expAvg.storage ?? zeros(param), prev?.expAvgSq.storage ?? zeros(param), param.numel] as const
            }), hyperAt(step + 1))
            list.forEach(({ path, param }, k) => {
              const [p2, m2, v2] = out[k]!
              params2.set(path, wrap(device, p2, param.shape, "float32"))
              updated.set(path, { step: step + 1, expAvg: wrap(device, m2, param.shape, "float32"), expAvgSq: wrap(device, v2, param.shape, "float32") })
            })
          }
        }
        return { params: mapTensors(params, (p, path) => params2.get(path) ?? p), state: { state: nextStates(stepping, state, updated) } }
      })
  }
}

/**
 * `adam(options)`: Adam (Kingma & Ba, 2015) with L2 weight decay, as PyTorch's
 * `torch.optim.Adam` (https://pytorch.org/docs/stable/generated/torch.optim.Adam.html;
 * the formula above, t counted per parameter). Throws `ConfigError` at construction
 * when lr, eps or weightDecay is not a finite number ≥ 0 or a beta lies outside [0, 1).
 * Its `step` fails with `ShapeError` when the gradients or the state do not fit the
 * parameters (see `checkStep`), with `DeviceError` when the device fails.
 */
export const adam = (options: AdamOptions = {}): Optimizer<AdamState> => make("Adam", options, false)

/**
 * `adamw(options)`: AdamW (Loshchilov & Hutter, 2019), decoupled weight decay (default
 * 0.01), as PyTorch's `torch.optim.AdamW`
 * (https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html). Errors as `adam`.
 */
export const adamw = (options: AdamOptions = {}): Optimizer<AdamState> => make("AdamW", options, true)
