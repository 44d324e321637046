/**
 * Dimensions: literal (`784`), symbolic (`Sym<"B">`, a batch size that stays generic)
 * or unknown until run time (`number`).
 *
 * A symbolic dim is a number branded with its name. At run time it is the plain number
 * the data has; at compile time it shows as its name in types and error messages, and
 * it only equals itself.
 */
declare const SymbolicDimId: unique symbol

/** A named dimension whose size is known only at run time (e.g. the batch `B`). */
export type Sym<Name extends string> = number & { readonly [SymbolicDimId]: Name }

/** Any dimension: a literal number, a `Sym<Name>`, or `number` (unknown). */
export type Dim = number

/** A shape: the tuple of a tensor's dimensions, outermost first (row-major). */
export type Shape = readonly number[]

/** The name of a symbolic dim, or never. */
export type SymName<D> = D extends { readonly [SymbolicDimId]: infer N } ? N : never

/** True when `D` is a literal number type (not `number`, not a `Sym`). */
export type IsLiteral<D> = D extends { readonly [SymbolicDimId]: string }
  ? false
  : number extends D
    ? false
    : D extends number
      ? true
      : false

/** How a dim reads in an error message: `784`, `B`, or `?`. */
export type DimText<D> = D extends { readonly [SymbolicDimId]: infer N extends string }
  ? N
  : number extends D
    ? "?"
    : D extends number
      ? `${D}`
      : "?"

type JoinDims<S> = S extends readonly [infer H, ...infer T]
  ? T extends readonly [] ? DimText<H> : `${DimText<H>}, ${JoinDims<T>}`
  : ""

/** How a shape reads in an error message: `[B, 784]`. */
export type ShapeText<S> = S extends readonly unknown[]
  ? number extends S["length"]
    ? S extends readonly [...infer _Pre, infer L]
      ? `[..., ${DimText<L>}]`
      : "[...]"
    : `[${JoinDims<S>}]`
  : "[?]"

/**
 * Create a symbolic dim for run-time use: the value is the actual size, the type
 * carries the name. `sym("B", 64)` is `64` at run time and `Sym<"B">` in the types.
 */
export const sym = <Name extends string>(_name: Name, size: number): Sym<Name> =>
  size as Sym<Name>
