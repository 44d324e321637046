/**
 * Adam and AdamW with PyTorch's semantics (https://pytorch.org/docs/stable/generated/torch.optim.Adam.html):
 * g ← g + λ·p (Adam's L2 weight decay) or p ← p·(1 − lr·λ) (AdamW, decoupled);
 * m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − (lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε).
 * Fused kernels: all parameters of a device in one `adamMany` call (as few dispatches as
 * the device's bindings allow). Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8.
 */
import type { AnyTensor, DeviceHandle, Storage } from "@effect-nn/tensor"
import { Device, mapTensors, tensorsOf, wrap } from "@effect-nn/tensor"
import { Effect } from "effect"
import type { Optimizer } from "./optimizer.ts"
import { run, zip } from "./tree-ops.ts"

/** Options of `adam`/`adamw`. */
export interface AdamOptions {
  readonly lr?: number
  readonly betas?: readonly [number, number]
  readonly eps?: number
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 0.01). */
  readonly weightDecay?: number
}

/** Adam state: the step count t and the first and second moments, one per parameter. */
export interface AdamState {
  readonly step: number
  readonly m: ReadonlyArray<AnyTensor>
  readonly v: ReadonlyArray<AnyTensor>
}

const make = (name: string, options: AdamOptions, decoupled: boolean): Optimizer<AdamState> => {
  const lr = options.lr ?? 1e-3
  const [beta1, beta2] = options.betas ?? [0.9, 0.999]
  const eps = options.eps ?? 1e-8
  const decay = options.weightDecay ?? (decoupled ? 0.01 : 0)
  return {
    name,
    init: (params) =>
      Effect.gen(function*() {
        const device = yield* Device
        const zerosLike = () =>
          tensorsOf(params).map(([, p]) => wrap(device, device.backend.fill(p.numel, 0, "float32"), p.shape, "float32"))
        return yield* run(() => ({ step: 0, m: zerosLike(), v: zerosLike() }))
      }),
    step: (params, grads, state) =>
      run(() => {
        const t = state.step + 1
        const hyper = {
          lr,
          beta1,
          beta2,
          eps,
          weightDecay: decoupled ? 0 : decay,
          decoupledWeightDecay: decoupled ? decay : 0,
          biasCorrection1: 1 - Math.pow(beta1, t),
          biasCorrection2: 1 - Math.pow(beta2, t)
        }
        const pairs = zip(params, grads)
        // Every trainable parameter of a device in one call: the backend updates them in as
        // few dispatches as its bindings allow.
        const updated = new Map<number, readonly [Storage, Storage, Storage]>()
        const byDevice = new Map<DeviceHandle, Array<number>>()
        pairs.forEach(([p], i) => {
          if (p.frozen) return
          const list = byDevice.get(p.device) ?? []
          list.push(i)
          byDevice.set(p.device, list)
        })
        for (const [device, indices] of byDevice) {
          const out = device.backend.adamMany(indices.map((i) => {
            const [p, g] = pairs[i]!
            return [p.storage, g.storage, state.m[i]!.storage, state.v[i]!.storage, p.numel] as const
          }), hyper)
          indices.forEach((i, k) => updated.set(i, out[k]!))
        }
        const m: Array<AnyTensor> = []
        const v: Array<AnyTensor> = []
        let i = 0
        const next = mapTensors(params, (p) => {
          const device = p.device
          const u = updated.get(i)
          if (u === undefined) {
            // Frozen parameters (see `freeze`) are left as they are, moments included.
            m.push(state.m[i]!)
            v.push(state.v[i]!)
            i++
            return p
          }
          const [p2, m2, v2] = u
          m.push(wrap(device, m2, p.shape, "float32"))
          v.push(wrap(device, v2, p.shape, "float32"))
          i++
          return wrap(device, p2, p.shape, "float32")
        })
        return { params: next, state: { step: t, m, v } }
      })
  }
}

/** `adam(options)`: Adam (Kingma & Ba, 2015) with L2 weight decay as PyTorch's `Adam`. */
export const adam = (options: AdamOptions = {}): Optimizer<AdamState> => make("Adam", options, false)

/** `adamw(options)`: AdamW (Loshchilov & Hutter, 2019), decoupled weight decay (default 0.01). */
export const adamw = (options: AdamOptions = {}): Optimizer<AdamState> => make("AdamW", options, true)
