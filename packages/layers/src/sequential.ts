/**
 * `sequential(...modules)`: an ordered chain, checked link by link at compile time.
 *
 * The check is a homomorphic mapped type over the argument tuple that swaps only the
 * first module whose input does not fit for a `ShapeMismatch<"…">`, so the compiler
 * underlines that argument with a message naming both dims, e.g.
 * `Linear(64, 10) expects last dim 64, got 128 (input [..., 128])`. It scales to long
 * chains (a tail-recursive fold; 100 modules check in well under a second).
 *
 * Parameters and buffers are records keyed like PyTorch's `nn.Sequential` (`"0"`, `"2"`,
 * …) or by the names given with `named` (`fc1`, `fc2`); modules without state take no key.
 */
import type { ShapeMismatch } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { Effect } from "effect"
import { checkChildren, checkModule } from "./keys.ts"
import type { AnyModule, Apply, BuffersOf, FnOf, Module, ModuleInput, ParamsOf, Ran, RequirementsOf, ShapeFn } from "./module.ts"
import { childPath } from "./module.ts"

/** The shape every chain is checked against when no input is pinned: [..., ?]. */
export type UnknownRankShape = [...Array<number>, number]

/** Folds a shape through a chain: the final shape, or the first `ShapeMismatch`. */
export type ChainOut<L extends ReadonlyArray<unknown>, S> = L extends readonly [infer H, ...infer T]
  ? Apply<FnOf<H>, S> extends infer O
    ? O extends ShapeMismatch<string>
      ? O
      : ChainOut<T, O>
    : never
  : S

type FirstMisfit<L extends ReadonlyArray<unknown>, S, I extends Array<0> = []> = L extends readonly [infer H, ...infer T]
  ? Apply<FnOf<H>, S> extends infer O
    ? O extends ShapeMismatch<infer Msg>
      ? [`${I["length"]}`, Msg]
      : FirstMisfit<T, O, [...I, 0]>
    : never
  : never

/** The argument tuple with the first misfitting module replaced by its mismatch. */
export type CheckChain<L extends ReadonlyArray<unknown>, S = UnknownRankShape, Bad = FirstMisfit<L, S>> = {
  [K in keyof L]: [Bad] extends [never]
    ? L[K]
    : [Bad] extends [[K, infer Msg extends string]]
      ? ShapeMismatch<Msg>
      : L[K]
}

/** Shape transform of a chain. */
export interface SequentialFn<L extends ReadonlyArray<unknown>> extends ShapeFn {
  readonly Out: ChainOut<L, this["In"]>
}

type KeyOf<M, K> = M extends { readonly name: infer N extends string } ? (string extends N ? K : N) : K

/** True when a record type has at least one key. */
export type NonEmpty<R> = keyof R extends never ? false : true

/** The parameter record of a chain: one entry per module with parameters. */
export type SequentialParams<L extends ReadonlyArray<unknown>> = {
  readonly [K in keyof L & `${number}` as NonEmpty<ParamsOf<L[K]>> extends true ? KeyOf<L[K], K> : never]: ParamsOf<L[K]>
}

/** The buffer record of a chain: one entry per module with buffers. */
export type SequentialBuffers<L extends ReadonlyArray<unknown>> = {
  readonly [K in keyof L & `${number}` as NonEmpty<BuffersOf<L[K]>> extends true ? KeyOf<L[K], K> : never]: BuffersOf<L[K]>
}

/** A chain description. */
export interface Sequential<L extends ReadonlyArray<AnyModule>>
  extends Module<SequentialFn<L>, SequentialParams<L>, SequentialBuffers<L>, RequirementsOf<L[number]>>
{
  readonly _tag: "Sequential"
  readonly modules: L
}

/** The record key of module `i` in a container. */
export const keyOf = (m: AnyModule, i: number): string => m.name ?? `${i}`

/**
 * Runs keyed children in order, threading the output and collecting their new buffers
 * (the shared engine of `sequential` and `repeat`).
 */
export const runChain = (
  children: ReadonlyArray<readonly [string, AnyModule]>,
  ctx: Parameters<AnyModule["run"]>[0],
  params: Record<string, unknown>,
  buffers: Record<string, unknown>,
  x: ModuleInput,
  path: string
) =>
  Effect.gen(function*() {
    let y: ModuleInput = x
    let nextBuffers: Record<string, unknown> | undefined
    for (const [key, m] of children) {
      const ran: Ran<unknown> = yield* m.run(ctx, { params: params[key] ?? {}, buffers: buffers[key] ?? {} }, y, childPath(path, key))
      y = ran.output
      if (m.bufferCount > 0 && ran.buffers !== buffers[key]) {
        nextBuffers ??= { ...buffers }
        nextBuffers[key] = ran.buffers
      }
    }
    return { output: y as Tensor<unknown>, buffers: nextBuffers ?? buffers }
  })

/** Initialises keyed children into params and buffers records (modules without state take no key). */
export const initChildren = (children: ReadonlyArray<readonly [string, AnyModule]>) =>
  Effect.gen(function*() {
    const params: Record<string, unknown> = {}
    const buffers: Record<string, unknown> = {}
    for (const [key, m] of children) {
      const model = yield* m.init
      if (m.parameterCount > 0) params[key] = model.params
      if (m.bufferCount > 0) buffers[key] = model.buffers
    }
    return { params, buffers }
  })

/**
 * `sequential(m1, m2, …)`: applies the modules in order (PyTorch's `nn.Sequential`).
 * A module whose input shape does not fit the previous output is a compile error on
 * that argument; dims known only at run time are checked again there (`ShapeError`
 * naming the module's path).
 *
 * Errors: throws `ConfigError` at construction (synchronously) when two modules have the
 * same key — two `named` modules with one name, or a name equal to another module's
 * position — since their state-dict keys would collide (PyTorch: "attribute 'fc' already
 * exists"), e.g. `sequential: the key of modules[2] must be unique among the container's
 * children (modules[0] already has the key "fc"; …), got "fc"`; or when an argument is
 * not a module (a JavaScript caller passing `ReLU` for `ReLU()`).
 */
export const sequential = <const L extends ReadonlyArray<AnyModule>>(...modules: CheckChain<L>): Sequential<L> => {
  const argument = (i: number) => `modules[${i}]`
  const list = (modules as ReadonlyArray<unknown>).map((m, i) => checkModule("sequential", argument(i), m)) as unknown as L
  const children = checkChildren("sequential", list.map((m, i) => [keyOf(m, i), m] as const), argument)
  return {
    _tag: "Sequential",
    label: "Sequential",
    name: undefined,
    modules: list,
    children,
    parameterCount: list.reduce((n, m) => n + m.parameterCount, 0),
    bufferCount: list.reduce((n, m) => n + m.bufferCount, 0),
    init: Effect.map(initChildren(children), (m) => m as { params: SequentialParams<L>; buffers: SequentialBuffers<L> }),
    run: (ctx, model, x, path) =>
      Effect.map(
        runChain(children, ctx, model.params as Record<string, unknown>, model.buffers as Record<string, unknown>, x, path),
        (r) => r as Ran<SequentialBuffers<L>>
      ),
    outputShape: (input, path) => children.reduce<ReadonlyArray<number>>((s, [key, m]) => m.outputShape(s, childPath(path, key)), input)
  }
}
