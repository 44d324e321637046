/**
 * Configuration errors of layer constructors, and how constructor arguments print in a
 * layer's label (PyTorch's repr, so `print(model)` texts compare line for line).
 */
import { Data } from "effect"

/**
 * A layer constructor got an argument outside its valid range (`Dropout(1.5)`,
 * `BatchNorm1d(0)`). Constructors are synchronous, pure descriptions, so they **throw**
 * this error at construction time — before any device work — rather than return an
 * Effect; wrap the call in `Effect.try` to get it as a typed failure. The message names
 * the layer, the argument, the valid range and the value received, e.g.
 * `Dropout: p must be a probability in [0, 1], got 1.5`.
 *
 * Combinators refuse a malformed structure the same way, when it is built: a name that is
 * empty or contains "." (`named`), two children of one container with the same key
 * (`sequential`, `parallel`: their state-dict keys would collide), a negative or fractional
 * `repeat` count, an unknown `parallel` merge mode, an argument that is not a module.
 */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  /** The layer (or function) whose argument is invalid: `Dropout`, `BatchNorm1d`. */
  readonly module: string
  /** The argument's name as the constructor spells it: `p`, `numFeatures`, `eps`. */
  readonly argument: string
  /** The valid range or rule, in words: `a probability in [0, 1]`. */
  readonly expected: string
  /** The value received. */
  readonly value: unknown
}> {
  override get message(): string {
    return `${this.module}: ${this.argument} must be ${this.expected}, got ${String(this.value)}`
  }
}

/**
 * A JavaScript number as Python's `repr(float)` prints it (what PyTorch's module reprs
 * show): the shortest round-trip digits, always with a decimal point or an exponent
 * (`0.2`, `1.0`, `0.0001`), and scientific notation with a two-digit exponent when the
 * decimal exponent is below −4 or above 15 (`1e-05`, `1.5e+16`). `inf`, `-inf` and `nan`
 * as Python spells them. Source: CPython `float_repr` (`PyOS_double_to_string`, mode 'r').
 */
export const pythonFloatRepr = (x: number): string => {
  if (Number.isNaN(x)) return "nan"
  if (x === Infinity) return "inf"
  if (x === -Infinity) return "-inf"
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0"
  const sign = x < 0 ? "-" : ""
  // toExponential() without an argument gives the shortest digits that round-trip.
  const [mantissa = "0", expText = "0"] = Math.abs(x).toExponential().split("e")
  const digits = mantissa.replace(".", "")
  const exp = Number(expText)
  const decpt = exp + 1
  if (decpt <= -4 || decpt > 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    const e = Math.abs(exp)
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${e < 10 ? `0${e}` : `${e}`}`
  }
  if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`
  if (decpt >= digits.length) return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`
}

/** A boolean as Python prints it: `True` / `False`. */
export const pythonBoolRepr = (b: boolean): string => (b ? "True" : "False")
