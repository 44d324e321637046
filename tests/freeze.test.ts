/**
 * Freezing: a frozen parameter gets a zero gradient without being differentiated, the
 * optimisers leave it unchanged, and the counts list it as non-trainable.
 */
import { Linear, Mode, crossEntropy, forward, freeze, parameterCounts, sequential, ReLU } from "@effect-nn/layers"
import { adam, sgd } from "@effect-nn/optim"
import type { Tensor } from "@effect-nn/tensor"
import { fromArray, sym, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { run, runtimes } from "./harness.ts"

const net = sequential(Linear(4, 8), ReLU(), Linear(8, 3))

for (const [device, rt] of runtimes(2)) {
  describe(`freezing on ${device}`, () => {
    it("frozen parameters: zero gradients, unchanged by SGD and Adam, counted as non-trainable", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const model = yield* net.init
        const params = freeze(model.params, (key) => key.startsWith("0."))
        const x = yield* fromArray([sym("B", 2), 4], [1, 2, 3, 4, -1, 0.5, 2, 0])
        const y = yield* fromArray([sym("B", 2)], [0, 2], "int32")
        const { grads } = yield* valueAndGrad((p: typeof params) =>
          Effect.map(forward(net, { params: p, buffers: model.buffers }, x, Mode.train), ({ output }) => crossEntropy(output, y as Tensor<[number], "int32">))
        )(params)
        const s = sgd({ lr: 0.5, momentum: 0.9 })
        const a = adam({ lr: 0.5 })
        const afterSgd = (yield* s.step(params, grads, yield* s.init(params))).params
        const afterAdam = (yield* a.step(params, grads, yield* a.init(params))).params
        return {
          frozenGrad: Array.from(yield* toArray(grads["0"].weight)),
          liveGrad: Array.from(yield* toArray(grads["2"].weight)),
          before: Array.from(yield* toArray(params["0"].weight)),
          sgd0: Array.from(yield* toArray(afterSgd["0"].weight)),
          adam0: Array.from(yield* toArray(afterAdam["0"].weight)),
          sgd2: Array.from(yield* toArray(afterSgd["2"].weight)),
          live2: Array.from(yield* toArray(params["2"].weight)),
          counts: parameterCounts(net, { params, buffers: model.buffers })
        }
      }))
      expect(r.frozenGrad.every((v) => v === 0)).toBe(true)
      expect(r.liveGrad.some((v) => v !== 0)).toBe(true)
      expect(r.sgd0).toEqual(r.before)
      expect(r.adam0).toEqual(r.before)
      expect(r.sgd2).not.toEqual(r.live2)
      expect(r.counts).toEqual({ trainable: 27, nonTrainable: 40, total: 67, buffers: 0 })
    })
  })
}
