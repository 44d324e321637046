/**
 * Creating tensors on the current device, moving them between devices, and reading
 * them back. These are Effects: they need the `Device` service (or, for reads, wait for
 * the device).
 */
import type { Shape } from "@effect-nn/shape"
import { ShapeError, assertValidShape, formatShape, numel } from "@effect-nn/shape"
import { Effect } from "effect"
import { Device } from "../device.ts"
import type { DType, HostArray } from "../dtype.ts"
import { DeviceError } from "../errors.ts"
import type { DeviceHandle } from "../tensor.ts"
import { Tensor, wrap } from "../tensor.ts"

const checked = <A>(op: string, f: () => A): Effect.Effect<A, ShapeError | DeviceError> =>
  Effect.try({
    try: f,
    catch: (e) => (e instanceof ShapeError || e instanceof DeviceError ? e : new DeviceError({ reason: `${op}: ${String(e)}`, cause: e }))
  })

/** Creates a tensor on `device` from host data (copied), synchronously. Throws on bad input. */
export const fromHostSync = <const S extends Shape, D extends DType = "float32">(
  device: DeviceHandle,
  shape: S,
  data: ArrayLike<number>,
  dtype?: D
): Tensor<[...S], D> => {
  const dims: Shape = shape
  assertValidShape("fromArray", dims)
  const dt = (dtype ?? "float32") as D
  if (data.length !== numel(dims)) {
    throw new ShapeError({ op: "fromArray", reason: `shape ${formatShape(dims)} holds ${numel(dims)} values, got ${data.length}`, shapes: [dims] })
  }
  const host = dt === "int32"
    ? (data instanceof Int32Array ? data : Int32Array.from(data))
    : (data instanceof Float32Array ? data : Float32Array.from(data))
  return wrap(device, device.backend.upload(host), [...shape] as [...S], dt)
}

/**
 * A tensor of shape `shape` holding `data` (row-major; copied). Fails with `ShapeError`
 * when the length differs from the shape's element count.
 */
export const fromArray = <const S extends Shape, D extends DType = "float32">(
  shape: S,
  data: ArrayLike<number>,
  dtype?: D
): Effect.Effect<Tensor<[...S], D>, ShapeError | DeviceError, Device> =>
  Effect.flatMap(Effect.service(Device), (device) => checked("fromArray", () => fromHostSync(device, shape, data, dtype)))

/** A tensor of shape `shape` filled with `value`. */
export const full = <const S extends Shape, D extends DType = "float32">(
  shape: S,
  value: number,
  dtype?: D
): Effect.Effect<Tensor<[...S], D>, ShapeError | DeviceError, Device> =>
  Effect.flatMap(Effect.service(Device), (device) =>
    checked("full", () => {
      assertValidShape("full", shape)
      const dt = (dtype ?? "float32") as D
      return wrap(device, device.backend.fill(numel(shape), value, dt), [...shape] as [...S], dt)
    }))

/** Zeros of shape `shape`. */
export const zeros = <const S extends Shape>(shape: S) => full(shape, 0)

/** Ones of shape `shape`. */
export const ones = <const S extends Shape>(shape: S) => full(shape, 1)

/** Copies a tensor's values to the host (submitting the device's pending work). */
export const toArray = <S, D extends DType>(t: Tensor<S, D>): Effect.Effect<HostArray<D>, DeviceError> =>
  Effect.tryPromise({
    try: async () => {
      if (t.storage.released) throw new DeviceError({ reason: `toArray: ${t.toString()} was already released` })
      return (await t.device.backend.read(t.storage, t.dtype)) as HostArray<D>
    },
    catch: (e) => (e instanceof DeviceError ? e : new DeviceError({ reason: `reading ${t.toString()} back failed: ${String(e)}`, cause: e }))
  })

/** The single value of a one-element tensor (e.g. a loss). */
export const item = <S>(t: Tensor<S, "float32">): Effect.Effect<number, DeviceError> =>
  Effect.map(toArray(t), (a) => a[0]!)

/**
 * Copies a tensor to the current device (a no-op when it is already there). The copy is
 * an untracked leaf: parameters moved to a device get their gradients there.
 */
export const toDevice = <S, D extends DType>(t: Tensor<S, D>): Effect.Effect<Tensor<S, D>, DeviceError, Device> =>
  Effect.flatMap(Effect.service(Device), (device) =>
    device === t.device
      ? Effect.succeed(t)
      : Effect.flatMap(toArray(t), (host) => checked("toDevice", () => wrap(device, device.backend.upload(host), t.shape, t.dtype))).pipe(
        Effect.catchTag("ShapeError", (e) => Effect.fail(new DeviceError({ reason: e.message })))
      ))

export { Tensor }
