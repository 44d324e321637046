/**
 * Field cases from public bug reports against other libraries, on every device:
 * cross-entropy with huge logits, gradients through buffer reuse, relu'(0) = 0, NaN
 * through ReLU (PyTorch's `torch.relu` propagates it; its gradient there is 0).
 */
import { Linear, Mode, forward } from "@effect-nn/layers"
import type { Tensor } from "@effect-nn/tensor"
import { add, crossEntropy, fromArray, linear, relu, sigmoid, sum, tanh, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { expectClose, run, runtimes } from "./harness.ts"

/** Asserts `actual` equals `expected` element-wise: NaN where NaN is expected, else Object.is (so 0 is +0). */
const expectSame = (actual: ArrayLike<number>, expected: ReadonlyArray<number>, what: string): void => {
  expect(actual.length, `${what}: length`).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!
    const e = expected[i]!
    const ok = Number.isNaN(e) ? Number.isNaN(a) : Object.is(a, e)
    if (!ok) expect.fail(`${what}[${i}]: got ${Object.is(a, -0) ? "-0" : a}, expected ${e}`)
  }
}

const ce = (logits: ReadonlyArray<number>, rows: number, targets: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const x = yield* fromArray([rows, 2], logits)
    const t = yield* fromArray([rows], targets, "int32")
    const { value, grads } = yield* valueAndGrad((p: { x: Tensor<[number, number]> }) => Effect.sync(() => crossEntropy(p.x, t)))({ x })
    return { loss: (yield* toArray(value))[0]!, grad: Array.from(yield* toArray(grads.x)) }
  })

for (const [device, rt] of runtimes()) {
  describe(`field cases on ${device}`, () => {
    it("cross-entropy of [[1e8, 1e8]] with target 1 is ln 2, finite", async () => {
      const r = await run(rt, ce([1e8, 1e8], 1, [1]))
      expect(r.loss).toBeCloseTo(0.6931472, 6)
      expectClose(r.grad, [0.5, -0.5], 1e-6, 1e-7)
    })
    it("cross-entropy of [[1000, 0]] with target 1 is exactly 1000", async () => {
      const r = await run(rt, ce([1000, 0], 1, [1]))
      expect(r.loss).toBe(1000)
      expectClose(r.grad, [1, -1], 0, 0)
    })
    it("cross-entropy of [[1e8, 1e8], [1000, 0]] with targets [1, 1] is 500.34659 with grad [[0.25, -0.25], [0.5, -0.5]]", async () => {
      const r = await run(rt, ce([1e8, 1e8, 1000, 0], 2, [1, 1]))
      expect(r.loss).toBeCloseTo(500.34659, 4)
      expectClose(r.grad, [0.25, -0.25, 0.5, -0.5], 1e-6, 1e-7)
    })

    it("relu(x + linear(x)) with W = I, b = 0: y, dL/dx, dL/dW, dL/db (buffers reused across ops)", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray([1, 2], [-1, 2])
        const params = { x, weight: yield* fromArray([2, 2], [1, 0, 0, 1]), bias: yield* fromArray([2], [0, 0]) }
        const f = (p: typeof params) => relu(add(p.x, linear(p.x, p.weight, p.bias)))
        const { value, grads } = yield* valueAndGrad((p: typeof params) => Effect.sync(() => sum(f(p))))(params)
        return {
          y: Array.from(yield* toArray(f(params))),
          loss: (yield* toArray(value))[0],
          dx: Array.from(yield* toArray(grads.x)),
          dW: Array.from(yield* toArray(grads.weight)),
          db: Array.from(yield* toArray(grads.bias))
        }
      }))
      expect(r.y).toEqual([0, 4])
      expect(r.loss).toBe(4)
      expect(r.dx).toEqual([0, 2])
      expect(r.dW.map((v) => v + 0)).toEqual([0, 0, -1, 2])
      expect(r.db).toEqual([0, 1])
    })

    it("relu([NaN, -1, 2, 0, -0]) is [NaN, 0, 2, 0, 0] and its gradient [0, 0, 1, 0, 0] (torch.relu, threshold_backward)", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray([5], [NaN, -1, 2, 0, -0])
        // 8 values (a multiple of 4) as well, for the vec4 kernels.
        const x8 = yield* fromArray([8], [NaN, -1, 2, 0, -0, NaN, -Infinity, Infinity])
        const { grads } = yield* valueAndGrad((p: { x: Tensor<[number]> }) => Effect.sync(() => sum(relu(p.x))))({ x })
        return {
          y: Array.from(yield* toArray(relu(x))),
          y8: Array.from(yield* toArray(relu(x8))),
          dx: Array.from(yield* toArray(grads.x))
        }
      }))
      expectSame(r.y, [NaN, 0, 2, 0, 0], "relu")
      expectSame(r.y8, [NaN, 0, 2, 0, 0, NaN, 0, Infinity], "relu (8 values)")
      expectSame(r.dx, [0, 0, 1, 0, 0], "relu gradient")
    })

    it("relu(linear(x) + b) keeps a NaN input row NaN, other rows as without it", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray([3, 4], [1, -2, 0.5, 3, NaN, 1, 1, 1, -1, 0.25, 2, -3])
        const w = yield* fromArray([4, 4], [1, 0, 0, 0, 0, 1, 0, 0, -1, -1, -1, -1, 0.5, 0.5, 0.5, 0.5])
        const b = yield* fromArray([4], [0, -10, 0.5, 1])
        return Array.from(yield* toArray(relu(linear(x, w, b))))
      }))
      expectSame(r, [1, 0, 0, 2.25, NaN, NaN, NaN, NaN, 0, 0, 2.25, 0.125], "relu(linear)")
    })

    it("sigmoid and tanh keep NaN NaN (and saturate at ±Infinity)", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray([4], [NaN, -Infinity, Infinity, 0])
        return { s: Array.from(yield* toArray(sigmoid(x))), t: Array.from(yield* toArray(tanh(x))) }
      }))
      expectSame(r.s, [NaN, 0, 1, 0.5], "sigmoid")
      expectSame(r.t, [NaN, -1, 1, 0], "tanh")
    })

    it("a Linear module applied through forward() gives PyTorch's result for known weights", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const layer = Linear(2, 2)
        const params = { weight: yield* fromArray([2, 2], [1, 2, 3, 4]), bias: yield* fromArray([2], [0.5, -0.5]) }
        const x = yield* fromArray([1, 2], [1, 1])
        return Array.from(yield* toArray(yield* forward(layer, { params, buffers: {} }, x, Mode.eval)))
      }))
      expect(r).toEqual([3.5, 6.5])
    })
  })
}
