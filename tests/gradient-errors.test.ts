/**
 * `valueAndGrad` of a loss recorded from none of the parameters fails with a
 * `GradientError` instead of returning zeros (PyTorch raises "element 0 of tensors does
 * not require grad" there): an eval-mode forward, values read back, a nested
 * `valueAndGrad`. A loss that depends on some parameters still gives zeros for the others.
 */
import { BatchNorm1d, Linear, Mode, ReLU, crossEntropy, forward, freeze, sequential } from "@effect-nn/layers"
import type { Tensor } from "@effect-nn/tensor"
import { fromArray, mul, sum, sym, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { run, runtimes } from "./harness.ts"

const net = sequential(Linear(3, 4), BatchNorm1d(4), ReLU(), Linear(4, 2))

for (const [device, rt] of runtimes(3)) {
  describe(`valueAndGrad of an untracked loss on ${device}`, () => {
    const setup = Effect.gen(function*() {
      const model = yield* net.init
      const x = yield* fromArray([sym("B", 2), 3], [1, 2, 3, -1, 0.5, 2])
      const y = (yield* fromArray([sym("B", 2)], [0, 1], "int32")) as Tensor<[number], "int32">
      return { model, x, y }
    })

    it("an eval-mode forward: GradientError naming eval mode, no zeros", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const { model, x, y } = yield* setup
        const evalLoss = (p: typeof model.params) => Effect.map(forward(net, { params: p, buffers: model.buffers }, x, Mode.eval), (output) => crossEntropy(output, y))
        const trainLoss = (p: typeof model.params) =>
          Effect.map(forward(net, { params: p, buffers: model.buffers }, x, Mode.train), ({ output }) => crossEntropy(output, y))
        const evalResult = yield* Effect.flip(valueAndGrad(evalLoss)(model.params))
        const train = yield* valueAndGrad(trainLoss)(model.params)
        return { tag: evalResult._tag, message: evalResult.message, trainGrad: Array.from(yield* toArray(train.grads["3"].weight)) }
      }))
      expect(r.tag).toBe("GradientError")
      expect(r.message).toMatch(/eval-mode forward records nothing/)
      expect(r.trainGrad.some((v) => v !== 0)).toBe(true)
    })

    it("a nested valueAndGrad (second order): GradientError, not [0, 0, 0]", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const a = yield* fromArray([3], [1, 2, 3])
        const inner = (p: { readonly a: Tensor<[3]> }) => Effect.succeed(sum(mul(mul(p.a, p.a), p.a)))
        const outer = (p: { readonly a: Tensor<[3]> }) =>
          Effect.map(valueAndGrad(inner)(p), ({ grads }) => sum(mul(grads.a, grads.a)))
        return yield* Effect.flip(valueAndGrad(outer)({ a }))
      }))
      expect(r._tag).toBe("GradientError")
      expect(r.message).toMatch(/higher-order gradients are not supported/)
    })

    it("a loss using some parameters: zeros for the others; everything frozen: zeros, no error", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const a = yield* fromArray([2], [1, 2])
        const b = yield* fromArray([2], [3, 4])
        const partly = yield* valueAndGrad((p: { readonly a: Tensor<[2]>; readonly b: Tensor<[2]> }) => Effect.succeed(sum(mul(p.a, p.a))))({ a, b })
        const frozen = freeze({ a, b }, () => true)
        const none = yield* valueAndGrad((p: typeof frozen) => Effect.succeed(sum(mul(p.a, p.b))))(frozen)
        return {
          ga: Array.from(yield* toArray(partly.grads.a)),
          gb: Array.from(yield* toArray(partly.grads.b)),
          frozenA: Array.from(yield* toArray(none.grads.a))
        }
      }))
      expect(r.ga).toEqual([2, 4])
      expect(r.gb).toEqual([0, 0])
      expect(r.frozenA).toEqual([0, 0])
    })
  })
}

describe("errors thrown by ops inside the loss", () => {
  it("a ShapeError thrown in Effect.map (the README's pattern) is a failure valueAndGrad's caller can catch by tag", async () => {
    const [, rt] = runtimes(4).find(([name]) => name === "cpu")!
    const r = await run(rt, Effect.gen(function*() {
      const model = yield* net.init
      const x = yield* fromArray([sym("B", 2), 3], [1, 2, 3, -1, 0.5, 2])
      const wrong = (yield* fromArray([sym("B", 3)], [0, 1, 1], "int32")) as Tensor<[number], "int32">
      return yield* valueAndGrad((p: typeof model.params) =>
        Effect.map(forward(net, { params: p, buffers: model.buffers }, x, Mode.train), ({ output }) => crossEntropy(output, wrong))
      )(model.params).pipe(Effect.map(() => "no error"), Effect.catchTag("ShapeError", (e) => Effect.succeed(`caught: ${e.message}`)))
    }))
    expect(r).toMatch(/^caught: .*crossEntropy.*\[2, 2\].*\[3\]/)
  })
})
