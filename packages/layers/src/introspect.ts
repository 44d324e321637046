/**
 * Introspection: named parameters and buffers in PyTorch's `state_dict` order, parameter
 * counts (trainable, frozen, buffers), freezing, and gradient statistics.
 *
 * State-dict order (PyTorch's rule): a leaf module lists its parameters, then its buffers;
 * a container lists its children in order. Keys are the dotted record paths
 * (`net.0.weight`, `blocks.3.bn1.running_mean`).
 */
import type { AnyTensor, DeviceError, Tensor } from "@effect-nn/tensor"
import { freezeTensor, isTensor, mapTensors, tensorsOf, toArray, unfreezeTensor } from "@effect-nn/tensor"
import { Effect } from "effect"
import type { AnyModule, Model } from "./module.ts"
import { childPath } from "./module.ts"

/** One state-dict entry. */
export interface StateEntry {
  readonly key: string
  readonly tensor: AnyTensor
  readonly kind: "parameter" | "buffer"
}

const record = (u: unknown): Record<string, unknown> =>
  u !== null && typeof u === "object" && !isTensor(u) ? (u as Record<string, unknown>) : {}

/** Every parameter and buffer of `model` with its state-dict key, in PyTorch's order. */
export const stateEntries = (module: AnyModule, model: Model<unknown, unknown>): Array<StateEntry> => {
  const out: Array<StateEntry> = []
  const walk = (m: AnyModule, params: unknown, buffers: unknown, prefix: string) => {
    if (m.children.length === 0) {
      for (const [k, t] of tensorsOf(params)) out.push({ key: childPath(prefix, k), tensor: t, kind: "parameter" })
      for (const [k, t] of tensorsOf(buffers)) out.push({ key: childPath(prefix, k), tensor: t, kind: "buffer" })
      return
    }
    for (const [key, child] of m.children) {
      if (key === "") walk(child, params, buffers, prefix)
      else walk(child, record(params)[key], record(buffers)[key], childPath(prefix, key))
    }
  }
  walk(module, model.params, model.buffers, "")
  return out
}

/** Parameters with their keys, in state-dict order (PyTorch's `named_parameters`). */
export const namedParameters = (module: AnyModule, model: Model<unknown, unknown>): Array<readonly [string, AnyTensor]> =>
  stateEntries(module, model).filter((e) => e.kind === "parameter").map((e) => [e.key, e.tensor] as const)

/** Buffers with their keys, in state-dict order (PyTorch's `named_buffers`). */
export const namedBuffers = (module: AnyModule, model: Model<unknown, unknown>): Array<readonly [string, AnyTensor]> =>
  stateEntries(module, model).filter((e) => e.kind === "buffer").map((e) => [e.key, e.tensor] as const)

/** Parameter and buffer element counts. */
export interface ParameterCounts {
  /** Parameters optimisers update. */
  readonly trainable: number
  /** Frozen parameters. */
  readonly nonTrainable: number
  /** trainable + nonTrainable (PyTorch's `sum(p.numel() for p in model.parameters())`). */
  readonly total: number
  /** Buffer elements (running statistics and counters). */
  readonly buffers: number
}

/** Counts the elements of a model's parameters (trainable and frozen apart) and buffers. */
export const parameterCounts = (module: AnyModule, model: Model<unknown, unknown>): ParameterCounts => {
  let trainable = 0
  let nonTrainable = 0
  let buffers = 0
  for (const e of stateEntries(module, model)) {
    if (e.kind === "buffer") buffers += e.tensor.numel
    else if (e.tensor.frozen) nonTrainable += e.tensor.numel
    else trainable += e.tensor.numel
  }
  return { trainable, nonTrainable, total: trainable + nonTrainable, buffers }
}

/** Number of scalars in any record of tensors. */
export const countParameters = (params: unknown): number => tensorsOf(params).reduce((n, [, t]) => n + t.numel, 0)

/**
 * Freezes the parameters whose state-dict key satisfies `select` (PyTorch's
 * `p.requires_grad_(False)`): they get zero gradients without being differentiated and
 * optimisers leave them unchanged. Returns a new parameter record; the tensors share storage.
 */
export const freeze = <P>(params: P, select: (key: string) => boolean = () => true): P =>
  mapTensors(params, (t, path) => (select(path) ? freezeTensor(t) : t))

/** Undoes `freeze` for the selected keys. */
export const unfreeze = <P>(params: P, select: (key: string) => boolean = () => true): P =>
  mapTensors(params, (t, path) => (select(path) ? unfreezeTensor(t) : t))

/** Statistics of one gradient. */
export interface GradientStats {
  readonly key: string
  readonly shape: ReadonlyArray<number>
  readonly mean: number
  readonly std: number
  /** L2 norm. */
  readonly norm: number
  readonly maxAbs: number
}

/**
 * Per-parameter statistics of a gradient record (the tutorial's gradient inspection): mean,
 * standard deviation (unbiased, as `torch.std`), L2 norm and largest magnitude. Reads the
 * gradients back (one readback per tensor).
 */
export const gradientStats = (grads: unknown): Effect.Effect<Array<GradientStats>, DeviceError> =>
  Effect.forEach(tensorsOf(grads), ([key, t]) =>
    Effect.map(toArray(t as Tensor<unknown>), (values) => {
      const n = values.length
      let sum = 0
      let sq = 0
      let maxAbs = 0
      for (let i = 0; i < n; i++) {
        const v = values[i]!
        sum += v
        sq += v * v
        maxAbs = Math.max(maxAbs, Math.abs(v))
      }
      const mean = n === 0 ? 0 : sum / n
      const variance = n > 1 ? Math.max(0, (sq - n * mean * mean) / (n - 1)) : 0
      return { key, shape: t.dims, mean, std: Math.sqrt(variance), norm: Math.sqrt(sq), maxAbs }
    }))
