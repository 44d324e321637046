/**
 * `sequential(...modules)`: an ordered chain, checked link by link at compile time.
 *
 * The check is a homomorphic mapped type over the argument tuple that swaps only the
 * first module whose input does not fit for a `ShapeMismatch<"…">`, so the compiler
 * underlines that argument with a message naming both dims, e.g.
 * `Linear(64, 10) expects last dim 64, got 128 (input [..., 128])`. It scales to long
 * chains (a tail-recursive fold; 100 modules check in well under a second).
 *
 * Parameters are a record keyed like PyTorch's `nn.Sequential` (`"0"`, `"2"`, …) or by
 * the names given with `named` (`fc1`, `fc2`); parameter-free modules take no key.
 */
import type { ShapeMismatch } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { Effect } from "effect"
import type { AnyModule, Apply, FnOf, Module, ParamsOf, ShapeFn } from "./module.ts"

/** The shape every chain is checked against when no input is pinned: [..., ?]. */
export type AnyInput = [...Array<number>, number]

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
export type CheckChain<L extends ReadonlyArray<unknown>, S = AnyInput, Bad = FirstMisfit<L, S>> = {
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

type HasParams<M> = keyof ParamsOf<M> extends never ? false : true

/** The parameter record of a chain: one entry per module with parameters. */
export type SequentialParams<L extends ReadonlyArray<unknown>> = {
  readonly [K in keyof L & `${number}` as HasParams<L[K]> extends true ? KeyOf<L[K], K> : never]: ParamsOf<L[K]>
}

/** A chain description. */
export interface Sequential<L extends ReadonlyArray<AnyModule>> extends Module<SequentialFn<L>, SequentialParams<L>> {
  readonly _tag: "Sequential"
  readonly modules: L
}

/** The record key of module `i` in a chain. */
export const keyOf = (m: AnyModule, i: number): string => m.name ?? `${i}`

/**
 * `sequential(m1, m2, …)`: applies the modules in order (PyTorch's `nn.Sequential`).
 * A module whose input shape does not fit the previous output is a compile error on
 * that argument; dims known only at run time are checked again there (`ShapeError`
 * naming the module's path).
 */
export const sequential = <const L extends ReadonlyArray<AnyModule>>(...modules: CheckChain<L>): Sequential<L> => {
  const list = modules as unknown as L
  const keyed = list.map((m, i) => [keyOf(m, i), m, m.parameterCount > 0] as const)
  const child = (path: string, key: string) => (path === "" ? key : `${path}.${key}`)
  return {
    _tag: "Sequential",
    label: "Sequential",
    name: undefined,
    modules: list,
    parameterCount: list.reduce((n, m) => n + m.parameterCount, 0),
    init: Effect.gen(function*() {
      const params: Record<string, unknown> = {}
      for (const [key, m, has] of keyed) {
        const p = yield* m.init
        if (has) params[key] = p
      }
      return params as SequentialParams<L>
    }),
    apply: (params, x, path) => {
      const record = params as Record<string, unknown>
      let y: Tensor<unknown> = x
      for (const [key, m] of keyed) y = m.apply(record[key] ?? {}, y, child(path, key))
      return y
    },
    outputShape: (input, path) => keyed.reduce<ReadonlyArray<number>>((s, [key, m]) => m.outputShape(s, child(path, key)), input)
  }
}
