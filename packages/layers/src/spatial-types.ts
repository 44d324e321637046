/**
 * Type-level helpers shared by the spatial (NCHW) layers: sizes given once or per dim,
 * option lookup, and the output size of a window along height and width with errors
 * that name the layer and the input.
 */
import type { ConvOut, ShapeMismatch, ShapeText } from "@effect-nn/shape"

/** A size for both spatial dims (`3`) or per dim, (height, width) (`[3, 5]`). */
export type Size2 = number | readonly [number, number]

/** `[height, width]` of a `Size2` type; `[D, D]` when it is `undefined`. */
export type Pair<T, D extends number> = T extends readonly [infer A extends number, infer B extends number] ? [A, B]
  : T extends number ? [T, T]
  : [D, D]

/** The type of option `K` in an options type `O`, without `undefined` (`undefined` when absent). */
export type OptionOf<O, K extends string> = K extends keyof O ? ([Exclude<O[K], undefined>] extends [never] ? undefined : Exclude<O[K], undefined>) : undefined

/** A window's geometry as types: kernel, stride, padding, dilation, each [height, width]. */
export interface Window2 {
  readonly k: readonly [number, number]
  readonly s: readonly [number, number]
  readonly p: readonly [number, number]
  readonly d: readonly [number, number]
}

/** How a `Size2` reads in a message: `3` or `(3, 5)`. */
export type Size2Text<T> = T extends readonly [infer A extends number, infer B extends number] ? `(${A}, ${B})` : T extends number ? `${T}` : "?"

/**
 * The [OH, OW] of window `G` on an [H, W] plane (`ConvOut` per dim, the formula
 * floor((H + 2P − D(K − 1) − 1)/S) + 1 of PyTorch's Conv2d), or a `ShapeMismatch` naming
 * the layer `Label`, the input `S` and the dim whose output would be ≤ 0.
 */
export type WindowOut<Label extends string, S, H extends number, W extends number, G extends Window2> =
  ConvOut<H, G["k"][0], G["s"][0], G["p"][0], G["d"][0]> extends infer OH
    ? OH extends ShapeMismatch<infer M extends string> ? ShapeMismatch<`${Label} on input ${ShapeText<S>}: height: ${M}`>
    : ConvOut<W, G["k"][1], G["s"][1], G["p"][1], G["d"][1]> extends infer OW
      ? OW extends ShapeMismatch<infer M extends string> ? ShapeMismatch<`${Label} on input ${ShapeText<S>}: width: ${M}`>
      : [OH, OW]
    : never
    : never

/** A Python tuple or int as PyTorch's reprs print it: `3`, `(3, 5)`. */
export const pythonSize = (v: number | readonly [number, number]): string => (typeof v === "number" ? `${v}` : `(${v[0]}, ${v[1]})`)

/** `(3, 3)` from `3` or `[3, 3]` (PyTorch's reprs print Conv2d's sizes as pairs). */
export const pythonPair = (v: number | readonly [number, number]): string => (typeof v === "number" ? `(${v}, ${v})` : `(${v[0]}, ${v[1]})`)
