/**
 * Modules: a pure description that carries its shape transform in its type, an `init`
 * that turns it into an immutable `Model` (parameters and buffers), and a `run` that
 * applies it in an explicit mode.
 *
 * A shape transform is a type lambda (the pattern Effect uses for its HKTs): an
 * interface with an `In` slot and an `Out` computed from `this["In"]`. `Apply<F, S>` fills
 * the slot. A transform answers `ShapeMismatch<"…">` when the input does not fit; the
 * combinators turn that into a compile error on the offending argument.
 *
 * Modes: `run` receives the mode. In "train" mode a module may draw from the `Rng`
 * (dropout; its `R` type parameter says so) and returns its new buffers (batch-norm
 * running statistics); in "eval" mode it uses its buffers as they are and records
 * nothing for backward.
 */
import type { Shape, ShapeError } from "@effect-nn/shape"
import type { Device, DeviceError, RandomSource, Rng, Tensor } from "@effect-nn/tensor"
import type { Effect } from "effect"

/** A shape transform: `Out` is computed from `In` (a type lambda). */
export interface ShapeFn {
  readonly In: unknown
  readonly Out: unknown
}

/** The output shape of transform `F` on input shape `S`. */
export type Apply<F extends ShapeFn, S> = (F & { readonly In: S })["Out"]

/** The identity transform (activations, dropout, batch norm). */
export interface SameShape extends ShapeFn {
  readonly Out: this["In"]
}

/** Where an error happened: the module's path in the network (`fc1`, `net.4`). */
export type Path = string

/** What a module's state is: its trainable parameters and its buffers. */
export interface Model<P, B> {
  readonly params: P
  readonly buffers: B
}

/** How a forward pass runs: its mode and, in train mode, the random source. */
export interface RunContext {
  readonly mode: "train" | "eval"
  /** Present in train mode when an `Rng` was provided. */
  readonly rng: RandomSource | undefined
  /** Called by every leaf module after it runs (summaries record output shapes with it). */
  readonly trace?: (path: Path, module: AnyModule, output: Shape) => void
}

/**
 * What a module takes: one tensor, or — for multi-input modules such as
 * `parallelInputs` — a tuple or record of tensors.
 */
export type ModuleInput = Tensor<unknown> | ReadonlyArray<Tensor<unknown>> | { readonly [key: string]: Tensor<unknown> }

/** A forward pass's output and the module's buffers after it. */
export interface Ran<B> {
  readonly output: Tensor<unknown>
  readonly buffers: B
}

/** Errors of a forward pass. */
export type ForwardError = ShapeError | DeviceError

/**
 * A module description. `F` is its shape transform, `P` its parameter record, `B` its
 * buffer record, `R` the services its train-mode forward needs (`Rng` for dropout).
 */
export interface Module<F extends ShapeFn, P, B = {}, R = never> {
  readonly _tag: string
  /**
   * How it prints: a leaf's PyTorch repr (`Linear(in_features=784, out_features=128,
   * bias=True)`), a container's class name (`Sequential`).
   */
  readonly label: string
  /** Its key in the enclosing record (PyTorch's attribute name), when named. */
  readonly name: string | undefined
  /** Phantom: the shape transform (never read at run time). */
  readonly _F?: F
  /** Phantom: the services a train forward needs. */
  readonly _R?: R
  /** Number of trainable scalars of the description (no device needed). */
  readonly parameterCount: number
  /** Number of buffer scalars (running statistics, counters). */
  readonly bufferCount: number
  /**
   * Sub-modules in order, with their keys, for containers; empty for a leaf. Determines
   * state-dict order: a leaf lists its parameters then its buffers, a container its
   * children in order (PyTorch's `state_dict` rule).
   */
  readonly children: ReadonlyArray<readonly [string, AnyModule]>
  /** Creates parameters (drawing from the seeded `Rng`) and buffers on the current device. */
  readonly init: Effect.Effect<Model<P, B>, DeviceError, Device | Rng>
  /** Applies the module; see the mode rules above. */
  run(ctx: RunContext, model: Model<P, B>, x: ModuleInput, path: Path): Effect.Effect<Ran<B>, ForwardError>
  /** Run-time output shape for an input shape (summaries), or a `ShapeError` thrown. */
  outputShape(input: Shape, path: Path): Shape
}

/** Any module. */
export type AnyModule = Module<ShapeFn, unknown, unknown, unknown>

/** The parameter record of a module. */
export type ParamsOf<M> = M extends Module<ShapeFn, infer P, unknown, unknown> ? P : never

/** The buffer record of a module. */
export type BuffersOf<M> = M extends Module<ShapeFn, unknown, infer B, unknown> ? B : never

/** The model (parameters and buffers) of a module. */
export type ModelOf<M> = Model<ParamsOf<M>, BuffersOf<M>>

/** The services a module's train-mode forward needs. */
export type RequirementsOf<M> = M extends Module<ShapeFn, unknown, unknown, infer R> ? R : never

/** The shape transform of a module. */
export type FnOf<M> = M extends Module<infer F, unknown, unknown, unknown> ? F : never

/** The output shape of module `M` on input shape `S`. */
export type OutputOf<M, S> = Apply<FnOf<M>, S>

/** Joins a parent path and a key: `net` + `4` → `net.4`. */
export const childPath = (path: Path, key: string): Path => (path === "" ? key : key === "" ? path : `${path}.${key}`)
