/**
 * Where a tensor's last dim came from, for error messages that explain a flattened size:
 * `Flatten` records, for the tensor it returns, the shape it flattened; shape-preserving
 * leaf modules (activations, dropout, batch norm) pass the record on to their output; a
 * `Linear` whose input does not fit names the origin (`490 = 10·7·7 came from net.1
 * (Flatten) flattening [2, 10, 7, 7]`). The records live in a weak map keyed by the tensor
 * object: nothing is added to tensors, and records go away with their tensors.
 */
import type { Shape } from "@effect-nn/shape"
import { formatShape } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import type { Path } from "./module.ts"

/** What a `Flatten` did to produce a tensor. */
export interface FlattenOrigin {
  /** The Flatten's path in the network (`net.1`). */
  readonly path: Path
  /** The shape it flattened (`[2, 10, 7, 7]`). */
  readonly input: Shape
  /** The first and last flattened dims (non-negative). */
  readonly startDim: number
  readonly endDim: number
}

const origins = new WeakMap<object, FlattenOrigin>()

/** Records that `output` was made by flattening (see `FlattenOrigin`). */
export const recordFlatten = (output: Tensor<unknown>, origin: FlattenOrigin): void => {
  origins.set(output, origin)
}

/** The flatten record of `t`, if a Flatten (then only shape-preserving modules) made it. */
export const flattenOrigin = (t: Tensor<unknown>): FlattenOrigin | undefined => origins.get(t)

/** Passes `input`'s record on to `output` when the module kept the shape. */
export const carryFlattenOrigin = (input: Tensor<unknown>, output: Tensor<unknown>): void => {
  if (output === input || origins.has(output)) return
  const origin = origins.get(input)
  if (origin === undefined) return
  const a = input.dims
  const b = output.dims
  if (a.length === b.length && a.every((d, i) => d === b[i])) origins.set(output, origin)
}

/**
 * The sentence explaining a flattened last dim: `490 = 10·7·7 came from net.1 (Flatten)
 * flattening [2, 10, 7, 7]`.
 */
export const describeFlatten = (origin: FlattenOrigin): string => {
  const dims = origin.input.slice(origin.startDim, origin.endDim + 1)
  const size = dims.reduce((p, d) => p * d, 1)
  return `${size} = ${dims.join("·")} came from ${origin.path === "" ? "Flatten" : `${origin.path} (Flatten)`} flattening ${formatShape(origin.input)}`
}
