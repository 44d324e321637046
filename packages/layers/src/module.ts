/**
 * Modules: a pure description that carries its shape transform in its type, plus an
 * `init` that turns it into an immutable record of parameters and an `apply` that runs
 * it on those parameters.
 *
 * A shape transform is a type lambda (the pattern Effect uses for its HKTs): an
 * interface with an `In` slot and an `Out` computed from `this["In"]`. `Apply<F, S>` fills
 * the slot. A transform answers `ShapeMismatch<"…">` when the input does not fit; the
 * combinators turn that into a compile error on the offending argument.
 */
import type { ShapeError } from "@effect-nn/shape"
import type { Device, DeviceError, Rng, Tensor } from "@effect-nn/tensor"
import type { Effect } from "effect"

/** A shape transform: `Out` is computed from `In` (a type lambda). */
export interface ShapeFn {
  readonly In: unknown
  readonly Out: unknown
}

/** The output shape of transform `F` on input shape `S`. */
export type Apply<F extends ShapeFn, S> = (F & { readonly In: S })["Out"]

/** The identity transform (activations, dropout). */
export interface SameShape extends ShapeFn {
  readonly Out: this["In"]
}

/** Where an error happened: the module's path in the network (`fc1`, `net.4`). */
export type Path = string

/**
 * A module description. `F` is its shape transform, `P` its parameter record.
 * `label` is how it prints (`Linear(784, 128)`); `name`, when set, is its key in the
 * enclosing record (PyTorch's attribute name, e.g. `fc1`).
 */
export interface Module<F extends ShapeFn, P> {
  readonly _tag: string
  readonly label: string
  readonly name: string | undefined
  /** Phantom: the shape transform (never read at run time). */
  readonly _F?: F
  /** Creates the parameters on the current device, drawing from the seeded `Rng`. */
  readonly init: Effect.Effect<P, DeviceError, Device | Rng>
  /**
   * Runs the module on `x` synchronously (ops encode device work); throws a
   * `ShapeError` naming `path` when the run-time shape does not fit. Prefer `forward`.
   */
  apply(params: P, x: Tensor<unknown>, path: Path): Tensor<unknown>
  /** Parameter count of the description, without a device. */
  readonly parameterCount: number
  /** Run-time output shape for an input shape (for summaries), or a ShapeError. */
  outputShape(input: ReadonlyArray<number>, path: Path): ReadonlyArray<number>
}

/** Any module. */
export type AnyModule = Module<ShapeFn, unknown>

/** The parameter record of a module. */
export type ParamsOf<M> = M extends Module<ShapeFn, infer P> ? P : never

/** The shape transform of a module. */
export type FnOf<M> = M extends Module<infer F, unknown> ? F : never

/** The output shape of module `M` on input shape `S`. */
export type OutputOf<M, S> = Apply<FnOf<M>, S>

/** Errors of a forward pass. */
export type ForwardError = ShapeError | DeviceError
