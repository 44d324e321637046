/**
 * A seeded source of uniformly distributed unsigned 32-bit integers.
 * Returns an integer in `[0, 2^32)` on each call.
 */
export type Rng32 = () => number

/**
 * splitmix32: a small, fast, seeded PRNG with a full 2^32 period over its state.
 * Source: the 32-bit variant of Steele, Lea & Flood's SplitMix ("Fast splittable
 * pseudorandom number generators", OOPSLA 2014): a Weyl sequence (increment 0x9e3779b9)
 * through the 32-bit integer hash `[16 21f0aaad 15 735a2d97 15]` found by Chris Wellons'
 * Hash Prospector, as in bryc/code's `splitmix32`.
 *
 * @param seed any number; its integer part modulo 2^32 is the state.
 * @returns a generator of u32 values; the same seed gives the same sequence.
 */
export const splitmix32 = (seed: number): Rng32 => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) | 0
    let t = state ^ (state >>> 16)
    t = Math.imul(t, 0x21f0aaad)
    t = t ^ (t >>> 15)
    t = Math.imul(t, 0x735a2d97)
    return (t ^ (t >>> 15)) >>> 0
  }
}

const TWO_32 = 4294967296

/**
 * A uniform integer in `[0, bound)` without modulo bias (rejection sampling).
 *
 * @param rng the source of u32 values.
 * @param bound an integer in `[1, 2^32]`.
 */
export const uniformInt = (rng: Rng32, bound: number): number => {
  const limit = TWO_32 - (TWO_32 % bound)
  for (;;) {
    const u = rng()
    if (u < limit) return u % bound
  }
}

/**
 * The seed of one epoch's shuffle, mixed from a run's `seed` and the `epoch` number so
 * that neighbouring epochs (and neighbouring seeds) give unrelated orders.
 *
 * @param seed the run's seed; its integer part modulo 2^32 is used.
 * @param epoch the epoch number (0, 1, …); its integer part modulo 2^32 is used.
 * @returns a u32 seed for {@link permutation}.
 */
export const epochSeed = (seed: number, epoch: number): number => {
  const a = splitmix32(seed)()
  return splitmix32((a ^ Math.imul(epoch >>> 0, 0x85ebca6b)) >>> 0)()
}

/**
 * A uniformly random permutation of `0 … n-1` by Fisher–Yates (Durstenfeld's in-place
 * form) driven by {@link splitmix32}: deterministic in `(n, seed)`.
 *
 * @param n number of elements, an integer in `[0, 2^31)`.
 * @param seed any number; its integer part modulo 2^32 seeds the generator.
 * @returns an `Int32Array` of length `n` holding each of `0 … n-1` exactly once.
 * @throws RangeError when `n` is not an integer in `[0, 2^31)`.
 */
export const permutation = (n: number, seed: number): Int32Array => {
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 31) {
    throw new RangeError(`permutation: n must be an integer in [0, 2^31), got ${n}`)
  }
  const order = new Int32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  const rng = splitmix32(seed)
  for (let i = n - 1; i > 0; i--) {
    const j = uniformInt(rng, i + 1)
    const t = order[i]
    order[i] = order[j]
    order[j] = t
  }
  return order
}
