/**
 * `select` (one index along a dim, the dim removed) and `stack` (a new dim) on every
 * device: values against hand-computed row-major indexing for every dim (negative dims
 * too), shape errors, and finite-difference gradients of a composition.
 */
import { ShapeError } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { fromArray, makeRandomSource, mul, select, stack, sum, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { expectClose, run, runtimes } from "./harness.ts"

const dims = [2, 3, 4] as const
const at = (i: number, j: number, k: number) => (i * 3 + j) * 4 + k
const host = Float32Array.from({ length: 24 }, (_, i) => i + 0.5)

for (const [device, rt] of runtimes()) {
  describe(`select and stack on ${device}`, () => {
    it("select takes one index along any dim; stack puts slices back; shapes as PyTorch", async () => {
      const got = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray(dims, host)
        const s0 = select(x, 0, 1)
        const s1 = select(x, 1, 2)
        const s2 = select(x, -1, 3)
        const back = stack([select(x, 1, 0), select(x, 1, 1), select(x, 1, 2)], 1)
        const last = stack([s2, s2], -1)
        return {
          shapes: [s0.dims, s1.dims, s2.dims, back.dims, last.dims],
          s0: yield* toArray(s0), s1: yield* toArray(s1), s2: yield* toArray(s2), back: yield* toArray(back), last: yield* toArray(last)
        }
      }))
      expect(got.shapes).toEqual([[3, 4], [2, 4], [2, 3], [2, 3, 4], [2, 3, 2]])
      expectClose(got.s0, Array.from({ length: 12 }, (_, n) => host[at(1, Math.floor(n / 4), n % 4)]!), 0, 0, "select dim 0")
      expectClose(got.s1, Array.from({ length: 8 }, (_, n) => host[at(Math.floor(n / 4), 2, n % 4)]!), 0, 0, "select dim 1")
      expectClose(got.s2, Array.from({ length: 6 }, (_, n) => host[at(Math.floor(n / 3), n % 3, 3)]!), 0, 0, "select dim -1")
      expectClose(got.back, host, 0, 0, "stack of the selects")
      expectClose(got.last, Array.from({ length: 12 }, (_, n) => host[at(Math.floor(n / 6), Math.floor(n / 2) % 3, 3)]!), 0, 0, "stack at -1")
    })

    it("errors name the shape: index or dim out of range, stack of different shapes", async () => {
      const errors = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray(dims, host)
        const y = yield* fromArray([3, 3], new Float32Array(9))
        const attempt = (f: () => unknown) => {
          try {
            f()
            return undefined
          } catch (e) {
            return e
          }
        }
        return [attempt(() => select(x, 1, 3)), attempt(() => select(x, 3, 0)), attempt(() => stack<unknown, 0>([select(x, 0, 0), y], 0))] // (the types refuse it; run time too)
      }))
      for (const e of errors) expect(e).toBeInstanceOf(ShapeError)
      expect((errors[0] as ShapeError).message).toBe("select: index 3 is out of range for dim 1 of size 3 in [2, 3, 4]")
      expect((errors[1] as ShapeError).message).toBe("select: dim 3 is out of range for a tensor of rank 3 [2, 3, 4]")
      expect((errors[2] as ShapeError).message).toBe("stack: shapes differ: [3, 4], [3, 3]")
    })

    it("gradients match finite differences", async () => {
      const rng = makeRandomSource(3)
      const xs = rng.uniform(24, -1, 1)
      const w = rng.uniform(24, -1, 1)
      const f = (x: Tensor<unknown>, wt: Tensor<unknown>) => {
        // Reverse the middle dim through select and stack, then weight every element.
        const parts = [2, 1, 0].map((j) => select(x as Tensor<[2, 3, 4]>, 1, j))
        return sum(mul(mul(stack(parts, 1), wt), stack([select(x as Tensor<[2, 3, 4]>, 0, 0), select(x as Tensor<[2, 3, 4]>, 0, 1)], 0)))
      }
      const { analytic, numeric } = await run(rt, Effect.gen(function*() {
        const wt = yield* fromArray(dims, w)
        const x = yield* fromArray(dims, xs)
        const { grads } = yield* valueAndGrad((p: { readonly x: Tensor<unknown> }) => Effect.sync(() => f(p.x, wt)))({ x })
        const numeric = new Float32Array(24)
        const h = 1e-2
        for (let i = 0; i < 24; i++) {
          const plus = Float32Array.from(xs)
          const minus = Float32Array.from(xs)
          plus[i]! += h
          minus[i]! -= h
          const fp = (yield* toArray(f(yield* fromArray(dims, plus), wt)))[0]!
          const fm = (yield* toArray(f(yield* fromArray(dims, minus), wt)))[0]!
          numeric[i] = (fp - fm) / (2 * h)
        }
        return { analytic: yield* toArray(grads.x), numeric }
      }))
      expectClose(analytic, numeric, 1e-2, 1e-3, "d/dx")
    })
  })
}
