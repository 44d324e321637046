/** Lifting synchronous op code into Effects with typed shape and device errors. */
import { ShapeError } from "@effect-nn/shape"
import { DeviceError } from "@effect-nn/tensor"
import { Effect } from "effect"
import type { ForwardError } from "./module.ts"

/** Runs `body`; a thrown `ShapeError`/`DeviceError` becomes the failure, anything else a `DeviceError`. */
export const run = <A>(body: () => A): Effect.Effect<A, ForwardError> =>
  Effect.try({
    try: body,
    catch: (e) => (e instanceof ShapeError || e instanceof DeviceError ? e : new DeviceError({ reason: `forward failed: ${String(e)}`, cause: e }))
  })
