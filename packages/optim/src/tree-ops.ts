/** Lifting an optimiser's synchronous body into an Effect. */
import { DeviceError } from "@effect-nn/tensor"
import { ShapeError } from "@effect-nn/shape"
import { Effect } from "effect"

/**
 * Runs an optimiser's synchronous body: a thrown `ShapeError` or `DeviceError` becomes the
 * Effect's failure as it is; anything else a `DeviceError` naming it.
 */
export const run = <A>(body: () => A): Effect.Effect<A, DeviceError | ShapeError> =>
  Effect.try({
    try: body,
    catch: (e) => (e instanceof DeviceError || e instanceof ShapeError ? e : new DeviceError({ reason: `optimiser step failed: ${String(e)}`, cause: e }))
  })
