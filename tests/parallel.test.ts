/**
 * `parallel` (one input, several branches) and `parallelInputs` (one input per branch —
 * the tutorial's multi-modal network): outputs equal the branches computed by hand,
 * gradients flow into every branch, state-dict keys are the branch names.
 */
import { Linear, Mode, ReLU, crossEntropy, forward, parallel, parallelInputs, sequential, stateEntries } from "@effect-nn/layers"
import type { Tensor } from "@effect-nn/tensor"
import { concatLast, fromArray, makeRandomSource, relu, sym, toArray, add, linear, valueAndGrad } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { expectClose, run, runtimes } from "./harness.ts"

const multimodal = sequential(
  parallelInputs({ tabular: sequential(Linear(10, 32), ReLU()), image: sequential(Linear(784, 64), ReLU()) }, "concat"),
  Linear(96, 2)
)

for (const [device, rt] of runtimes(9)) {
  describe(`parallel on ${device}`, () => {
    it("parallelInputs: tabular [B, 10] and image [B, 784] through separate networks, concatenated, then the head", async () => {
      const rng = makeRandomSource(4)
      const r = await run(rt, Effect.gen(function*() {
        const model = yield* multimodal.init
        const B = sym("B", 3)
        const tabular = yield* fromArray([B, 10], rng.normal(30, 0, 1))
        const image = yield* fromArray([B, 784], rng.normal(3 * 784, 0, 1))
        const out = yield* forward(multimodal, model, { tabular, image }, Mode.eval)
        const p = model.params
        const t = relu(linear(tabular, p["0"].tabular["0"].weight, p["0"].tabular["0"].bias))
        const i = relu(linear(image, p["0"].image["0"].weight, p["0"].image["0"].bias))
        const manual = linear(concatLast([t, i]) as Tensor<[number, 96]>, p["1"].weight, p["1"].bias)
        const y = yield* fromArray([B], [0, 1, 1], "int32")
        const { grads } = yield* valueAndGrad((q: typeof p) =>
          Effect.map(forward(multimodal, { params: q, buffers: model.buffers }, { tabular, image }, Mode.train), ({ output }) => crossEntropy(output, y))
        )(p)
        return {
          shape: out.dims,
          out: yield* toArray(out),
          manual: yield* toArray(manual),
          gTab: yield* toArray(grads["0"].tabular["0"].weight),
          gImg: yield* toArray(grads["0"].image["0"].weight),
          keys: stateEntries(multimodal, model).map((e) => e.key)
        }
      }))
      expect(r.shape).toEqual([3, 2])
      expectClose(r.out, r.manual, 1e-5, 1e-6, "output")
      expect(Array.from(r.gTab).some((v) => v !== 0)).toBe(true)
      expect(Array.from(r.gImg).some((v) => v !== 0)).toBe(true)
      expect(r.keys).toEqual(["0.tabular.0.weight", "0.tabular.0.bias", "0.image.0.weight", "0.image.0.bias", "1.weight", "1.bias"])
    })

    it("parallel(add) sums the branches; parallel(concat) of widths 64 and 32 is 96 wide", async () => {
      const summed = parallel([Linear(4, 3), Linear(4, 3)], "add")
      const wide = parallel({ a: Linear(4, 64), b: Linear(4, 32) }, "concat")
      const r = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray([sym("B", 2), 4], [1, 2, 3, 4, -1, 0, 1, 2])
        const m1 = yield* summed.init
        const s = yield* forward(summed, m1, x, Mode.eval)
        const manual = add(linear(x, m1.params["0"].weight, m1.params["0"].bias), linear(x, m1.params["1"].weight, m1.params["1"].bias))
        const m2 = yield* wide.init
        const w = yield* forward(wide, m2, x, Mode.eval)
        return { s: yield* toArray(s), manual: yield* toArray(manual), wide: w.dims }
      }))
      expectClose(r.s, r.manual, 1e-6, 1e-6, "sum")
      expect(r.wide).toEqual([2, 96])
    })
  })
}
