/**
 * Optimiser field cases on every device, with values worked out by hand from PyTorch's
 * update rules (https://pytorch.org/docs/1.13/generated/torch.optim.Adam.html, AdamW,
 * SGD): the difference between Adam's L2 weight decay and AdamW's decoupled decay (the
 * classic confusion of Loshchilov & Hutter 2019), Adam's bias correction at step 1, and
 * SGD's momentum buffer starting at the first gradient.
 *
 * Setting: a scalar w = 1 and the loss g·w, so the gradient is the constant g; lr 0.1,
 * betas (0.9, 0.999), eps 1e-8, weight decay 0.1, three steps.
 * - Adam (L2), g = 0: the decay alone is the gradient, g' = 0.1·w. Step 1: m̂ = g', v̂ = g'²,
 *   so w ← w − lr·g'/(|g'| + eps) = 1 − 0.1 = 0.9; then 0.8004122, 0.7015863.
 * - AdamW, g = 0: m = v = 0, so only w ← w·(1 − lr·λ) = w·0.99: 0.99, 0.9801, 0.970299.
 * - g = 0.5: Adam 0.9, 0.8000473, 0.7001746; AdamW 0.89 (0.99 − 0.1), 0.7811, 0.6732891.
 * Values are float32 results; the tolerance (3e-7) is a few float32 ulps at these sizes.
 */
import type { Optimizer } from "@effect-nn/optim"
import { adam, adamw, sgd } from "@effect-nn/optim"
import type { Tensor } from "@effect-nn/tensor"
import { fromArray, scale, sum, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, it } from "vitest"
import { expectClose, run, runtimes } from "./harness.ts"

const TOL = 3e-7

/** w = 1, loss g·w, `steps` updates; the values of w after each. */
const scalarPath = <S>(opt: Optimizer<S>, g: number, steps = 3) =>
  Effect.gen(function*() {
    let params: { readonly w: Tensor<[]> } = { w: yield* fromArray([], [1]) }
    let state = yield* opt.init(params)
    const path: Array<number> = []
    for (let i = 0; i < steps; i++) {
      const { grads } = yield* valueAndGrad((p: typeof params) => Effect.sync(() => sum(scale(p.w, g))))(params)
      const next = yield* opt.step(params, grads, state)
      params = next.params
      state = next.state
      path.push((yield* toArray(params.w))[0]!)
    }
    return path
  })

const hyper = { lr: 0.1, betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 0.1 }

for (const [device, rt] of runtimes()) {
  describe(`optimiser field cases on ${device}`, () => {
    it("Adam (L2 decay) with g = 0: the decay is the whole gradient → 0.9, 0.8004122, 0.7015863", async () => {
      expectClose(await run(rt, scalarPath(adam(hyper), 0)), [0.9, 0.8004122, 0.7015863], 0, TOL, "w")
    })
    it("AdamW (decoupled decay) with g = 0: only the decay acts, w·0.99 a step → 0.99, 0.9801, 0.9702991", async () => {
      expectClose(await run(rt, scalarPath(adamw(hyper), 0)), [0.99, 0.9801, 0.9702991], 0, TOL, "w")
    })
    it("Adam (L2 decay) with g = 0.5 → 0.9, 0.8000473, 0.7001746", async () => {
      expectClose(await run(rt, scalarPath(adam(hyper), 0.5)), [0.9, 0.8000473, 0.7001746], 0, TOL, "w")
    })
    it("AdamW (decoupled decay) with g = 0.5 → 0.89, 0.7811, 0.6732891", async () => {
      expectClose(await run(rt, scalarPath(adamw(hyper), 0.5)), [0.89, 0.7811, 0.6732891], 0, TOL, "w")
    })

    // Step 1: m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g², so p ← p − lr·g/(|g| + eps) = p − lr·sign(g).
    it("Adam's first step is bias-corrected: params [1, −2], grads [0.5, −3], lr 0.01 → [0.99, −1.99]", async () => {
      const out = await run(rt, Effect.gen(function*() {
        const params = [yield* fromArray([2], [1, -2])]
        const grads = [yield* fromArray([2], [0.5, -3])]
        const opt = adam({ lr: 0.01 })
        const next = yield* opt.step(params, grads, yield* opt.init(params))
        return yield* toArray(next.params[0]!)
      }))
      expectClose(out, [0.99, -1.99], 0, TOL, "params")
    })

    // PyTorch: the buffer starts as the first gradient (b = g), then b ← μ·b + g:
    // b = 1, 1.9, 2.71; w = 1 − 0.1·b cumulatively: 0.9, 0.71, 0.439.
    it("SGD lr 0.1, momentum 0.9, constant gradient 1 → 0.9, 0.71, 0.439", async () => {
      expectClose(await run(rt, scalarPath(sgd({ lr: 0.1, momentum: 0.9 }), 1)), [0.9, 0.71, 0.439], 0, TOL, "w")
    })
  })
}
