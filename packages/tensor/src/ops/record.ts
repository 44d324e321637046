/**
 * The one place where ops meet the tape: an op computes its output storage, then
 * `result` wraps it and — only when an input takes part in differentiation — records
 * how to send the output's gradient back to its inputs.
 */
import type { Shape } from "@effect-nn/shape"
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { Storage } from "../backend.ts"
import type { DType } from "../dtype.ts"
import { DeviceError } from "../errors.ts"
import type { AnyTensor, DeviceHandle, TapeNode } from "../tensor.ts"
import { Tensor, wrap } from "../tensor.ts"

/** A float32 tensor of any shape (what op implementations work with). */
export type F32 = Tensor<Shape, "float32">

/** The device shared by all inputs; throws `DeviceError` when they differ. */
export const deviceOf = (op: string, ...inputs: ReadonlyArray<AnyTensor>): DeviceHandle => {
  const device = inputs[0]!.device
  for (const t of inputs) {
    if (t.storage.released) {
      throw new DeviceError({ reason: `${op}: input ${t.toString()} was already released (disposed or freed by its tidy scope)` })
    }
    if (t.device !== device) {
      throw new DeviceError({
        reason: `${op}: inputs live on different devices (${device.backend.kind} and ${t.device.backend.kind}); move one with toDevice`
      })
    }
  }
  return device
}

/** Throws a `ShapeError` unless `t` is float32. */
export const assertFloat = (op: string, t: AnyTensor): F32 => {
  if (t.dtype !== "float32") {
    throw new ShapeError({ op, reason: `expects float32, got ${t.dtype} ${formatShape(t.dims)}`, shapes: [t.dims] })
  }
  return t as F32
}

/**
 * Wraps `storage` as the op's output. When any of `inputs` is tracked, records
 * `backward` (the output gradient → one gradient or undefined per input).
 */
export const result = <S, D extends DType = "float32">(
  device: DeviceHandle,
  storage: Storage,
  shape: S,
  dtype: D,
  inputs: ReadonlyArray<AnyTensor>,
  backward?: TapeNode["backward"]
): Tensor<S, D> => {
  const tracked = backward !== undefined && inputs.some((t) => t.tracked)
  return wrap(device, storage, shape, dtype, tracked ? { inputs, backward } : undefined)
}

/** Reinterprets `t` as a tensor of shape `S` (internal: after a run-time check). */
export const retype = <S, D extends DType>(t: Tensor<unknown, D>): Tensor<S, D> => t as Tensor<S, D>

export { Tensor }
