/**
 * Optimiser state per parameter, as PyTorch keeps it (`optimizer.state[p]`, created in
 * `_init_group` the first time p has a gradient; https://pytorch.org/docs/stable/generated/torch.optim.Adam.html):
 * a parameter frozen for the first steps (PyTorch: `grad is None`, skipped entirely) gets
 * its first Adam update with bias correction for t = 1, not for the number of steps the
 * optimiser has taken. On every device, so the fused WebGPU update (one `adamMany` per
 * step count) is covered.
 *
 * Field case: a = [1, −2] and b = [0.5, 3] with constant gradients ga = [0.5, −3],
 * gb = [2, −0.25], lr 0.1. With a constant gradient m̂ = g and v̂ = g² at every t, so each
 * Adam update moves a parameter by lr·g/(|g| + ε) ≈ lr·sign(g). Freeze b, 3 steps,
 * unfreeze, 1 step: a = [0.6, −1.6], b = [0.4, 3.1] (b moves by lr, as in PyTorch). With
 * one global step count b would use t = 4 and move by only 0.058 (m̂ = 0.29·g, √v̂ = 0.50·|g|).
 */
import { freeze, unfreeze } from "@effect-nn/layers"
import type { Optimizer } from "@effect-nn/optim"
import { adam, adamw, sgd } from "@effect-nn/optim"
import type { Tensor } from "@effect-nn/tensor"
import { freezeTensor, fromArray, toArray, unfreezeTensor } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { expectClose, run, runtimes } from "./harness.ts"

const TOL = 3e-7

interface AB {
  readonly a: Tensor<[2]>
  readonly b: Tensor<[2]>
}

/** b frozen for `frozenSteps` steps, then unfrozen for `liveSteps`; the final a, b and the state. */
const freezeThenUnfreeze = <S>(opt: Optimizer<S>, frozenSteps: number, liveSteps: number) =>
  Effect.gen(function*() {
    const grads: AB = { a: yield* fromArray([2], [0.5, -3]), b: yield* fromArray([2], [2, -0.25]) }
    let params: AB = freeze({ a: yield* fromArray([2], [1, -2]), b: yield* fromArray([2], [0.5, 3]) }, (k) => k === "b")
    let state = yield* opt.init(params)
    const states: Array<S> = []
    for (let i = 0; i < frozenSteps + liveSteps; i++) {
      if (i === frozenSteps) params = unfreeze(params)
      const next = yield* opt.step(params, grads, state)
      params = next.params
      state = next.state
      states.push(state)
    }
    return { a: Array.from(yield* toArray(params.a)), b: Array.from(yield* toArray(params.b)), states }
  })

/** PyTorch's Adam/AdamW for one parameter in float64 (the documented algorithm), from its own step 1. */
const adamReference = (p0: ReadonlyArray<number>, gradsPerStep: ReadonlyArray<ReadonlyArray<number>>, lr: number, decay: number, decoupled: boolean) => {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8]
  const p = [...p0]
  const m = p.map(() => 0)
  const v = p.map(() => 0)
  gradsPerStep.forEach((g0, k) => {
    const t = k + 1
    for (let i = 0; i < p.length; i++) {
      const g = g0[i]! + (decoupled ? 0 : decay * p[i]!)
      if (decoupled) p[i] = p[i]! * (1 - lr * decay)
      m[i] = b1 * m[i]! + (1 - b1) * g
      v[i] = b2 * v[i]! + (1 - b2) * g * g
      p[i] = p[i]! - (lr / (1 - b1 ** t)) * m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps)
    }
  })
  return p
}

for (const [device, rt] of runtimes()) {
  describe(`optimiser state per parameter on ${device}`, () => {
    it("Adam: b frozen for 3 steps then unfrozen moves by lr on its first step (t = 1 for b, t = 4 for a)", async () => {
      const r = await run(rt, freezeThenUnfreeze(adam({ lr: 0.1 }), 3, 1))
      expectClose(r.a, [0.6, -1.6], 0, TOL, "a")
      expectClose(r.b, [0.4, 3.1], 0, TOL, "b")
      // PyTorch creates b's state only when b first has a gradient.
      expect(r.states.map((s) => Object.keys(s.state))).toEqual([["a"], ["a"], ["a"], ["a", "b"]])
      expect(r.states.map((s) => s.state["a"]?.step)).toEqual([1, 2, 3, 4])
      expect(r.states[3]!.state["b"]?.step).toBe(1)
    })

    it("AdamW (weight decay 0.1): a frozen parameter is not decayed; unfrozen, its first step is b·(1 − lr·λ) − lr·sign(g)", async () => {
      const r = await run(rt, freezeThenUnfreeze(adamw({ lr: 0.1, weightDecay: 0.1 }), 3, 1))
      expectClose(r.b, [0.5 * 0.99 - 0.1, 3 * 0.99 + 0.1], 0, TOL, "b")
      expectClose(r.a, adamReference([1, -2], [[0.5, -3], [0.5, -3], [0.5, -3], [0.5, -3]], 0.1, 0.1, true), 0, TOL, "a")
    })

    it("SGD (momentum 0.9, weight decay 0.1): no buffer while frozen; unfrozen, the buffer starts at its first gradient", async () => {
      const r = await run(rt, freezeThenUnfreeze(sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0.1 }), 3, 1))
      expect(r.states.map((s) => Object.keys(s.state))).toEqual([["a"], ["a"], ["a"], ["a", "b"]])
      // b's one update: g = gb + 0.1·b, buffer = g, b ← b − 0.1·g.
      expectClose(r.b, [0.5 - 0.1 * (2 + 0.05), 3 - 0.1 * (-0.25 + 0.3)], 0, TOL, "b")
    })

    it("Adam with five parameters on four step counts (the fused update groups them) matches PyTorch's per-parameter algorithm", async () => {
      // Sizes cover the vec4 path (8, 16, 4) and the scalar one (5, 1). Parameter k is
      // frozen for its first k − 1 steps; gradients change every step.
      const sizes = [8, 5, 16, 1, 4]
      const initial = sizes.map((n, k) => Array.from({ length: n }, (_, i) => Math.sin(1 + i + 7 * k)))
      const gradAt = (k: number, step: number) => Array.from({ length: sizes[k]! }, (_, i) => Math.cos(0.3 * i + k + 1.7 * step))
      const steps = 5
      const frozenFor = [0, 1, 2, 3, 1]
      const out = await run(rt, Effect.gen(function*() {
        const opt = adam({ lr: 0.05, weightDecay: 0.01 })
        let params: Array<Tensor<[number]>> = []
        for (const [k, values] of initial.entries()) params.push(yield* fromArray([sizes[k]!], values))
        let state = yield* opt.init(params)
        for (let s = 0; s < steps; s++) {
          const grads: Array<Tensor<[number]>> = []
          for (let k = 0; k < sizes.length; k++) grads.push(yield* fromArray([sizes[k]!], gradAt(k, s)))
          const live = params.map((p, k) => (s < frozenFor[k]! ? freezeTensor(p) : unfreezeTensor(p)))
          const next = yield* opt.step(live, grads, state)
          params = next.params
          state = next.state
        }
        const values: Array<Array<number>> = []
        for (const p of params) values.push(Array.from(yield* toArray(p)))
        return { values, steps: params.map((_, k) => state.state[String(k)]?.step) }
      }))
      expect(out.steps).toEqual(frozenFor.map((f) => steps - f))
      sizes.forEach((_, k) => {
        const grads = Array.from({ length: steps - frozenFor[k]! }, (_, j) => gradAt(k, j + frozenFor[k]!))
        expectClose(out.values[k]!, adamReference(initial[k]!, grads, 0.05, 0.01, false), 1e-5, 1e-6, `param ${k}`)
      })
    })
  })
}
