/**
 * `Rng`: the seeded random source that initialisation (and later dropout and shuffling)
 * draws from. Deterministic for a seed: the same seed gives the same parameters.
 * Generator: xoshiro128** (Blackman & Vigna, 2018), seeded through splitmix32.
 */
import { Context, Effect, Layer } from "effect"

/** A seeded stream of random numbers. Stateful: each call advances it. */
export interface RandomSource {
  /** The next uniform 32-bit unsigned integer. */
  nextU32(): number
  /** The next float in [0, 1) with 24 bits of randomness. */
  nextFloat(): number
  /** `n` floats uniform in [low, high). */
  uniform(n: number, low: number, high: number): Float32Array
  /** `n` floats from N(mean, std²) (Box–Muller). */
  normal(n: number, mean: number, std: number): Float32Array
  /**
   * The generator's state: xoshiro128**'s four 32-bit words, as unsigned integers (a
   * copy). Saved in training checkpoints so that a resumed run draws what the
   * uninterrupted one would have drawn.
   */
  state(): RandomState
  /**
   * Continues from a state returned by `state()`: the next draws are the ones that
   * followed it. Throws a `RangeError` when a word is not an integer in [0, 2³²) or all
   * four are zero (xoshiro's one invalid state, which only ever yields zeros).
   */
  restore(state: RandomState): void
}

/** A `RandomSource`'s state: xoshiro128**'s four 32-bit words (unsigned integers). */
export type RandomState = readonly [number, number, number, number]

/** True when `words` is a valid xoshiro128** state (four u32 words, not all zero). */
export const isRandomState = (words: ReadonlyArray<unknown>): words is RandomState =>
  words.length === 4 &&
  words.every((w) => typeof w === "number" && Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
  words.some((w) => w !== 0)

const splitmix32 = (seed: number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** A xoshiro128** generator seeded with `seed` (any integer). */
export const makeRandomSource = (seed: number): RandomSource => {
  const init = splitmix32(seed)
  const s = new Uint32Array([init(), init(), init(), init()])
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0
    const t = (s[1]! << 9) >>> 0
    s[2]! ^= s[0]!
    s[3]! ^= s[1]!
    s[1]! ^= s[2]!
    s[0]! ^= s[3]!
    s[2]! ^= t
    s[3] = rotl(s[3]!, 11)
    return result
  }
  const nextFloat = () => (nextU32() >>> 8) / 16777216
  return {
    nextU32,
    nextFloat,
    state: () => [s[0]!, s[1]!, s[2]!, s[3]!],
    restore: (state) => {
      const words: ReadonlyArray<unknown> = state
      if (!isRandomState(words)) {
        throw new RangeError(`Rng.restore: expected four unsigned 32-bit integers, not all zero, got [${words.map(String).join(", ")}]`)
      }
      s.set(words)
    },
    uniform: (n, low, high) => {
      const out = new Float32Array(n)
      for (let i = 0; i < n; i++) out[i] = low + (high - low) * nextFloat()
      return out
    },
    normal: (n, mean, std) => {
      const out = new Float32Array(n)
      for (let i = 0; i < n; i += 2) {
        const u1 = (nextU32() + 1) / 4294967297
        const u2 = nextFloat()
        const r = Math.sqrt(-2 * Math.log(u1))
        out[i] = mean + std * r * Math.cos(2 * Math.PI * u2)
        if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2)
      }
      return out
    }
  }
}

/** The random-source service. Provide it with `Rng.seeded(seed)`. */
export class Rng extends Context.Service<Rng, RandomSource>()("@effect-nn/tensor/Rng") {
  /** A layer with a fresh generator seeded by `seed`. */
  static seeded(seed: number): Layer.Layer<Rng> {
    return Layer.effect(Rng, Effect.sync(() => makeRandomSource(seed)))
  }
}
