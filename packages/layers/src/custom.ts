/**
 * Custom modules: the tutorial's own pattern — layers declared, then a forward that says
 * how data flows — for what combinators do not express.
 *
 *   const Block = module("ResidualBlock", { fc1: Linear(256, 128), bn1: BatchNorm1d(128), … })
 *     .forward<[Sym<"B">, 256], [Sym<"B">, 256]>((m, x) => Effect.gen(function*() {
 *       const h = yield* m.fc1(x)          // Tensor<[B, 128]>, checked at compile time
 *       …
 *     }))
 *
 * The parts are a record, so every parameter is found by construction (no registration
 * to forget); state-dict keys follow the part names in declaration order. Inside the
 * forward, each part is a function of a tensor whose input shape is checked where it is
 * called; branches and loops on run-time values are ordinary code. The declared input
 * and output shapes (symbolic dims such as `Sym<"B">` match any size and carry over) make
 * the module's shape transform, checked wherever the module is used.
 */
import type { ShapeMismatch, ShapeText, Sym } from "@effect-nn/shape"
import { ShapeError } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { DeviceError } from "@effect-nn/tensor"
import { Effect } from "effect"
import type { InputCheck } from "./forward.ts"
import type { AnyModule, BuffersOf, ForwardError, Module, OutputOf, ParamsOf, RequirementsOf, ShapeFn } from "./module.ts"
import { childPath } from "./module.ts"
import { checkChildren } from "./keys.ts"
import type { NonEmpty } from "./sequential.ts"
import { initChildren } from "./sequential.ts"
import { traceShapes } from "./trace.ts"

type SymOf<D> = D extends Sym<infer N> ? (string extends N ? never : N) : never

type Bind<Actual, Pattern, B> = Pattern extends readonly [infer P, ...infer PR]
  ? Actual extends readonly [infer A, ...infer AR]
    ? [SymOf<P>] extends [never]
      ? number extends A
        ? Bind<AR, PR, B>
        : [A] extends [P]
          ? Bind<AR, PR, B>
          : "mismatch"
      : Bind<AR, PR, B & { readonly [K in SymOf<P>]: A }>
    : "mismatch"
  : Actual extends readonly []
    ? B
    : "mismatch"

type Substitute<Out, B> = { [K in keyof Out]: [SymOf<Out[K]>] extends [never] ? Out[K] : SymOf<Out[K]> extends keyof B ? B[SymOf<Out[K]>] : Out[K] }

type LastOf<T> = T extends readonly [...infer _P, infer L] ? L : never

/** Replaces the symbolic dims of `Out` by `number` (their sizes are unknown here). */
type Unbound<Out> = { [K in keyof Out]: [SymOf<Out[K]>] extends [never] ? Out[K] : number }

/**
 * For an input of unknown rank ending in a known dim (how chains are checked before an
 * input is given): only the last dims are compared.
 */
type BindLast<Actual, Pattern> = [SymOf<LastOf<Pattern>>] extends [never]
  ? number extends LastOf<Actual>
    ? {}
    : [LastOf<Actual>] extends [LastOf<Pattern>]
      ? {}
      : "mismatch"
  : {}

/** Shape transform of a custom module declared as `In → Out`. */
export interface CustomFn<Name extends string, In, Out> extends ShapeFn {
  readonly Out: number[] extends this["In"]
    ? Array<number>
    : this["In"] extends readonly unknown[]
      ? number extends this["In"]["length"]
        ? BindLast<this["In"], In> extends "mismatch"
          ? ShapeMismatch<`${Name} expects input ${ShapeText<In>}, got ${ShapeText<this["In"]>}`>
          : [In] extends [Out]
            ? [Out] extends [In]
              ? this["In"] // declared shape-keeping: keep the (unknown-rank) input shape
              : Unbound<Out>
            : Unbound<Out>
        : CustomFnFixed<Name, In, Out, this["In"]>
      : ShapeMismatch<`${Name} expects input ${ShapeText<In>}, got ${ShapeText<this["In"]>}`>
}

type CustomFnFixed<Name extends string, In, Out, Actual> = Bind<Actual, In, {}> extends infer B
      ? B extends "mismatch"
        ? ShapeMismatch<`${Name} expects input ${ShapeText<In>}, got ${ShapeText<Actual>}`>
        : Substitute<Out, B>
      : never


/** A part as the forward sees it: a function of a tensor, checked where it is called. */
export type BoundPart<M> = <S>(x: Tensor<S> & InputCheck<M, S>) => Effect.Effect<Tensor<OutputOf<M, S>>, ForwardError>

/** All parts, bound. */
export type Bound<Parts> = { readonly [K in keyof Parts]: BoundPart<Parts[K]> }

/** Parameters of a custom module: one record per part with parameters. */
export type CustomParams<Parts> = {
  readonly [K in keyof Parts as NonEmpty<ParamsOf<Parts[K]>> extends true ? K : never]: ParamsOf<Parts[K]>
}

/** Buffers of a custom module: one record per part with buffers. */
export type CustomBuffers<Parts> = {
  readonly [K in keyof Parts as NonEmpty<BuffersOf<Parts[K]>> extends true ? K : never]: BuffersOf<Parts[K]>
}

/** A custom module description. */
export interface Custom<Name extends string, Parts extends Record<string, AnyModule>, In, Out>
  extends Module<CustomFn<Name, In, Out>, CustomParams<Parts>, CustomBuffers<Parts>, RequirementsOf<Parts[keyof Parts]>>
{
  readonly _tag: "Custom"
  readonly parts: Parts
}

/** The forward of a custom module: an Effect program over its bound parts. */
export type CustomForward<Parts, In, Out> = (parts: Bound<Parts>, x: Tensor<In>) => Effect.Effect<Tensor<Out>, ForwardError>

const toFailure = (defect: unknown): Effect.Effect<never, ForwardError> =>
  defect instanceof ShapeError || defect instanceof DeviceError ? Effect.fail(defect) : Effect.die(defect)

/**
 * `module(name, parts).forward<In, Out>(fn)`: a module made of named parts and a forward
 * written by hand. `In`/`Out` are the declared shapes (symbolic dims match any size).
 * Ops called directly inside `fn` (e.g. `relu(h)`) that throw a `ShapeError` fail the
 * Effect with it, named by the module's path.
 *
 * Errors: throws `ConfigError` when `forward` is called (synchronously) if a part's key is
 * empty or contains "." (it becomes one segment of the state-dict keys, as PyTorch's
 * `add_module` requires) or a part is not a module.
 */
export const module = <const Name extends string, const Parts extends Record<string, AnyModule>>(name: Name, parts: Parts) => ({
  forward: <In, Out>(fn: CustomForward<Parts, In, Out>): Custom<Name, Parts, In, Out> => {
    const children = checkChildren(name, Object.entries(parts), (i) => `parts.${Object.keys(parts)[i]}`)
    const self: Custom<Name, Parts, In, Out> = {
      _tag: "Custom",
      label: name,
      name: undefined,
      parts,
      children,
      parameterCount: children.reduce((s, [, m]) => s + m.parameterCount, 0),
      bufferCount: children.reduce((s, [, m]) => s + m.bufferCount, 0),
      init: initChildren(children) as Custom<Name, Parts, In, Out>["init"],
      run: (ctx, model, x, path) =>
        Effect.suspend(() => {
          const params = model.params as Record<string, unknown>
          const buffers: Record<string, unknown> = { ...(model.buffers as Record<string, unknown>) }
          let changed = false
          const bound: Record<string, (input: Tensor<unknown>) => Effect.Effect<Tensor<unknown>, ForwardError>> = {}
          for (const [key, part] of children) {
            bound[key] = (input) =>
              Effect.map(part.run(ctx, { params: params[key] ?? {}, buffers: buffers[key] ?? {} }, input, childPath(path, key)), (ran) => {
                if (part.bufferCount > 0 && ran.buffers !== buffers[key]) {
                  buffers[key] = ran.buffers
                  changed = true
                }
                return ran.output
              })
          }
          return fn(bound as unknown as Bound<Parts>, x as Tensor<In>).pipe(
            Effect.catchDefect(toFailure),
            Effect.map((output) => {
              ctx.trace?.(path, self as unknown as AnyModule, output.dims)
              return { output: output as Tensor<unknown>, buffers: (changed ? buffers : model.buffers) as CustomBuffers<Parts> }
            })
          )
        }),
      outputShape: (input) => traceShapes(self, input).output
    }
    return self
  }
})
