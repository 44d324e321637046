/**
 * `parallel(branches, merge)`: the same input through several branches, merged by
 * concatenation along the last dim (the output type carries the sum of the branch widths)
 * or by addition (the branch outputs must agree). Branches are a tuple (keys `0`, `1`, …)
 * or a record (keys are the names).
 */
import type { ShapeMismatch, ShapeText, Sum } from "@effect-nn/shape"
import { ShapeError, formatShape, shapeEquals } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { add, concatLast, isTensor } from "@effect-nn/tensor"
import { Effect } from "effect"
import { ConfigError } from "./errors.ts"
import { checkChildren, isModule, showValue } from "./keys.ts"
import { run } from "./run.ts"
import type { AnyModule, Apply, BuffersOf, FnOf, Module, ParamsOf, RequirementsOf, ShapeFn } from "./module.ts"
import { childPath } from "./module.ts"
import type { NonEmpty } from "./sequential.ts"
import type { UnknownRankShape } from "./sequential.ts"
import { initChildren, keyOf } from "./sequential.ts"

/** How branch outputs are merged. */
export type Merge = "concat" | "add"

type Outputs<Bs, S> = { [K in keyof Bs]: Apply<FnOf<Bs[K]>, S> }
type Values<T> = T extends ReadonlyArray<unknown> ? T[number] : T[keyof T]
type FirstMismatch<Os> = Extract<Values<Os>, ShapeMismatch<string>>
type Lasts<Os extends ReadonlyArray<unknown>> = { [K in keyof Os]: Os[K] extends readonly [...infer _P, infer L] ? L : never }
type Leads<O> = O extends readonly [...infer P, infer _L] ? P : never
type TupleOf<Os> = Os extends ReadonlyArray<unknown> ? Os : UnionToTuple<Os[keyof Os]>
// Record branches: widths are summed in an unspecified order, which addition does not mind.
type UnionToTuple<U> = [U] extends [never] ? [] : LastOfUnion<U> extends infer L ? [...UnionToTuple<Exclude<U, L>>, L] : never
type LastOfUnion<U> = (U extends unknown ? (f: U) => void : never) extends infer F
  ? (F extends unknown ? (x: F) => void : never) extends (x: infer I) => void ? (I extends (f: infer A) => void ? A : never) : never
  : never

type ConcatOut<Os> = TupleOf<Os> extends infer T extends ReadonlyArray<unknown>
  ? number extends Sum<Lasts<T>> ? [...Leads<T[0]>, number] : [...Leads<T[0]>, Sum<Lasts<T>>]
  : never

type AddOut<Os> = TupleOf<Os> extends infer T extends ReadonlyArray<unknown>
  ? T extends readonly [infer H, ...infer R]
    ? Exclude<R[number], H> extends never
      ? H
      : ShapeMismatch<`parallel(add): branch outputs differ: ${ShapeText<H>} vs ${ShapeText<Exclude<R[number], H>>}`>
    : never
  : never

/** Shape transform of `parallel(branches, merge)`. */
export interface ParallelFn<Bs, M extends Merge> extends ShapeFn {
  readonly Out: [FirstMismatch<Outputs<Bs, this["In"]>>] extends [never]
    ? M extends "concat" ? ConcatOut<Outputs<Bs, this["In"]>> : AddOut<Outputs<Bs, this["In"]>>
    : FirstMismatch<Outputs<Bs, this["In"]>>
}

type BranchKey<Bs, K> = Bs extends ReadonlyArray<unknown> ? (K extends `${number}` ? K : never) : K

/** Parameters of a parallel: one record per branch with parameters. */
export type ParallelParams<Bs> = {
  readonly [K in keyof Bs as NonEmpty<ParamsOf<Bs[K]>> extends true ? BranchKey<Bs, K> : never]: ParamsOf<Bs[K]>
}

/** Buffers of a parallel: one record per branch with buffers. */
export type ParallelBuffers<Bs> = {
  readonly [K in keyof Bs as NonEmpty<BuffersOf<Bs[K]>> extends true ? BranchKey<Bs, K> : never]: BuffersOf<Bs[K]>
}

/** A parallel description. */
export interface Parallel<Bs, M extends Merge> extends Module<ParallelFn<Bs, M>, ParallelParams<Bs>, ParallelBuffers<Bs>, RequirementsOf<Values<Bs>>> {
  readonly _tag: "Parallel"
  readonly merge: M
}

const merges: ReadonlyArray<Merge> = ["concat", "add"]

/**
 * The keyed branches of `container` (`parallel`, `parallelInputs`), with its arguments
 * checked: a tuple's branches are keyed by their `named` names or positions, a record's by
 * its keys. Throws `ConfigError` naming the container, the argument and the value.
 */
const branchChildren = (container: string, branches: unknown, merge: unknown): Array<readonly [string, AnyModule]> => {
  if (typeof branches !== "object" || branches === null) {
    throw new ConfigError({ module: container, argument: "branches", expected: "a tuple or a record of modules", value: showValue(branches) })
  }
  let children: Array<readonly [string, AnyModule]>
  if (Array.isArray(branches)) {
    const list: ReadonlyArray<unknown> = branches
    children = checkChildren(container, list.map((b, i) => [isModule(b) ? keyOf(b, i) : `${i}`, b] as const), (i) => `branches[${i}]`)
  } else {
    const entries = Object.entries(branches)
    children = checkChildren(container, entries, (i) => `branches[${JSON.stringify(entries[i]![0])}]`)
  }
  if (children.length === 0) {
    throw new ConfigError({ module: container, argument: "branches", expected: "at least one module", value: Array.isArray(branches) ? "[]" : "{}" })
  }
  if (!(merges as ReadonlyArray<unknown>).includes(merge)) {
    throw new ConfigError({ module: container, argument: "merge", expected: merges.map((m) => JSON.stringify(m)).join(" or "), value: showValue(merge) })
  }
  return children
}

/** The body of `parallel` and `parallelInputs`; `container` names the one built in errors. */
const parallelOf = <Bs extends ReadonlyArray<AnyModule> | Readonly<Record<string, AnyModule>>, M extends Merge>(container: string, branches: Bs, merge: M): Parallel<Bs, M> => {
  const children = branchChildren(container, branches, merge)
  const combine = (outputs: ReadonlyArray<Tensor<unknown>>, path: string): Tensor<unknown> => {
    if (merge === "concat") return concatLast(outputs)
    const first = outputs[0]!
    for (const o of outputs) {
      if (!shapeEquals(o.dims, first.dims)) {
        throw new ShapeError({ op: path === "" ? "parallel" : path, reason: `parallel(add): branch outputs differ: ${outputs.map((u) => formatShape(u.dims)).join(" vs ")}`, shapes: outputs.map((u) => u.dims) })
      }
    }
    return outputs.slice(1).reduce((acc, o) => add(acc, o), first)
  }
  return {
    _tag: "Parallel",
    label: "Parallel",
    name: undefined,
    merge,
    children,
    parameterCount: children.reduce((s, [, m]) => s + m.parameterCount, 0),
    bufferCount: children.reduce((s, [, m]) => s + m.bufferCount, 0),
    init: initChildren(children) as Parallel<Bs, M>["init"],
    run: (ctx, model, x, path) =>
      Effect.gen(function*() {
        const params = model.params as Record<string, unknown>
        const buffers = model.buffers as Record<string, unknown>
        let next: Record<string, unknown> | undefined
        const outputs: Array<Tensor<unknown>> = []
        for (const [key, m] of children) {
          const ran = yield* m.run(ctx, { params: params[key] ?? {}, buffers: buffers[key] ?? {} }, x, childPath(path, key))
          outputs.push(ran.output)
          if (m.bufferCount > 0 && ran.buffers !== buffers[key]) {
            next ??= { ...buffers }
            next[key] = ran.buffers
          }
        }
        const output = yield* run(() => combine(outputs, path))
        return { output, buffers: (next ?? buffers) as ParallelBuffers<Bs> }
      }),
    outputShape: (input, path) => {
      const outs = children.map(([key, m]) => m.outputShape(input, childPath(path, key)))
      if (merge === "add") {
        for (const o of outs) {
          if (!shapeEquals(o, outs[0]!)) throw new ShapeError({ op: path === "" ? "parallel" : path, reason: `parallel(add): branch outputs differ: ${outs.map(formatShape).join(" vs ")}`, shapes: outs })
        }
        return outs[0]!
      }
      return [...outs[0]!.slice(0, -1), outs.reduce((s, o) => s + o[o.length - 1]!, 0)]
    }
  }
}

/**
 * `parallel(branches, "concat" | "add")`: every branch gets the input; outputs are
 * concatenated along the last dim ([..., Σ widths]) or added (equal shapes required).
 * Source: the Inception-style and multi-branch patterns of the nn.Module tutorial.
 *
 * Errors: throws `ConfigError` at construction (synchronously) when `merge` is not
 * `"concat"` or `"add"` (a compile error in TypeScript; checked for JavaScript callers:
 * `parallel: merge must be "concat" or "add", got "mul"`), when there are no branches, when
 * a branch is not a module, when two tuple branches have the same key (two `named` with one
 * name: their state-dict keys would collide), or when a record key is empty or contains
 * ".". A forward fails with `ShapeError` naming the path when added branch outputs differ.
 */
export const parallel = <const Bs extends ReadonlyArray<AnyModule> | Readonly<Record<string, AnyModule>>, M extends Merge>(branches: Bs, merge: M): Parallel<Bs, M> =>
  parallelOf("parallel", branches, merge)

/** The input of branch `K`: the matching entry of a tuple or record input. */
type BranchInput<In, K> = In extends ReadonlyArray<number>
  ? number extends In["length"]
    ? UnknownRankShape // checked once an input is given: a shape of unknown rank
    : never
  : K extends keyof In
    ? In[K]
    : never

type InputsOutputs<Bs, In> = {
  [K in keyof Bs]: [BranchInput<In, K>] extends [never]
    ? ShapeMismatch<`parallelInputs: no input for branch ${K & string}; the input must be a tuple or record with one tensor per branch`>
    : Apply<FnOf<Bs[K]>, BranchInput<In, K>>
}

/** Shape transform of `parallelInputs(branches, merge)`: branch K gets input K. */
export interface ParallelInputsFn<Bs, M extends Merge> extends ShapeFn {
  readonly Out: [FirstMismatch<InputsOutputs<Bs, this["In"]>>] extends [never]
    ? M extends "concat" ? ConcatOut<InputsOutputs<Bs, this["In"]>> : AddOut<InputsOutputs<Bs, this["In"]>>
    : FirstMismatch<InputsOutputs<Bs, this["In"]>>
}

/** A multi-input parallel description. */
export interface ParallelInputs<Bs, M extends Merge>
  extends Module<ParallelInputsFn<Bs, M>, ParallelParams<Bs>, ParallelBuffers<Bs>, RequirementsOf<Values<Bs>>>
{
  readonly _tag: "ParallelInputs"
  readonly merge: M
}

/**
 * `parallelInputs(branches, "concat" | "add")`: one input per branch — a tuple for tuple
 * branches, a record with the same keys for record branches — each through its own
 * sub-network, merged as `parallel` merges (the tutorial's multi-modal case: tabular
 * features and an image embedding through separate networks, concatenated before the head).
 * Feed it with `forward(net, model, { tabular: xt, image: xi }, mode)`.
 *
 * Errors: `ConfigError` at construction as `parallel`'s, naming `parallelInputs`. A
 * forward fails with `ShapeError` naming the path when the input is one tensor or lacks a
 * branch's entry.
 */
export const parallelInputs = <const Bs extends ReadonlyArray<AnyModule> | Readonly<Record<string, AnyModule>>, M extends Merge>(
  branches: Bs,
  merge: M
): ParallelInputs<Bs, M> => {
  const base = parallelOf("parallelInputs", branches, merge)
  return {
    _tag: "ParallelInputs",
    label: "ParallelInputs",
    name: undefined,
    merge,
    children: base.children,
    parameterCount: base.parameterCount,
    bufferCount: base.bufferCount,
    init: base.init,
    run: (ctx, model, x, path) =>
      Effect.gen(function*() {
        const inputs = x as unknown as Record<string, Tensor<unknown> | undefined>
        if (isTensor(x)) {
          return yield* Effect.fail(new ShapeError({ op: path === "" ? "parallelInputs" : path, reason: "expects a tuple or record with one tensor per branch, got one tensor", shapes: [x.dims] }))
        }
        const params = model.params as Record<string, unknown>
        const buffers = model.buffers as Record<string, unknown>
        let next: Record<string, unknown> | undefined
        const outputs: Array<Tensor<unknown>> = []
        for (const [index, [key, m]] of base.children.entries()) {
          const input = inputs[Array.isArray(x) ? `${index}` : key]
          if (input === undefined) {
            return yield* Effect.fail(new ShapeError({ op: path === "" ? "parallelInputs" : path, reason: `no input for branch ${key}`, shapes: [] }))
          }
          const ran = yield* m.run(ctx, { params: params[key] ?? {}, buffers: buffers[key] ?? {} }, input, childPath(path, key))
          outputs.push(ran.output)
          if (m.bufferCount > 0 && ran.buffers !== buffers[key]) {
            next ??= { ...buffers }
            next[key] = ran.buffers
          }
        }
        const output = yield* run(() => (merge === "concat" ? concatLast(outputs) : outputs.slice(1).reduce((acc, o) => add(acc, o), outputs[0]!)))
        return { output, buffers: (next ?? buffers) as ParallelBuffers<Bs> }
      }),
    outputShape: (input, path) => {
      throw new ShapeError({ op: path === "" ? "parallelInputs" : path, reason: `takes one tensor per branch; summaries of multi-input modules need each input's shape (got one shape ${formatShape(input)})`, shapes: [input] })
    }
  }
}
