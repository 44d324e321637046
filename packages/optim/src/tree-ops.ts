/** Helpers shared by the optimisers: pairing records and lifting sync work into Effects. */
import type { AnyTensor } from "@effect-nn/tensor"
import { DeviceError, tensorsOf } from "@effect-nn/tensor"
import { ShapeError } from "@effect-nn/shape"
import { Effect } from "effect"

/** Pairs the tensors of two records of the same structure, in order. */
export const zip = (params: unknown, grads: unknown): Array<readonly [AnyTensor, AnyTensor]> => {
  const ps = tensorsOf(params)
  const gs = tensorsOf(grads)
  if (ps.length !== gs.length) {
    throw new DeviceError({ reason: `optimiser: ${ps.length} parameters but ${gs.length} gradients` })
  }
  return ps.map(([path, p], i) => {
    const [gpath, g] = gs[i]!
    if (gpath !== path || g.numel !== p.numel) {
      throw new DeviceError({ reason: `optimiser: gradient ${gpath} does not match parameter ${path}` })
    }
    return [p, g] as const
  })
}

/** Runs an optimiser's synchronous body, failing with `DeviceError` on any thrown error. */
export const run = <A>(body: () => A): Effect.Effect<A, DeviceError> =>
  Effect.try({
    try: body,
    catch: (e) => (e instanceof DeviceError ? e : new DeviceError({ reason: e instanceof ShapeError ? e.message : `optimiser step failed: ${String(e)}`, cause: e }))
  })
