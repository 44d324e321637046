/**
 * `Flatten(startDim = 1, endDim = -1)`: merges dims startDim..endDim into one, PyTorch's
 * `nn.Flatten` (https://pytorch.org/docs/stable/generated/torch.nn.Flatten.html). No
 * parameters; a reshape (no copy).
 *
 * The flattened size is computed in the types (`Product`): [B, 32, 13, 13] → [B, 5408], so
 * a `Linear` that does not take 5408 features is a compile error naming 5408. At run time
 * the output remembers where its last dim came from (see `provenance.ts`), and a `Linear`
 * that does not fit names it: `490 = 10·7·7 came from net.1 (Flatten) flattening [2, 10, 7, 7]`.
 */
import type { Add, Lt, Lte, Product, ShapeMismatch, ShapeText, Sub } from "@effect-nn/shape"
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { Shape } from "@effect-nn/shape"
import { reshape } from "@effect-nn/tensor"
import { Effect } from "effect"
import { ConfigError } from "./errors.ts"
import { leaf, stateless } from "./leaf.ts"
import type { Module, ShapeFn } from "./module.ts"
import { recordFlatten } from "./provenance.ts"

/** A dim index as a non-negative one for rank `R` (`-1` → `R − 1`); `never` below 0. */
type NormDim<I extends number, R extends number> = `${I}` extends `-${infer A extends number}` ? Sub<R, A> : I

/** [the first N elements, the rest] of a tuple. */
type Take<S extends ReadonlyArray<unknown>, N extends number, Acc extends Array<unknown> = []> = Acc["length"] extends N ? [Acc, S]
  : S extends readonly [infer H, ...infer T] ? Take<T, N, [...Acc, H]>
  : never

/** How a `Flatten` is named in compile errors. */
export type FlattenLabel<Start extends number, End extends number> = `Flatten(start_dim=${Start}, end_dim=${End})`

/** Shape transform of `Flatten(Start, End)` (see `FlattenOut`). */
export interface FlattenFn<Start extends number, End extends number> extends ShapeFn {
  readonly Out: FlattenOut<Start, End, this["In"]>
}

/**
 * The output of `Flatten(Start, End)` on `S`: dims Start..End (negative counts from the
 * end) replaced by their product (`Product`; `number` when one of them is unknown or
 * symbolic): [B, 32, 13, 13] → [B, 5408]. Dims out of range, or Start after End, are a
 * mismatch naming the input; an input of unknown rank gives `number[]` (checked at run time).
 */
export type FlattenOut<Start extends number, End extends number, S> = number[] extends S ? Array<number>
  : S extends ReadonlyArray<number> ? number extends S["length"] ? Array<number>
    : FlattenFixed<S, NormDim<Start, S["length"]>, NormDim<End, S["length"]>, FlattenLabel<Start, End>>
  : ShapeMismatch<`${FlattenLabel<Start, End>} expects a tensor, got ${ShapeText<S>}`>

type FlattenFixed<S extends ReadonlyArray<number>, St, En, Label extends string> = [St] extends [never] ? FlattenRange<Label, S>
  : [En] extends [never] ? FlattenRange<Label, S>
  : [St, En] extends [infer a extends number, infer b extends number]
    ? [Lte<a, b>, Lt<b, S["length"]>] extends [true, true]
      ? Take<S, a> extends [infer Pre extends Array<number>, infer Rest extends ReadonlyArray<number>]
        ? Take<Rest, Add<Sub<b, a>, 1>> extends [infer Mid extends Array<number>, infer Post extends ReadonlyArray<number>]
          ? [...Pre, Product<Mid>, ...Post]
          : never
        : never
      : FlattenRange<Label, S>
    : never

type FlattenRange<Label extends string, S extends ReadonlyArray<number>> = ShapeMismatch<`${Label} does not fit input ${ShapeText<S>} of rank ${S["length"]}: start_dim and end_dim must be dims of the input, start_dim not after end_dim`>

/** A `Flatten` description. */
export interface Flatten<Start extends number = 1, End extends number = -1> extends Module<FlattenFn<Start, End>, {}, {}> {
  readonly _tag: "Flatten"
  readonly startDim: Start
  readonly endDim: End
}

/**
 * The flattened dims of `input` (run-time twin of `FlattenOut`), or a `ShapeError` named
 * `where`. Returns the output dims and the normalised start and end.
 */
export const flattenDims = (where: string, input: Shape, startDim: number, endDim: number): readonly [Shape, number, number] => {
  const rank = input.length
  const start = startDim < 0 ? startDim + rank : startDim
  const end = endDim < 0 ? endDim + rank : endDim
  if (!(start >= 0 && start <= end && end < rank)) {
    throw new ShapeError({
      op: where,
      reason: `Flatten(start_dim=${startDim}, end_dim=${endDim}) does not fit input ${formatShape(input)} of rank ${rank}: start_dim and end_dim must be dims of the input, start_dim not after end_dim`,
      shapes: [input]
    })
  }
  const merged = input.slice(start, end + 1).reduce((p, d) => p * d, 1)
  return [[...input.slice(0, start), merged, ...input.slice(end + 1)], start, end]
}

/**
 * `Flatten(startDim = 1, endDim = -1)`: [d₀, …, d_s, …, d_e, …] → [d₀, …, d_s·…·d_e, …]
 * (negative dims count from the end; the defaults keep the batch and flatten the rest, as
 * PyTorch's `nn.Flatten`). The output shares the input's storage.
 *
 * Errors: `ConfigError` at construction when a dim is not an integer; a forward fails
 * with `ShapeError` naming the layer path when the dims do not fit the input (the same is
 * a compile error when the rank is known to the types).
 *
 * Label: PyTorch's repr, `Flatten(start_dim=1, end_dim=-1)`.
 */
export const Flatten = <const Start extends number = 1, const End extends number = -1>(startDim?: Start, endDim?: End): Flatten<Start, End> => {
  const start = startDim ?? 1
  const end = endDim ?? -1
  for (const [argument, value] of [["startDim", start], ["endDim", end]] as const) {
    if (!Number.isInteger(value)) throw new ConfigError({ module: "Flatten", argument, expected: "an integer dim (negative counts from the end)", value })
  }
  return leaf<FlattenFn<Start, End>, {}, {}, never, { _tag: "Flatten"; startDim: Start; endDim: End }>({
    tag: "Flatten",
    label: `Flatten(start_dim=${start}, end_dim=${end})`,
    parameterCount: 0,
    init: Effect.succeed(stateless),
    apply: (_ctx, model, x, path) => {
      const [dims, s, e] = flattenDims(path === "" ? "Flatten" : path, x.dims, start, end)
      const output = reshape(x, dims)
      recordFlatten(output, { path, input: x.dims, startDim: s, endDim: e })
      return { output, buffers: model.buffers }
    },
    outputShape: (input, path) => flattenDims(path === "" ? "Flatten" : path, input, start, end)[0]
  }, { _tag: "Flatten", startDim: start as Start, endDim: end as End })
}
