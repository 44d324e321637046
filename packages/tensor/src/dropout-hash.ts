/**
 * The counter-based hash behind dropout masks, shared by every backend (the WGSL kernel
 * in `@effect-nn/gpu` computes the same u32 arithmetic): a seed and an element index give
 * a uniform u in [0, 1) with 24 bits. Hash: the PCG-RXS-M-XS output permutation
 * (O'Neill, 2014), as in Jarzynski & Olano, "Hash Functions for GPU Rendering" (2020).
 */

/** PCG hash of a u32. */
export const hashU32 = (x: number): number => {
  const state = (Math.imul(x >>> 0, 747796405) + 2891336453) >>> 0
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0
  return ((word >>> 22) ^ word) >>> 0
}

/** u(seed, i) in [0, 1): `hashU32((i + seedHash) mod 2³²) >> 8` / 2²⁴, with seedHash = hashU32(seed). */
export const dropoutUniform = (seedHash: number, i: number): number =>
  (hashU32((i + seedHash) >>> 0) >>> 8) / 16777216
