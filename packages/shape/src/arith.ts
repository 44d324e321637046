/**
 * Type-level arithmetic on dimension sizes: non-negative integer literal types in,
 * number literal types out (`Mul<28, 28>` is `784`), so shapes can be computed in the
 * types (flatten `[32, 13, 13]` → `5408`, concat widths `64 + 32` → `96`, conv/pool
 * output sizes `28 → 26 → 13`).
 *
 * How: a literal is turned into its decimal digit string (`${A}`), the digits are
 * reversed (least significant first) and processed one at a time with precomputed
 * 10×10 digit tables (sum with carry, difference with borrow, product with carry,
 * comparison), by tail-recursive conditional types; the result string is read back
 * as a number literal with `${infer N extends number}`. Costs grow with the number of
 * digits, not with the values. Measured on TS 7.0.2 (tsc CPU time above its fixed cost):
 * 100 five-digit `Mul`s about 0.04 s, 100 `ConvOut`s about 0.06 s, a dependent chain of
 * 50 `ConvOut`s and 50 `Product`s about 0.13 s, 100 `FloorDiv`s of a five-digit number by
 * a three-digit one about 0.3 s (long division is the dearest operation).
 *
 * Shared rules for every operation here:
 * - Inputs that are not literals — `number`, a symbolic `Sym<"B">`, `any` — give
 *   `number` (unknown at compile time), never an error. So do literals that are not
 *   non-negative integers written in plain digits: negative, fractional, or so large
 *   that `${A}` uses exponent notation (≥ 1e21).
 * - Unions distribute: `Add<1 | 2, 10>` is `11 | 12`.
 * - Every literal result is exact. A result that a JavaScript number cannot hold exactly
 *   (above 2^53 = 9007199254740992, unless it happens to round-trip) widens to `number`.
 * - A generic type parameter (`<N extends number>`) defers: the result stays unresolved
 *   until `N` is known. Use `Sym<"…">` for dims that stay symbolic.
 */
import type { IsLiteral } from "./dim.ts"
import type { ShapeMismatch } from "./errors.ts"

// ---------------------------------------------------------------------------------------
// Digit tables, written out by a script (literal tables check faster than computed ones).
// Keys and entries are digit strings; AddT, SubT and MulT give [carry or borrow out, digit]:
//   AddT[carryIn][a][b] = a + b + carryIn          (carryIn "0" | "1")
//   SubT[borrowIn][a][b] = a − b − borrowIn mod 10  (borrow out "1" when negative)
//   MulT[a][b][carryIn] = a × b + carryIn          (carryIn "0" … "9")
//   CmpT[a][b] = sign(a − b) as -1 | 0 | 1
// ---------------------------------------------------------------------------------------

type Digit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9"

type AddT = {
  "0": {
    "0": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "1": [["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"]]
    "2": [["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"]]
    "3": [["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"]]
    "4": [["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"]]
    "5": [["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"]]
    "6": [["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"]]
    "7": [["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"]]
    "8": [["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"]]
    "9": [["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"]]
  }
  "1": {
    "0": [["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"]]
    "1": [["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"]]
    "2": [["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"]]
    "3": [["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"]]
    "4": [["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"]]
    "5": [["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"]]
    "6": [["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"]]
    "7": [["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"]]
    "8": [["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"]]
    "9": [["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"]]
  }
}
type SubT = {
  "0": {
    "0": [["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"], ["1", "5"], ["1", "4"], ["1", "3"], ["1", "2"], ["1", "1"]]
    "1": [["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"], ["1", "5"], ["1", "4"], ["1", "3"], ["1", "2"]]
    "2": [["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"], ["1", "5"], ["1", "4"], ["1", "3"]]
    "3": [["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"], ["1", "5"], ["1", "4"]]
    "4": [["0", "4"], ["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"], ["1", "5"]]
    "5": [["0", "5"], ["0", "4"], ["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"]]
    "6": [["0", "6"], ["0", "5"], ["0", "4"], ["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"]]
    "7": [["0", "7"], ["0", "6"], ["0", "5"], ["0", "4"], ["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"]]
    "8": [["0", "8"], ["0", "7"], ["0", "6"], ["0", "5"], ["0", "4"], ["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"]]
    "9": [["0", "9"], ["0", "8"], ["0", "7"], ["0", "6"], ["0", "5"], ["0", "4"], ["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"]]
  }
  "1": {
    "0": [["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"], ["1", "5"], ["1", "4"], ["1", "3"], ["1", "2"], ["1", "1"], ["1", "0"]]
    "1": [["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"], ["1", "5"], ["1", "4"], ["1", "3"], ["1", "2"], ["1", "1"]]
    "2": [["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"], ["1", "5"], ["1", "4"], ["1", "3"], ["1", "2"]]
    "3": [["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"], ["1", "5"], ["1", "4"], ["1", "3"]]
    "4": [["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"], ["1", "5"], ["1", "4"]]
    "5": [["0", "4"], ["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"], ["1", "5"]]
    "6": [["0", "5"], ["0", "4"], ["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"], ["1", "6"]]
    "7": [["0", "6"], ["0", "5"], ["0", "4"], ["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"], ["1", "7"]]
    "8": [["0", "7"], ["0", "6"], ["0", "5"], ["0", "4"], ["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"], ["1", "8"]]
    "9": [["0", "8"], ["0", "7"], ["0", "6"], ["0", "5"], ["0", "4"], ["0", "3"], ["0", "2"], ["0", "1"], ["0", "0"], ["1", "9"]]
  }
}
type MulT = {
  "0": {
    "0": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "1": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "2": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "3": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "4": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "5": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "6": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "7": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "8": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "9": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
  }
  "1": {
    "0": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "1": [["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"]]
    "2": [["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"]]
    "3": [["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"]]
    "4": [["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"]]
    "5": [["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"]]
    "6": [["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"]]
    "7": [["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"]]
    "8": [["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"]]
    "9": [["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"]]
  }
  "2": {
    "0": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "1": [["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"]]
    "2": [["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"]]
    "3": [["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"]]
    "4": [["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"]]
    "5": [["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"]]
    "6": [["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"]]
    "7": [["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"]]
    "8": [["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"], ["2", "5"]]
    "9": [["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"], ["2", "5"], ["2", "6"], ["2", "7"]]
  }
  "3": {
    "0": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "1": [["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"]]
    "2": [["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"]]
    "3": [["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"]]
    "4": [["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"]]
    "5": [["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"]]
    "6": [["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"], ["2", "5"], ["2", "6"], ["2", "7"]]
    "7": [["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"], ["2", "5"], ["2", "6"], ["2", "7"], ["2", "8"], ["2", "9"], ["3", "0"]]
    "8": [["2", "4"], ["2", "5"], ["2", "6"], ["2", "7"], ["2", "8"], ["2", "9"], ["3", "0"], ["3", "1"], ["3", "2"], ["3", "3"]]
    "9": [["2", "7"], ["2", "8"], ["2", "9"], ["3", "0"], ["3", "1"], ["3", "2"], ["3", "3"], ["3", "4"], ["3", "5"], ["3", "6"]]
  }
  "4": {
    "0": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "1": [["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"]]
    "2": [["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"]]
    "3": [["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"]]
    "4": [["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"], ["2", "5"]]
    "5": [["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"], ["2", "5"], ["2", "6"], ["2", "7"], ["2", "8"], ["2", "9"]]
    "6": [["2", "4"], ["2", "5"], ["2", "6"], ["2", "7"], ["2", "8"], ["2", "9"], ["3", "0"], ["3", "1"], ["3", "2"], ["3", "3"]]
    "7": [["2", "8"], ["2", "9"], ["3", "0"], ["3", "1"], ["3", "2"], ["3", "3"], ["3", "4"], ["3", "5"], ["3", "6"], ["3", "7"]]
    "8": [["3", "2"], ["3", "3"], ["3", "4"], ["3", "5"], ["3", "6"], ["3", "7"], ["3", "8"], ["3", "9"], ["4", "0"], ["4", "1"]]
    "9": [["3", "6"], ["3", "7"], ["3", "8"], ["3", "9"], ["4", "0"], ["4", "1"], ["4", "2"], ["4", "3"], ["4", "4"], ["4", "5"]]
  }
  "5": {
    "0": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "1": [["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"]]
    "2": [["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"]]
    "3": [["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"]]
    "4": [["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"], ["2", "5"], ["2", "6"], ["2", "7"], ["2", "8"], ["2", "9"]]
    "5": [["2", "5"], ["2", "6"], ["2", "7"], ["2", "8"], ["2", "9"], ["3", "0"], ["3", "1"], ["3", "2"], ["3", "3"], ["3", "4"]]
    "6": [["3", "0"], ["3", "1"], ["3", "2"], ["3", "3"], ["3", "4"], ["3", "5"], ["3", "6"], ["3", "7"], ["3", "8"], ["3", "9"]]
    "7": [["3", "5"], ["3", "6"], ["3", "7"], ["3", "8"], ["3", "9"], ["4", "0"], ["4", "1"], ["4", "2"], ["4", "3"], ["4", "4"]]
    "8": [["4", "0"], ["4", "1"], ["4", "2"], ["4", "3"], ["4", "4"], ["4", "5"], ["4", "6"], ["4", "7"], ["4", "8"], ["4", "9"]]
    "9": [["4", "5"], ["4", "6"], ["4", "7"], ["4", "8"], ["4", "9"], ["5", "0"], ["5", "1"], ["5", "2"], ["5", "3"], ["5", "4"]]
  }
  "6": {
    "0": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "1": [["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"]]
    "2": [["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"]]
    "3": [["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"], ["2", "5"], ["2", "6"], ["2", "7"]]
    "4": [["2", "4"], ["2", "5"], ["2", "6"], ["2", "7"], ["2", "8"], ["2", "9"], ["3", "0"], ["3", "1"], ["3", "2"], ["3", "3"]]
    "5": [["3", "0"], ["3", "1"], ["3", "2"], ["3", "3"], ["3", "4"], ["3", "5"], ["3", "6"], ["3", "7"], ["3", "8"], ["3", "9"]]
    "6": [["3", "6"], ["3", "7"], ["3", "8"], ["3", "9"], ["4", "0"], ["4", "1"], ["4", "2"], ["4", "3"], ["4", "4"], ["4", "5"]]
    "7": [["4", "2"], ["4", "3"], ["4", "4"], ["4", "5"], ["4", "6"], ["4", "7"], ["4", "8"], ["4", "9"], ["5", "0"], ["5", "1"]]
    "8": [["4", "8"], ["4", "9"], ["5", "0"], ["5", "1"], ["5", "2"], ["5", "3"], ["5", "4"], ["5", "5"], ["5", "6"], ["5", "7"]]
    "9": [["5", "4"], ["5", "5"], ["5", "6"], ["5", "7"], ["5", "8"], ["5", "9"], ["6", "0"], ["6", "1"], ["6", "2"], ["6", "3"]]
  }
  "7": {
    "0": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "1": [["0", "7"], ["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"]]
    "2": [["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"]]
    "3": [["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"], ["2", "5"], ["2", "6"], ["2", "7"], ["2", "8"], ["2", "9"], ["3", "0"]]
    "4": [["2", "8"], ["2", "9"], ["3", "0"], ["3", "1"], ["3", "2"], ["3", "3"], ["3", "4"], ["3", "5"], ["3", "6"], ["3", "7"]]
    "5": [["3", "5"], ["3", "6"], ["3", "7"], ["3", "8"], ["3", "9"], ["4", "0"], ["4", "1"], ["4", "2"], ["4", "3"], ["4", "4"]]
    "6": [["4", "2"], ["4", "3"], ["4", "4"], ["4", "5"], ["4", "6"], ["4", "7"], ["4", "8"], ["4", "9"], ["5", "0"], ["5", "1"]]
    "7": [["4", "9"], ["5", "0"], ["5", "1"], ["5", "2"], ["5", "3"], ["5", "4"], ["5", "5"], ["5", "6"], ["5", "7"], ["5", "8"]]
    "8": [["5", "6"], ["5", "7"], ["5", "8"], ["5", "9"], ["6", "0"], ["6", "1"], ["6", "2"], ["6", "3"], ["6", "4"], ["6", "5"]]
    "9": [["6", "3"], ["6", "4"], ["6", "5"], ["6", "6"], ["6", "7"], ["6", "8"], ["6", "9"], ["7", "0"], ["7", "1"], ["7", "2"]]
  }
  "8": {
    "0": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "1": [["0", "8"], ["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"]]
    "2": [["1", "6"], ["1", "7"], ["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"], ["2", "5"]]
    "3": [["2", "4"], ["2", "5"], ["2", "6"], ["2", "7"], ["2", "8"], ["2", "9"], ["3", "0"], ["3", "1"], ["3", "2"], ["3", "3"]]
    "4": [["3", "2"], ["3", "3"], ["3", "4"], ["3", "5"], ["3", "6"], ["3", "7"], ["3", "8"], ["3", "9"], ["4", "0"], ["4", "1"]]
    "5": [["4", "0"], ["4", "1"], ["4", "2"], ["4", "3"], ["4", "4"], ["4", "5"], ["4", "6"], ["4", "7"], ["4", "8"], ["4", "9"]]
    "6": [["4", "8"], ["4", "9"], ["5", "0"], ["5", "1"], ["5", "2"], ["5", "3"], ["5", "4"], ["5", "5"], ["5", "6"], ["5", "7"]]
    "7": [["5", "6"], ["5", "7"], ["5", "8"], ["5", "9"], ["6", "0"], ["6", "1"], ["6", "2"], ["6", "3"], ["6", "4"], ["6", "5"]]
    "8": [["6", "4"], ["6", "5"], ["6", "6"], ["6", "7"], ["6", "8"], ["6", "9"], ["7", "0"], ["7", "1"], ["7", "2"], ["7", "3"]]
    "9": [["7", "2"], ["7", "3"], ["7", "4"], ["7", "5"], ["7", "6"], ["7", "7"], ["7", "8"], ["7", "9"], ["8", "0"], ["8", "1"]]
  }
  "9": {
    "0": [["0", "0"], ["0", "1"], ["0", "2"], ["0", "3"], ["0", "4"], ["0", "5"], ["0", "6"], ["0", "7"], ["0", "8"], ["0", "9"]]
    "1": [["0", "9"], ["1", "0"], ["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"], ["1", "5"], ["1", "6"], ["1", "7"], ["1", "8"]]
    "2": [["1", "8"], ["1", "9"], ["2", "0"], ["2", "1"], ["2", "2"], ["2", "3"], ["2", "4"], ["2", "5"], ["2", "6"], ["2", "7"]]
    "3": [["2", "7"], ["2", "8"], ["2", "9"], ["3", "0"], ["3", "1"], ["3", "2"], ["3", "3"], ["3", "4"], ["3", "5"], ["3", "6"]]
    "4": [["3", "6"], ["3", "7"], ["3", "8"], ["3", "9"], ["4", "0"], ["4", "1"], ["4", "2"], ["4", "3"], ["4", "4"], ["4", "5"]]
    "5": [["4", "5"], ["4", "6"], ["4", "7"], ["4", "8"], ["4", "9"], ["5", "0"], ["5", "1"], ["5", "2"], ["5", "3"], ["5", "4"]]
    "6": [["5", "4"], ["5", "5"], ["5", "6"], ["5", "7"], ["5", "8"], ["5", "9"], ["6", "0"], ["6", "1"], ["6", "2"], ["6", "3"]]
    "7": [["6", "3"], ["6", "4"], ["6", "5"], ["6", "6"], ["6", "7"], ["6", "8"], ["6", "9"], ["7", "0"], ["7", "1"], ["7", "2"]]
    "8": [["7", "2"], ["7", "3"], ["7", "4"], ["7", "5"], ["7", "6"], ["7", "7"], ["7", "8"], ["7", "9"], ["8", "0"], ["8", "1"]]
    "9": [["8", "1"], ["8", "2"], ["8", "3"], ["8", "4"], ["8", "5"], ["8", "6"], ["8", "7"], ["8", "8"], ["8", "9"], ["9", "0"]]
  }
}
type CmpT = {
  "0": [0, -1, -1, -1, -1, -1, -1, -1, -1, -1]
  "1": [1, 0, -1, -1, -1, -1, -1, -1, -1, -1]
  "2": [1, 1, 0, -1, -1, -1, -1, -1, -1, -1]
  "3": [1, 1, 1, 0, -1, -1, -1, -1, -1, -1]
  "4": [1, 1, 1, 1, 0, -1, -1, -1, -1, -1]
  "5": [1, 1, 1, 1, 1, 0, -1, -1, -1, -1]
  "6": [1, 1, 1, 1, 1, 1, 0, -1, -1, -1]
  "7": [1, 1, 1, 1, 1, 1, 1, 0, -1, -1]
  "8": [1, 1, 1, 1, 1, 1, 1, 1, 0, -1]
  "9": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0]
}

// ---------------------------------------------------------------------------------------
// Conversions. Internally a number is its digit string reversed (least significant digit
// first), normalized: no high-order zeros, "0" for zero.
// ---------------------------------------------------------------------------------------

/** Reverses a digit string, or gives `false` when it holds a non-digit. */
type ToRev<S extends string, Acc extends string = ""> = S extends `${infer H extends Digit}${infer R}`
  ? ToRev<R, `${H}${Acc}`>
  : S extends "" ? Acc : false

/** Reverses a string. */
type Rev<S extends string, Acc extends string = ""> = S extends `${infer H}${infer R}` ? Rev<R, `${H}${Acc}`> : Acc

/** The reversed digits of a non-negative integer literal; `false` for anything else. */
type Digits<A> = number extends A
  ? false
  : IsLiteral<A> extends true
    ? A extends number ? ToRev<`${A}`> : false
    : false

/** Both operands' digits as a pair, or `false` when either is not a readable literal. */
type Digits2<A, B> = Digits<A> extends infer a extends string
  ? Digits<B> extends infer b extends string ? [a, b] : false
  : false

/** Drops high-order zeros of a reversed digit string ("0" stays). */
type Norm<R extends string> = R extends `${infer H}0` ? (H extends "" ? "0" : Norm<H>) : R

/** A reversed, normalized digit string read back as a number literal (`number` beyond 2^53). */
type Num<R extends string> = Rev<R> extends `${infer N extends number}` ? N : number

// ---------------------------------------------------------------------------------------
// Digit-serial algorithms on reversed digit strings (all tail-recursive).
// ---------------------------------------------------------------------------------------

/** A + B (reversed, normalized in and out). */
type AddR<A extends string, B extends string, C extends "0" | "1" = "0", Acc extends string = ""> =
  A extends `${infer a extends Digit}${infer AR}`
    ? B extends `${infer b extends Digit}${infer BR}`
      ? AddR<AR, BR, AddT[C][a][b][0], `${Acc}${AddT[C][a][b][1]}`>
      : C extends "0" ? `${Acc}${A}` : AddR<AR, "", AddT[C][a]["0"][0], `${Acc}${AddT[C][a]["0"][1]}`>
    : B extends "" ? (C extends "0" ? Acc : `${Acc}1`)
    : AddR<B, "", C, Acc>

/** A − B (reversed), not yet normalized; `false` when B > A. Expects normalized inputs. */
type SubRaw<A extends string, B extends string, C extends "0" | "1" = "0", Acc extends string = ""> =
  A extends `${infer a extends Digit}${infer AR}`
    ? B extends `${infer b extends Digit}${infer BR}`
      ? SubRaw<AR, BR, SubT[C][a][b][0], `${Acc}${SubT[C][a][b][1]}`>
      : C extends "0" ? `${Acc}${A}` : SubRaw<AR, "", SubT[C][a]["0"][0], `${Acc}${SubT[C][a]["0"][1]}`>
    : B extends "" ? (C extends "0" ? Acc : false)
    : false

/** A − B (reversed, normalized); `false` when B > A. */
type SubR<A extends string, B extends string> = SubRaw<A, B> extends infer S extends string ? Norm<S> : false

/** sign(A − B) as -1 | 0 | 1 (reversed, normalized inputs). */
type CmpR<A extends string, B extends string, St extends -1 | 0 | 1 = 0> =
  A extends `${infer a extends Digit}${infer AR}`
    ? B extends `${infer b extends Digit}${infer BR}`
      ? CmpR<AR, BR, CmpT[a][b] extends 0 ? St : CmpT[a][b]>
      : 1
    : B extends "" ? St : -1

/** A × d for one digit d ≥ 1 (reversed). */
type MulDigitR<A extends string, d extends Digit, C extends Digit = "0", Acc extends string = ""> =
  A extends `${infer a extends Digit}${infer AR}`
    ? MulDigitR<AR, d, MulT[a][d][C][0], `${Acc}${MulT[a][d][C][1]}`>
    : C extends "0" ? Acc : `${Acc}${C}`

/**
 * A × B by long multiplication (reversed, normalized in and out): for each digit of B
 * (least significant first) add A × digit to the running sum, then move the sum's lowest
 * digit, which no later partial product can change, to `Low`.
 */
type MulR<A extends string, B extends string> = A extends "0" ? "0" : B extends "0" ? "0" : MulLoop<A, B>

type MulLoop<A extends string, B extends string, Acc extends string = "", Low extends string = ""> =
  B extends `${infer b extends Digit}${infer BR}`
    ? (b extends "0" ? Acc : AddR<Acc, MulDigitR<A, b>>) extends `${infer L}${infer H}`
      ? MulLoop<A, BR, H, `${Low}${L}`>
      : MulLoop<A, BR, "", `${Low}0`>
    : `${Low}${Acc}`

/** Ten digit strings: the trial products of a long division, indexed by digit. */
type Tuple10 = [string, string, string, string, string, string, string, string, string, string]

/** [0, B, 2B, …, 9B] (reversed), the trial products of long division by B. */
type Multiples<B extends string, Last extends string = B, Acc extends Array<string> = ["0", B]> =
  Acc extends Tuple10 ? Acc
  : AddR<Last, B> extends infer Next extends string ? Multiples<B, Next, [...Acc, Next]> : never

/** The largest digit q with M[q] ≤ R (binary search over the trial products, ≤ 4 compares). */
type QuotientDigit<R extends string, M extends Tuple10> = CmpR<M[5], R> extends 1
  ? CmpR<M[2], R> extends 1
    ? CmpR<M[1], R> extends 1 ? "0" : "1"
    : CmpR<M[4], R> extends 1 ? (CmpR<M[3], R> extends 1 ? "2" : "3") : "4"
  : CmpR<M[7], R> extends 1
    ? CmpR<M[6], R> extends 1 ? "5" : "6"
    : CmpR<M[9], R> extends 1 ? (CmpR<M[8], R> extends 1 ? "7" : "8") : "9"

/**
 * Long division of A (forward digits, most significant first) by B, given B's trial
 * products M: gives [quotient (reversed, not normalized), remainder (reversed, normalized)].
 */
type DivLoop<A extends string, M extends Tuple10, Rem extends string = "0", Q extends string = ""> =
  A extends `${infer d extends Digit}${infer AR}`
    ? DivStep<AR, M, Rem extends "0" ? d : `${d}${Rem}`, Q>
    : [Q, Rem]

type DivStep<AR extends string, M extends Tuple10, R extends string, Q extends string> =
  QuotientDigit<R, M> extends infer q extends Digit
    ? SubR<R, M[q]> extends infer Rem extends string ? DivLoop<AR, M, Rem, `${q}${Q}`> : never
    : never

/**
 * Splits the first `len(Count)` digits off forward digits A: [rest of A, those digits
 * reversed]. They start the remainder of a long division by a `len(Count) + 1`-digit
 * divisor: being shorter, they are below it, so their quotient digits are all 0.
 */
type DivPrefix<A extends string, Count extends string, Pre extends string = ""> = Count extends `${string}${infer CR}`
  ? A extends `${infer d}${infer AR}` ? DivPrefix<AR, CR, `${d}${Pre}`> : [A, Pre]
  : [A, Pre extends "" ? "0" : Pre]

/** [floor(A / B), A mod B] (reversed, normalized); B must not be "0". */
type DivModR<A extends string, B extends string> = B extends "1"
  ? [A, "0"]
  : DivPrefix<Rev<A>, B extends `${string}${infer BR}` ? BR : ""> extends [infer AR extends string, infer Pre extends string]
    ? AR extends "" ? ["0", Pre]
    : DivLoop<AR, Multiples<B>, Pre> extends [infer Q extends string, infer Rem extends string] ? [Norm<Q extends "" ? "0" : Q>, Rem] : never
    : never

/** The product of a tuple's dims (reversed digits), or `false` when one is not a literal. */
type ProductR<Dims, Acc extends string = "1"> = Dims extends readonly [infer H, ...infer T]
  ? Digits<H> extends infer h extends string ? ProductR<T, MulR<Acc, h>> : false
  : Acc

/** The sum of a tuple's dims (reversed digits), or `false` when one is not a literal. */
type SumR<Dims, Acc extends string = "0"> = Dims extends readonly [infer H, ...infer T]
  ? Digits<H> extends infer h extends string ? SumR<T, AddR<Acc, h>> : false
  : Acc

// ---------------------------------------------------------------------------------------
// Public operations
// ---------------------------------------------------------------------------------------

/**
 * `A + B` for non-negative integer literals: `Add<999, 1>` is `1000`, `Add<64, 32>` is `96`.
 * `number` when either input is `number`, a `Sym<…>` or not a non-negative integer
 * literal; `number` when the sum is above 2^53 and not exactly representable.
 */
export type Add<A extends number, B extends number> = A extends unknown
  ? B extends unknown
    ? Digits2<A, B> extends [infer a extends string, infer b extends string] ? Num<AddR<a, b>> : number
    : never
  : never

/**
 * `A − B` for non-negative integer literals: `Sub<1000, 1>` is `999`.
 * A negative result (`B > A`) is `never` — dims cannot be negative; guard with `Gte<A, B>`
 * (or use `ConvOut`, which reports a readable `ShapeMismatch`) where that can happen.
 * `number` when either input is `number`, a `Sym<…>` or not a non-negative integer literal.
 */
export type Sub<A extends number, B extends number> = A extends unknown
  ? B extends unknown
    ? Digits2<A, B> extends [infer a extends string, infer b extends string]
      ? SubR<a, b> extends infer d extends string ? Num<d> : never
      : number
    : never
  : never

/**
 * `A × B` for non-negative integer literals, by long multiplication:
 * `Mul<28, 28>` is `784`, `Mul<65535, 65535>` is `4294836225`.
 * `number` when either input is `number`, a `Sym<…>` or not a non-negative integer
 * literal, and when the product is above 2^53 and not exactly representable.
 */
export type Mul<A extends number, B extends number> = A extends unknown
  ? B extends unknown
    ? Digits2<A, B> extends [infer a extends string, infer b extends string] ? Num<MulR<a, b>> : number
    : never
  : never

/**
 * `floor(A / B)` for a non-negative integer literal `A` and any positive integer literal
 * `B`, by long division: `FloorDiv<5408, 13>` is `416`, `FloorDiv<27, 2>` is `13`,
 * `FloorDiv<0, 7>` is `0`. Division by zero is `never`.
 * `number` when either input is `number`, a `Sym<…>` or not a non-negative integer literal.
 */
export type FloorDiv<A extends number, B extends number> = A extends unknown
  ? B extends unknown
    ? Digits2<A, B> extends [infer a extends string, infer b extends string]
      ? b extends "0" ? never : Num<DivModR<a, b>[0]>
      : number
    : never
  : never

/**
 * `A mod B` (the remainder of `FloorDiv<A, B>`, in `0 … B − 1`): `Mod<27, 2>` is `1`.
 * Division by zero is `never`; `number` for non-literal inputs (as `FloorDiv`).
 */
export type Mod<A extends number, B extends number> = A extends unknown
  ? B extends unknown
    ? Digits2<A, B> extends [infer a extends string, infer b extends string]
      ? b extends "0" ? never : Num<DivModR<a, b>[1]>
      : number
    : never
  : never

/**
 * The sign of `A − B` as `-1 | 0 | 1` (`Compare<9, 10>` is `-1`).
 * `-1 | 0 | 1` (unknown) when either input is not a non-negative integer literal.
 */
export type Compare<A extends number, B extends number> = A extends unknown
  ? B extends unknown
    ? Digits2<A, B> extends [infer a extends string, infer b extends string] ? CmpR<a, b> : -1 | 0 | 1
    : never
  : never

/** `A < B` as `true` / `false`; `boolean` when either input is not a literal (see `Compare`). */
export type Lt<A extends number, B extends number> = CompareIs<Compare<A, B>, -1>

/** `A ≤ B` as `true` / `false`; `boolean` when either input is not a literal (see `Compare`). */
export type Lte<A extends number, B extends number> = CompareIs<Compare<A, B>, -1 | 0>

/** `A > B` as `true` / `false`; `boolean` when either input is not a literal (see `Compare`). */
export type Gt<A extends number, B extends number> = CompareIs<Compare<A, B>, 1>

/** `A ≥ B` as `true` / `false`; `boolean` when either input is not a literal (see `Compare`). */
export type Gte<A extends number, B extends number> = CompareIs<Compare<A, B>, 0 | 1>

type CompareIs<C, Accept> = C extends Accept ? true : false

/**
 * The product of a tuple of dims, e.g. the feature size after flattening:
 * `Product<[32, 13, 13]>` is `5408`, `Product<[512, 7, 7]>` is `25088`, `Product<[]>` is `1`.
 * `number` when any dim is `number` or a `Sym<…>` (even if another dim is 0), when `Dims`
 * is not a fixed-length tuple (`number[]`, `[...number[], 3]`), and above 2^53.
 */
export type Product<Dims extends ReadonlyArray<number>> = number extends Dims["length"]
  ? number
  : ProductR<Dims> extends infer p extends string ? Num<p> : number

/**
 * The sum of a tuple of dims, e.g. the width of a concatenation: `Sum<[64, 32]>` is `96`,
 * `Sum<[]>` is `0`. `number` when any dim is `number` or a `Sym<…>`, when `Dims` is not a
 * fixed-length tuple, and above 2^53.
 */
export type Sum<Dims extends ReadonlyArray<number>> = number extends Dims["length"]
  ? number
  : SumR<Dims> extends infer s extends string ? Num<s> : number

/**
 * The output size of one spatial dim of a convolution or pooling layer:
 *
 *     floor((H + 2·P − D·(K − 1) − 1) / S) + 1
 *
 * for input size `H`, kernel size `K`, stride `S` (default 1), zero padding `P` on each
 * side (default 0) and dilation `D` (default 1) — the formula of PyTorch's `Conv2d`
 * (H_out in https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html); `MaxPool2d`
 * and `AvgPool2d` use the same one (with their default `ceil_mode=False`; pass `S = K`
 * for their default stride).
 *
 * `ConvOut<28, 3>` is `26`, `ConvOut<28, 3, 1, 1>` is `28`, `ConvOut<26, 2, 2>` is `13`.
 * Errors are `ShapeMismatch<"…">` naming the inputs: when the output would be ≤ 0
 * (the padded input `H + 2P` is smaller than the kernel's span `D(K − 1) + 1`), and when
 * `K`, `S` or `D` is 0. When any input is `number` or a `Sym<…>` (or not a non-negative
 * integer literal) the result is `number`, never an error.
 */
export type ConvOut<H extends number, K extends number, S extends number = 1, P extends number = 0, D extends number = 1> =
  H extends unknown
    ? K extends unknown
      ? S extends unknown
        ? P extends unknown
          ? D extends unknown
            ? [Digits<H>, Digits<K>, Digits<S>, Digits<P>, Digits<D>] extends [
              infer h extends string,
              infer k extends string,
              infer s extends string,
              infer p extends string,
              infer d extends string
            ]
              ? ConvOutR<h, k, s, p, d, `ConvOut(H=${H}, K=${K}, S=${S}, P=${P}, D=${D})`>
              : number
            : never
          : never
        : never
      : never
    : never

type ConvOutR<H extends string, K extends string, S extends string, P extends string, D extends string, Call extends string> =
  K extends "0" ? ShapeMismatch<`${Call}: kernel size must be positive, got 0`>
  : S extends "0" ? ShapeMismatch<`${Call}: stride must be positive, got 0`>
  : D extends "0" ? ShapeMismatch<`${Call}: dilation must be positive, got 0`>
  : ConvOutSpan<H, S, AddR<H, MulDigitR<P, "2">>, AddR<MulR<D, SubR<K, "1"> & string>, "1">, Call>

type ConvOutSpan<H extends string, S extends string, Padded extends string, Span extends string, Call extends string> =
  SubR<Padded, Span> extends infer Room extends string
    ? Num<AddR<DivModR<Room, S>[0], "1">>
    : ShapeMismatch<`${Call}: output size would be <= 0: padded input H + 2P = ${Num<Padded>} is smaller than the kernel span D(K - 1) + 1 = ${Num<Span>}`>
