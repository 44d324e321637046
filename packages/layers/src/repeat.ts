/**
 * `repeat(n, make)`: a stack of n blocks applied in order — PyTorch's `nn.ModuleList`
 * as the tutorial uses it (`for block in self.blocks: x = block(x)`), keyed `0` … `n−1`.
 * Every block must keep the shape (a compile error naming both shapes otherwise), so the
 * type does not grow with n: a 50-block stack checks as fast as one block.
 */
import type { ShapeMismatch, ShapeText } from "@effect-nn/shape"
import { Effect } from "effect"
import { ConfigError } from "./errors.ts"
import { checkModule, showValue } from "./keys.ts"
import type { AnyModule, Apply, BuffersOf, FnOf, Module, ParamsOf, Ran, RequirementsOf, ShapeFn } from "./module.ts"
import { childPath } from "./module.ts"
import { initChildren, runChain } from "./sequential.ts"

type SameShapeType<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

/** Shape transform of a stack of shape-keeping blocks. */
export interface RepeatFn<M> extends ShapeFn {
  readonly Out: Apply<FnOf<M>, this["In"]> extends infer O
    ? O extends ShapeMismatch<string>
      ? O
      : SameShapeType<O, this["In"]> extends true
        ? this["In"]
        : ShapeMismatch<`repeat: block maps ${ShapeText<this["In"]>} to ${ShapeText<O>}; repeated blocks must keep the shape`>
    : never
}

/** Parameters of a stack: one record per block under "0", "1", …. */
export type RepeatParams<M> = { readonly [index: `${number}`]: ParamsOf<M> }

/** Buffers of a stack: one record per block under "0", "1", …. */
export type RepeatBuffers<M> = { readonly [index: `${number}`]: BuffersOf<M> }

/** A stack description. */
export interface Repeat<M extends AnyModule> extends Module<RepeatFn<M>, RepeatParams<M>, RepeatBuffers<M>, RequirementsOf<M>> {
  readonly _tag: "Repeat"
  readonly blocks: ReadonlyArray<M>
}

/**
 * `repeat(n, (i) => block)`: n blocks made by `make` (each with its own parameters),
 * applied in order. Keys `0` … `n−1` as `nn.ModuleList`; prints as `ModuleList`.
 * `repeat(0, …)` is an empty stack (the identity), as an empty `nn.ModuleList` is.
 *
 * Errors: throws `ConfigError` at construction (synchronously) when `n` is not a
 * non-negative integer (`repeat: n must be a non-negative integer (the number of blocks),
 * got -1`), when `make` is not a function, or when `make(i)` does not return a module.
 */
export const repeat = <M extends AnyModule>(n: number, make: (index: number) => M): Repeat<M> => {
  if (!(Number.isInteger(n) && n >= 0)) {
    throw new ConfigError({ module: "repeat", argument: "n", expected: "a non-negative integer (the number of blocks)", value: typeof n === "number" ? n : showValue(n) })
  }
  if (typeof make !== "function") {
    throw new ConfigError({ module: "repeat", argument: "make", expected: "a function from a block's index to a module, (i) => block", value: showValue(make) })
  }
  const blocks = Array.from({ length: n }, (_, i) => checkModule("repeat", `make(${i})`, make(i)) as M)
  const children = blocks.map((b, i) => [`${i}`, b] as const)
  return {
    _tag: "Repeat",
    label: "ModuleList",
    name: undefined,
    blocks,
    children,
    parameterCount: blocks.reduce((s, b) => s + b.parameterCount, 0),
    bufferCount: blocks.reduce((s, b) => s + b.bufferCount, 0),
    init: Effect.map(initChildren(children), (m) => m as { params: RepeatParams<M>; buffers: RepeatBuffers<M> }),
    run: (ctx, model, x, path) =>
      Effect.map(
        runChain(children, ctx, model.params as Record<string, unknown>, model.buffers as Record<string, unknown>, x, path),
        (r) => r as Ran<RepeatBuffers<M>>
      ),
    outputShape: (input, path) => children.reduce<ReadonlyArray<number>>((s, [key, m]) => m.outputShape(s, childPath(path, key)), input)
  }
}
