/**
 * An optimiser is a pure pair: `init(params)` builds its state, `step(params, grads,
 * state)` returns new parameters and a new state. Nothing is mutated: the caller holds
 * the records and decides what to keep (Optax's `init`/`update` design).
 */
import type { ShapeError } from "@effect-nn/shape"
import type { Device, DeviceError } from "@effect-nn/tensor"
import type { Effect } from "effect"

/** The result of one optimiser step. */
export interface Stepped<P, S> {
  readonly params: P
  readonly state: S
}

/** An optimiser over parameter records of type `P` with state `S`. */
export interface Optimizer<S> {
  readonly name: string
  /**
   * The state before the first step. For the optimisers here it is empty: as in PyTorch,
   * a parameter's state is created at its first update (see `ParamStates`).
   */
  readonly init: <P>(params: P) => Effect.Effect<S, DeviceError, Device>
  /**
   * One update. `grads` has exactly the type of `params`; frozen parameters (PyTorch's
   * `grad is None`) are skipped. Fails with `ShapeError`, before any device work, when
   * `grads` or `state` does not fit `params` (see `checkStep`); with `DeviceError` when
   * the device fails.
   */
  readonly step: <P>(params: P, grads: P, state: S) => Effect.Effect<Stepped<P, S>, DeviceError | ShapeError>
}
