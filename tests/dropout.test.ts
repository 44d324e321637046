/**
 * Dropout on every device: the mask's values and statistics, the gradient reusing the
 * mask, exact 1/(1−p) scaling (PyTorch's float32 rounding), eval and p = 0 identity bit for
 * bit, p = 1 zeros with zero gradient and no NaN, seeds, construction checks, and the
 * statistics PyTorch recorded in ../shared/reference/04_dropout.json (`empirical`,
 * `properties`).
 */
import type { RequirementsOf } from "@effect-nn/layers"
import { ConfigError, Dropout, Linear, Mode, forward, sequential, stateless } from "@effect-nn/layers"
import { ShapeError } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { DeviceError, Rng, dropout, dropoutUniform, fromArray, hashU32, sum, toArray, valueAndGradWithAux } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, expectTypeOf, it } from "vitest"
import { reference, run, runtimes } from "./harness.ts"

interface Empirical {
  readonly p: number
  readonly n_elements: number
  readonly input_value: number
  readonly train_fraction_zeroed: number
  readonly train_unique_nonzero_outputs: ReadonlyArray<number>
  readonly expected_kept_output: number | null
  readonly train_unique_input_grads_for_ones_upstream: ReadonlyArray<number>
  readonly eval_is_identity: boolean
  readonly train_output_mean_over_input_mean: number
}
const ref = reference<{ readonly properties: ReadonlyArray<string>; readonly empirical: ReadonlyArray<Empirical> }>("04_dropout.json")

/**
 * A train forward of `Dropout(p)` on x (tracked) and the gradient of sum(y) with respect
 * to x (which is the mask). `seed` seeds a fresh `Rng` for this forward when given.
 */
const trainWithGrad = (p: number, x: Tensor<Array<number>>, seed?: number) => {
  const layer = Dropout(p)
  const program = Effect.gen(function*() {
    const { grads, aux } = yield* valueAndGradWithAux((q: { x: Tensor<Array<number>> }) =>
      Effect.map(forward(layer, stateless, q.x, Mode.train), (r) => [sum(r.output), r.output] as const)
    )({ x })
    return { y: yield* toArray(aux), g: yield* toArray(grads.x) }
  })
  return seed === undefined ? program : Effect.provide(program, Rng.seeded(seed))
}

/** The same float32 bit patterns (so -0, NaN payloads and denormals count). */
const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && new Uint32Array(a.buffer, a.byteOffset, a.length).every((v, i) => v === new Uint32Array(b.buffer, b.byteOffset, b.length)[i])

/** Distinct values of an array, sorted. */
const distinct = (a: ArrayLike<number>): Array<number> => [...new Set(Array.from(a))].sort((u, v) => u - v)

/** The spacing of float32 numbers at |v| (one unit in the last place). */
const ulp32 = (v: number): number => {
  const a = Math.abs(Math.fround(v))
  if (a === 0) return 2 ** -149
  const e = Math.floor(Math.log2(a))
  return 2 ** (Math.max(e, -126) - 23)
}

for (const [device, rt] of runtimes(42)) {
  describe(`Dropout on ${device}`, () => {
    it("Dropout(0.3) on 10,000 ones: every output is 0 or 1/0.7 = 1.4285714 (float32), and the gradient of the sum equals the output", async () => {
      const n = 10_000
      const r = await run(rt, Effect.gen(function*() {
        return yield* trainWithGrad(0.3, yield* fromArray([n], new Float32Array(n).fill(1)))
      }))
      const scaled = Math.fround(1 / 0.7)
      expect(scaled).toBe(1.4285714626312256)
      expect(distinct(r.y)).toEqual([0, scaled])
      expect(sameBits(r.g, r.y)).toBe(true)
      const kept = r.y.filter((v) => v !== 0).length / n
      expect(Math.abs(kept - 0.7)).toBeLessThanOrEqual(4 * Math.sqrt((0.3 * 0.7) / n))
    })

    it("kept fraction over 10^6 elements is within 4 standard deviations of 1 − p (p = 0.1, 0.3, 0.5, 0.9)", async () => {
      const n = 1_000_000
      const fractions = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray([n], new Float32Array(n).fill(1))
        const out: Array<readonly [number, number]> = []
        for (const p of [0.1, 0.3, 0.5, 0.9]) {
          const y = yield* toArray(yield* Effect.map(forward(Dropout(p), stateless, x, Mode.train), (r) => r.output))
          let kept = 0
          for (let i = 0; i < n; i++) if (y[i] !== 0) kept++
          out.push([p, kept / n])
        }
        return out
      }))
      for (const [p, kept] of fractions) {
        expect(Math.abs(kept - (1 - p)), `p = ${p}: kept ${kept}`).toBeLessThanOrEqual(4 * Math.sqrt((p * (1 - p)) / n))
      }
    })

    it("kept values are exactly x·fround(1/(1−p)) (PyTorch's float32 rounding) and within 1 ulp of fround(x/(1−p))", async () => {
      const n = 100_000
      const p = 0.3
      const host = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 43.758 - 7.5)
      const r = await run(rt, Effect.gen(function*() {
        return yield* trainWithGrad(p, yield* fromArray([n], host), 7)
      }))
      const m = Math.fround(1 / (1 - p))
      // PyTorch (CPU): noise = bernoulli(1 − p).div_(1 − p) in float32, y = x · noise.
      const torchScale = Math.fround(1 / Math.fround(1 - p))
      expect(m).toBe(torchScale)
      let kept = 0
      let differ = 0
      for (let i = 0; i < n; i++) {
        const x = host[i]!
        const y = r.y[i]!
        if (r.g[i] === 0) {
          if (y !== 0) expect.fail(`dropped element ${i}: output ${y}, expected 0`)
          continue
        }
        kept++
        if (r.g[i] !== m) expect.fail(`element ${i}: mask ${r.g[i]}, expected ${m}`)
        if (y !== Math.fround(x * m)) expect.fail(`element ${i}: ${y} ≠ fround(${x} · ${m}) = ${Math.fround(x * m)}`)
        const byDivision = Math.fround(x / (1 - p))
        if (y !== byDivision) {
          differ++
          if (Math.abs(y - byDivision) > ulp32(byDivision)) expect.fail(`element ${i}: ${y} is more than 1 ulp from fround(x/(1−p)) = ${byDivision}`)
        }
      }
      expect(kept).toBeGreaterThan(0)
      // The two roundings differ by 1 ulp on a share of the elements: x·fround(1/0.7) is
      // not fround(x/0.7) in general. The layer follows PyTorch (multiplication by the
      // rounded scale); the share is logged for the record.
      console.log(`[${device}] Dropout(${p}): ${differ} of ${kept} kept values (${((100 * differ) / kept).toFixed(1)} %) differ by 1 ulp from fround(x/(1−p)); all equal fround(x·fround(1/(1−p)))`)
    })

    it("eval mode returns its input bit for bit (−0, ±Infinity, NaN, denormals included)", async () => {
      const host = Float32Array.from([1.5, -0, 0, Infinity, -Infinity, NaN, 1e-45, -3.4e38, 0.1, 7])
      const r = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray([2, 5], host)
        const y = yield* forward(Dropout(0.5), stateless, x, Mode.eval)
        return { same: y === x, values: yield* toArray(y) }
      }))
      expect(r.same).toBe(true)
      expect(sameBits(r.values, host)).toBe(true)
    })

    it("p = 0 is the identity in train mode too (bit for bit, gradient ones)", async () => {
      const host = Float32Array.from([1.5, -0, 3, -2.25, 1e-45, 1e30])
      const r = await run(rt, Effect.gen(function*() {
        return yield* trainWithGrad(0, yield* fromArray([6], host))
      }))
      expect(sameBits(r.y, host)).toBe(true)
      expect(Array.from(r.g)).toEqual([1, 1, 1, 1, 1, 1])
    })

    it("p = 1 gives zeros and a zero gradient, never NaN (even for infinite or NaN inputs)", async () => {
      const r = await run(rt, Effect.gen(function*() {
        return yield* trainWithGrad(1, yield* fromArray([6], [3, -1, Infinity, -Infinity, NaN, 0]))
      }))
      expect(Array.from(r.y)).toEqual([0, 0, 0, 0, 0, 0])
      expect(Array.from(r.g)).toEqual([0, 0, 0, 0, 0, 0])
    })

    it("the same seed gives the same mask, another seed another one, and successive forwards draw fresh masks", async () => {
      const n = 4096
      const r = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray([n], new Float32Array(n).fill(1))
        const a = yield* trainWithGrad(0.5, x, 1234)
        const b = yield* trainWithGrad(0.5, x, 1234)
        const c = yield* trainWithGrad(0.5, x, 1235)
        const twice = yield* Effect.provide(
          Effect.gen(function*() {
            const layer = Dropout(0.5)
            const first = yield* forward(layer, stateless, x, Mode.train)
            const second = yield* forward(layer, stateless, x, Mode.train)
            return [yield* toArray(first.output), yield* toArray(second.output)] as const
          }),
          Rng.seeded(1234)
        )
        return { a: a.y, b: b.y, c: c.y, first: twice[0], second: twice[1] }
      }))
      expect(sameBits(r.a, r.b)).toBe(true)
      expect(sameBits(r.a, r.c)).toBe(false)
      expect(sameBits(r.first, r.a)).toBe(true)
      expect(sameBits(r.first, r.second)).toBe(false)
    })

    it("the mask is the shared hash of (seed, index): the same on every backend", async () => {
      const n = 2000
      const p = 0.25
      const seed = 0xdeadbeef
      const y = await run(rt, Effect.gen(function*() {
        return yield* toArray(dropout(yield* fromArray([n], new Float32Array(n).fill(1)), p, seed))
      }))
      const s = hashU32(seed)
      const expected = Float32Array.from({ length: n }, (_, i) => (dropoutUniform(s, i) >= p ? 1 / (1 - p) : 0))
      expect(sameBits(y, expected)).toBe(true)
    })

    for (const e of ref.empirical) {
      it(`PyTorch's empirical record, p = ${e.p}: ${e.n_elements} copies of ${e.input_value}`, async () => {
        const r = await run(rt, Effect.gen(function*() {
          const x = yield* fromArray([e.n_elements], new Float32Array(e.n_elements).fill(e.input_value))
          const train = yield* trainWithGrad(e.p, x)
          const evald = yield* toArray(yield* forward(Dropout(e.p), stateless, x, Mode.eval))
          return { ...train, evald }
        }))
        const n = e.n_elements
        let zeroed = 0
        let total = 0
        for (let i = 0; i < n; i++) {
          if (r.y[i] === 0) zeroed++
          total += r.y[i]!
        }
        const sd = Math.sqrt((e.p * (1 - e.p)) / n)
        expect(Math.abs(zeroed / n - e.p), "fraction zeroed").toBeLessThanOrEqual(4 * sd)
        expect(Math.abs(e.train_fraction_zeroed - e.p), "PyTorch's own fraction, same bound").toBeLessThanOrEqual(4 * sd)
        expect(distinct(r.y.filter((v) => v !== 0)), "distinct non-zero outputs").toEqual(e.train_unique_nonzero_outputs)
        if (e.expected_kept_output !== null) expect(distinct(r.y.filter((v) => v !== 0))).toEqual([e.expected_kept_output])
        expect(distinct(r.g), "distinct input grads for a ones upstream").toEqual(e.train_unique_input_grads_for_ones_upstream)
        expect(e.eval_is_identity).toBe(true)
        expect(sameBits(r.evald, Float32Array.from({ length: n }, () => e.input_value))).toBe(true)
        // mean(y)/mean(x): 1 for p = 0, 0 for p = 1, else within 4 sd of 1 (sd = √(p/((1−p)n))).
        const ratio = total / n / e.input_value
        if (e.p === 0 || e.p === 1) expect(ratio).toBe(e.train_output_mean_over_input_mean)
        else expect(Math.abs(ratio - 1)).toBeLessThanOrEqual(4 * Math.sqrt(e.p / ((1 - e.p) * n)))
      })
    }

    it("a train forward without a random source fails with a DeviceError that says to provide Rng", async () => {
      const e = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray([4], [1, 2, 3, 4])
        return yield* Effect.flip(Dropout(0.5).run({ mode: "train", rng: undefined }, stateless, x, "net.3"))
      }))
      expect(e).toBeInstanceOf(DeviceError)
      expect(e.message).toContain("net.3: Dropout(p=0.5, inplace=False) in train mode needs a random source; provide Rng")
      expect(e instanceof DeviceError && e.cause instanceof ConfigError).toBe(true)
    })

    it("the dropout op refuses p outside [0, 1] and non-integer seeds with a ShapeError", async () => {
      const errors = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray([2], [1, 2])
        const attempt = (p: number, seed: number) => Effect.flip(Effect.try({ try: () => dropout(x, p, seed), catch: (e) => e }))
        return [yield* attempt(1.5, 0), yield* attempt(-0.1, 0), yield* attempt(Number.NaN, 0), yield* attempt(0.5, 0.5)]
      }))
      for (const e of errors) expect(e).toBeInstanceOf(ShapeError)
    })
  })
}

describe("Dropout description", () => {
  it("properties recorded from PyTorch that the layer follows", () => {
    expect(ref.properties.some((s) => s.includes("1/(1-p)"))).toBe(true)
    expect(ref.properties.some((s) => s.includes("0 <= p <= 1"))).toBe(true)
  })

  it("p = 1.5, p = −0.1 and NaN are refused at construction with a ConfigError naming p and [0, 1]", () => {
    for (const p of [1.5, -0.1, Number.NaN]) {
      let caught: unknown
      try {
        Dropout(p)
      } catch (e) {
        caught = e
      }
      expect(caught).toBeInstanceOf(ConfigError)
      expect((caught as ConfigError).message).toBe(`Dropout: p must be a probability in [0, 1], got ${p}`)
      expect((caught as ConfigError)._tag).toBe("ConfigError")
    }
    expect(() => Dropout(0)).not.toThrow()
    expect(() => Dropout(1)).not.toThrow()
  })

  it("prints PyTorch's repr, has no state, and its train forward requires Rng in the types", () => {
    expect(Dropout(0.2).label).toBe("Dropout(p=0.2, inplace=False)")
    expect(Dropout().label).toBe("Dropout(p=0.5, inplace=False)")
    expect(Dropout(0).label).toBe("Dropout(p=0.0, inplace=False)")
    expect(Dropout(1).label).toBe("Dropout(p=1.0, inplace=False)")
    expect(Dropout(1e-5).label).toBe("Dropout(p=1e-05, inplace=False)")
    expect(Dropout(0.2).parameterCount + Dropout(0.2).bufferCount).toBe(0)
    const net = sequential(Linear(4, 4), Dropout(0.2))
    expectTypeOf<RequirementsOf<typeof net>>().toEqualTypeOf<Rng>()
    expectTypeOf<RequirementsOf<ReturnType<typeof Dropout>>>().toEqualTypeOf<Rng>()
  })
})
