/**
 * Field case: gradients with buffer reuse. relu(x + linear(x)) with W = I, b = 0 gives
 * the same values and gradients on WebGPU with the buffer pool on and off.
 */
import { WebGpu } from "@effect-nn/gpu"
import type { Tensor } from "@effect-nn/tensor"
import { add, fromArray, linear, relu, sum, tidy, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"

const program = Effect.gen(function*() {
  const out: Array<Array<number>> = []
  // Several rounds, each in its own arena, so that released buffers are reused (pool on).
  for (let round = 0; round < 3; round++) {
    const r = yield* tidy(Effect.gen(function*() {
      const x = yield* fromArray([1, 2], [-1, 2])
      const params = { x, weight: yield* fromArray([2, 2], [1, 0, 0, 1]), bias: yield* fromArray([2], [0, 0]) }
      const f = (p: typeof params) => relu(add(p.x, linear(p.x, p.weight as Tensor<[2, 2]>, p.bias as Tensor<[2]>)))
      const { grads } = yield* valueAndGrad((p: typeof params) => Effect.sync(() => sum(f(p))))(params)
      return [
        ...Array.from(yield* toArray(f(params))),
        ...Array.from(yield* toArray(grads.x)),
        ...Array.from(yield* toArray(grads.weight)),
        ...Array.from(yield* toArray(grads.bias))
      ]
    }))
    out.push(r.map((v) => v + 0))
  }
  return out
})

describe("buffer reuse", () => {
  it("relu(x + linear(x)): y = [0, 4], dx = [0, 2], dW = [[0, 0], [-1, 2]], db = [0, 1] with the pool on and off", async () => {
    const expected = [0, 4, 0, 2, 0, 0, -1, 2, 0, 1]
    for (const pool of [true, false]) {
      const rounds = await Effect.runPromise(program.pipe(Effect.provide(WebGpu.layer({ pool }))))
      for (const r of rounds) expect(r, `pool ${pool}`).toEqual(expected)
    }
  })
})
