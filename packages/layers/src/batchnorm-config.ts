/**
 * What BatchNorm1d and BatchNorm2d share: option validation and defaults (PyTorch's eps
 * 1e-5, momentum 0.1, affine, track_running_stats), the printed label, and the initial
 * state — `weight` (ones) and `bias` (zeros) when affine; `running_mean` (zeros),
 * `running_var` (ones) and `num_batches_tracked` (int32 scalar 0) when tracking — in
 * PyTorch's keys and order.
 */
import type { DeviceHandle, Tensor } from "@effect-nn/tensor"
import { Device, fromHostSync } from "@effect-nn/tensor"
import { Effect } from "effect"
import { ConfigError, pythonBoolRepr, pythonFloatRepr } from "./errors.ts"
import type { Model } from "./module.ts"

/** Validated batch-norm settings and the module's PyTorch repr. */
export interface BatchNormConfig {
  readonly eps: number
  readonly momentum: number
  readonly affine: boolean
  readonly trackRunningStats: boolean
  readonly label: string
}

/**
 * Validates and completes the options of `name(numFeatures, options)`. Throws
 * `ConfigError` when numFeatures is not a positive integer, eps not finite and ≥ 0, or
 * momentum not in [0, 1].
 */
export const batchNormConfig = (
  name: "BatchNorm1d" | "BatchNorm2d",
  numFeatures: number,
  options: { readonly eps?: number; readonly momentum?: number; readonly affine?: boolean; readonly trackRunningStats?: boolean }
): BatchNormConfig => {
  const refuse = (argument: string, expected: string, value: unknown): never => {
    throw new ConfigError({ module: name, argument, expected, value })
  }
  if (!(Number.isInteger(numFeatures) && numFeatures > 0)) refuse("numFeatures", "a positive integer", numFeatures)
  const eps = options.eps ?? 1e-5
  const momentum = options.momentum ?? 0.1
  if (!(Number.isFinite(eps) && eps >= 0)) refuse("eps", "a finite number ≥ 0", eps)
  if (!(momentum >= 0 && momentum <= 1)) refuse("momentum", "a number in [0, 1]", momentum)
  const affine = options.affine ?? true
  const trackRunningStats = options.trackRunningStats ?? true
  const label = `${name}(${numFeatures}, eps=${pythonFloatRepr(eps)}, momentum=${pythonFloatRepr(momentum)}, affine=${pythonBoolRepr(affine)}, track_running_stats=${pythonBoolRepr(trackRunningStats)})`
  return { eps, momentum, affine, trackRunningStats, label }
}

/** The initial parameters and buffers of a batch norm over `c` features (entries per flags). */
export const batchNormState = (
  device: DeviceHandle,
  c: number,
  config: BatchNormConfig
): { readonly params: Record<string, Tensor<unknown, "float32">>; readonly buffers: Record<string, Tensor<unknown, "float32" | "int32">> } => {
  const features = [c] as const
  const params = config.affine
    ? { weight: fromHostSync(device, features, new Float32Array(c).fill(1)), bias: fromHostSync(device, features, new Float32Array(c)) }
    : {}
  const buffers = config.trackRunningStats
    ? {
      running_mean: fromHostSync(device, features, new Float32Array(c)),
      running_var: fromHostSync(device, features, new Float32Array(c).fill(1)),
      num_batches_tracked: fromHostSync(device, [], [0], "int32")
    }
    : {}
  return { params, buffers }
}

/**
 * The `init` of a batch norm over `c` features: `batchNormState` on the current device,
 * typed as the layer's `Model<P, B>` (the flags choose the entries at run time exactly as
 * `P` and `B` choose them in the types).
 */
export const batchNormInit = <P, B>(c: number, config: BatchNormConfig): Effect.Effect<Model<P, B>, never, Device> =>
  Effect.gen(function*() {
    const device = yield* Device
    return yield* Effect.sync(() => batchNormState(device, c, config) as unknown as Model<P, B>)
  })
