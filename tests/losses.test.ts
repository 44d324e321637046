/**
 * Losses against PyTorch (../shared/reference/05_classification_losses.json and
 * 06_mse_loss.json) on every device, plus the cases the reference does not cover: BCE at
 * ±Infinity logits (0 or +Infinity, finite gradients, never NaN), BCE with `posWeight`,
 * and cross-entropy with class weights (with and without label smoothing) against values
 * derived by hand below.
 */
import { binaryCrossEntropyWithLogits, crossEntropy, mseLoss } from "@effect-nn/layers"
import type { Tensor } from "@effect-nn/tensor"
import { fromArray, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, expectTypeOf, it } from "vitest"
import type { RefTensor } from "./harness.ts"
import { expectClose, reference, run, runtimes } from "./harness.ts"

type M = Tensor<[number, number]>
type Tol = { readonly rtol: number; readonly atol: number }

const f32 = (t: RefTensor) => fromArray(t.shape, t.data)
const i32 = (t: RefTensor) => fromArray(t.shape, t.data, "int32")

const noNaN = (values: ArrayLike<number>, what: string) => {
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i]!)) expect.fail(`${what}[${i}] is NaN`)
}

/** softmax of a row, in float64 (for the hand-derived expectations). */
const softmax = (row: ReadonlyArray<number>) => {
  const e = row.map((v) => Math.exp(v))
  const s = e.reduce((a, b) => a + b, 0)
  return e.map((v) => v / s)
}

const losses = reference("05_classification_losses.json").cases
const mseCases = reference("06_mse_loss.json").cases

for (const [device, rt] of runtimes()) {
  describe(`losses on ${device}`, () => {
    for (const c of losses.filter((c) => c.op === "nn.CrossEntropyLoss")) {
      it(`crossEntropy ${c.name} (label smoothing ${c.config.label_smoothing}): loss and grad of the logits`, async () => {
        const tol = c.tolerance as Tol
        const out = await run(rt, Effect.gen(function*() {
          const logits = yield* f32(c.inputs.input)
          const target = (yield* i32(c.inputs.target)) as Tensor<[number], "int32">
          const { value, grads } = yield* valueAndGrad((p: { logits: Tensor<unknown> }) =>
            Effect.sync(() => crossEntropy(p.logits as M, target, { labelSmoothing: c.config.label_smoothing as number }))
          )({ logits })
          return { loss: yield* toArray(value), g: yield* toArray(grads.logits) }
        }))
        expectClose(out.loss, c.expected.loss.data, tol.rtol, tol.atol, "loss")
        expectClose(out.g, c.expected_grads.input.data, tol.rtol, tol.atol, "grad input")
      })
    }

    for (const c of losses.filter((c) => c.op === "nn.BCEWithLogitsLoss")) {
      it(`binaryCrossEntropyWithLogits ${c.name}: loss and grad of the logits`, async () => {
        const tol = c.tolerance as Tol
        const out = await run(rt, Effect.gen(function*() {
          const logits = yield* f32(c.inputs.input)
          const target = yield* f32(c.inputs.target)
          const { value, grads } = yield* valueAndGrad((p: { logits: Tensor<unknown> }) =>
            Effect.sync(() => binaryCrossEntropyWithLogits(p.logits, target))
          )({ logits })
          return { loss: yield* toArray(value), g: yield* toArray(grads.logits) }
        }))
        expectClose(out.loss, c.expected.loss.data, tol.rtol, tol.atol, "loss")
        expectClose(out.g, c.expected_grads.input.data, tol.rtol, tol.atol, "grad input")
      })
    }

    for (const c of mseCases) {
      it(`mseLoss ${c.name}: loss and grads of input and target`, async () => {
        const tol = c.tolerance as Tol
        const reduction = c.config.reduction as "mean" | "sum"
        const out = await run(rt, Effect.gen(function*() {
          const params = { input: yield* f32(c.inputs.input), target: yield* f32(c.inputs.target) }
          const { value, grads } = yield* valueAndGrad((p: typeof params) =>
            Effect.sync(() => mseLoss(p.input, p.target, { reduction }))
          )(params)
          return { loss: yield* toArray(value), gi: yield* toArray(grads.input), gt: yield* toArray(grads.target) }
        }))
        expectClose(out.loss, c.expected.loss.data, tol.rtol, tol.atol, "loss")
        expectClose(out.gi, c.expected_grads.input.data, tol.rtol, tol.atol, "grad input")
        expectClose(out.gt, c.expected_grads.target.data, tol.rtol, tol.atol, "grad target")
      })
    }

    it("mseLoss reduction none keeps the shape: (input − target)²", async () => {
      const out = await run(rt, Effect.gen(function*() {
        const a = yield* fromArray([2, 2], [1, 2, 3, 4])
        const b = yield* fromArray([2, 2], [0, 4, 3, 1.5])
        const l = mseLoss(a, b, { reduction: "none" })
        expectTypeOf(l).toEqualTypeOf<Tensor<[2, 2]>>()
        return { shape: l.dims, v: yield* toArray(l) }
      }))
      expect(out.shape).toEqual([2, 2])
      expectClose(out.v, [1, 4, 0, 6.25], 0, 0)
    })

    // BCE with logits at ±Infinity. ℓ = y·softplus(−x) + (1 − y)·softplus(x):
    //   x = +∞, y = 1 → 0;  x = −∞, y = 0 → 0;  x = +∞, y = 0 → +∞;  x = −∞, y = 1 → +∞;
    //   x = +∞, y = 0.5 → +∞ (the (1 − y)·softplus(x) term);  x = ±3e38 (finite) → 0 or 3e38.
    // Grad of the mean over n = 8: (σ(x) − y)/8 with σ(+∞) = 1, σ(−∞) = 0.
    const infX = [Infinity, -Infinity, Infinity, -Infinity, Infinity, 3e38, -3e38, 3e38]
    const infY = [1, 0, 0, 1, 0.5, 1, 0, 0]
    it("binaryCrossEntropyWithLogits at ±Infinity logits: 0 or +Infinity, finite gradients, never NaN", async () => {
      const out = await run(rt, Effect.gen(function*() {
        const logits = yield* fromArray([8], infX)
        const target = yield* fromArray([8], infY)
        const perElement = binaryCrossEntropyWithLogits(logits, target, { reduction: "none" })
        const { value, grads } = yield* valueAndGrad((p: { logits: Tensor<[8]> }) =>
          Effect.sync(() => binaryCrossEntropyWithLogits(p.logits, target))
        )({ logits })
        const sum = binaryCrossEntropyWithLogits(logits, target, { reduction: "sum" })
        return { each: yield* toArray(perElement), mean: yield* toArray(value), sum: yield* toArray(sum), g: yield* toArray(grads.logits) }
      }))
      noNaN(out.each, "loss")
      noNaN(out.g, "grad")
      expectClose(out.each, [0, 0, Infinity, Infinity, Infinity, 0, 0, Math.fround(3e38)], 1e-6, 0, "per-element loss")
      expect(out.mean[0]).toBe(Infinity)
      expect(out.sum[0]).toBe(Infinity)
      for (const v of out.g) expect(Number.isFinite(v)).toBe(true)
      expectClose(out.g, [0, 0, 1 / 8, -1 / 8, 0.5 / 8, 0, 0, 1 / 8], 1e-6, 0, "grad")
    })

    // posWeight p: ℓ = −[p·y·log σ(x) + (1 − y)·log(1 − σ(x))], ∂ℓ/∂x = (p·y + 1 − y)·σ(x) − p·y
    // (PyTorch's BCEWithLogitsLoss(pos_weight=p) formula), computed here in float64.
    it("binaryCrossEntropyWithLogits with posWeight (number and per-class tensor): loss and grad match the formula", async () => {
      const x = [0.3, -1.2, 2.5, -0.7, 0, 4, -3, 1.1]
      const y = [1, 0, 1, 0.25, 1, 0, 0.5, 1]
      const pw = [2, 0.5, 3, 1.5] // per class of a [2, 4] batch
      const logSig = (v: number) => -(Math.max(-v, 0) + Math.log1p(Math.exp(-Math.abs(v))))
      const sig = (v: number) => 1 / (1 + Math.exp(-v))
      const expected = (p: (i: number) => number) => {
        const l = x.map((v, i) => -(p(i) * y[i]! * logSig(v) + (1 - y[i]!) * logSig(-v)))
        const g = x.map((v, i) => ((p(i) * y[i]! + 1 - y[i]!) * sig(v) - p(i) * y[i]!) / x.length)
        return { loss: l.reduce((a, b) => a + b, 0) / x.length, g }
      }
      const out = await run(rt, Effect.gen(function*() {
        const logits = yield* fromArray([2, 4], x)
        const target = yield* fromArray([2, 4], y)
        const weights = yield* fromArray([4], pw)
        const withNumber = yield* valueAndGrad((p: { logits: Tensor<[2, 4]> }) =>
          Effect.sync(() => binaryCrossEntropyWithLogits(p.logits, target, { posWeight: 2.5 }))
        )({ logits })
        const withTensor = yield* valueAndGrad((p: { logits: Tensor<[2, 4]> }) =>
          Effect.sync(() => binaryCrossEntropyWithLogits(p.logits, target, { posWeight: weights }))
        )({ logits })
        return {
          l1: yield* toArray(withNumber.value),
          g1: yield* toArray(withNumber.grads.logits),
          l2: yield* toArray(withTensor.value),
          g2: yield* toArray(withTensor.grads.logits)
        }
      }))
      const e1 = expected(() => 2.5)
      const e2 = expected((i) => pw[i % 4]!)
      expectClose(out.l1, [e1.loss], 1e-5, 1e-6, "loss (posWeight 2.5)")
      expectClose(out.g1, e1.g, 1e-5, 1e-6, "grad (posWeight 2.5)")
      expectClose(out.l2, [e2.loss], 1e-5, 1e-6, "loss (posWeight per class)")
      expectClose(out.g2, e2.g, 1e-5, 1e-6, "grad (posWeight per class)")
    })

    // posWeight 3 at ±Infinity: x = +∞, y = 1 → 0;  x = −∞, y = 1 → +∞;  x = −∞, y = 0 → 0;
    // x = +∞, y = 0 → +∞. Grad (mean over 4): ((3y + 1 − y)·σ(x) − 3y)/4 = [0, −3/4, 0, 1/4].
    it("binaryCrossEntropyWithLogits with posWeight at ±Infinity: 0 or +Infinity, finite gradients", async () => {
      const out = await run(rt, Effect.gen(function*() {
        const logits = yield* fromArray([4], [Infinity, -Infinity, -Infinity, Infinity])
        const target = yield* fromArray([4], [1, 1, 0, 0])
        const each = binaryCrossEntropyWithLogits(logits, target, { reduction: "none", posWeight: 3 })
        const { grads } = yield* valueAndGrad((p: { logits: Tensor<[4]> }) =>
          Effect.sync(() => binaryCrossEntropyWithLogits(p.logits, target, { posWeight: 3 }))
        )({ logits })
        return { each: yield* toArray(each), g: yield* toArray(grads.logits) }
      }))
      noNaN(out.each, "loss")
      expectClose(out.each, [0, Infinity, 0, Infinity], 0, 0, "per-element loss")
      expectClose(out.g, [0, -3 / 4, 0, 1 / 4], 1e-6, 0, "grad")
    })

    // Cross-entropy with class weights, by hand. C = 3, w = [1, 2, 0.5], targets y = [0, 1, 2]:
    //   row 0: x = [0, 0, 0]        → p = [1/3, 1/3, 1/3],  −log p[y₀] = ln 3
    //   row 1: x = [ln 2, 0, 0]     → p = [1/2, 1/4, 1/4],  −log p[y₁] = ln 4
    //   row 2: x = [0, 0, ln 3]     → p = [1/5, 1/5, 3/5],  −log p[y₂] = ln(5/3)
    // PyTorch's weighted mean: Σ w[yₙ]·ℓₙ / Σ w[yₙ] = (1·ln 3 + 2·ln 4 + 0.5·ln(5/3)) / 3.5;
    // "sum": the numerator; "none": [ln 3, 2·ln 4, 0.5·ln(5/3)].
    // Grad of the mean: row n gets w[yₙ]·(p − onehot(yₙ)) / Σ w[yₙ].
    // With label smoothing ε (PyTorch 1.13, LossNLL.cpp cross_entropy_loss_label_smoothing):
    //   ℓₙ = (1 − ε)·w[yₙ]·(−log p[n, yₙ]) + (ε/C)·Σ_c w_c·(−log p[n, c]), mean = Σₙ ℓₙ / Σₙ w[yₙ];
    //   ∂/∂x[n] of Σ_c w_c·(−log p[n, c]) = p[n]·Σ_c w_c − w, so the grad of the mean is
    //   [(1 − ε)·w[yₙ]·(p − onehot) + (ε/C)·(p·Σw − w)] / Σ w[yₙ].
    const W = [1, 2, 0.5]
    const X = [0, 0, 0, Math.LN2, 0, 0, 0, 0, Math.log(3)]
    const Y = [0, 1, 2]
    const P = [0, 1, 2].map((r) => softmax(X.slice(r * 3, r * 3 + 3).map((v) => Math.fround(v))))
    const wSum = Y.reduce((s, y) => s + W[y]!, 0) // 3.5
    const nll = [Math.log(3), Math.log(4), Math.log(5 / 3)]
    const handCase = (eps: number) => {
      const each = Y.map((y, n) => (1 - eps) * W[y]! * nll[n]! + (eps / 3) * W.reduce((s, w, c) => s - w * Math.log(P[n]![c]!), 0))
      const grad = Y.flatMap((y, n) =>
        P[n]!.map((p, c) => ((1 - eps) * W[y]! * (p - (c === y ? 1 : 0)) + (eps / 3) * (p * 3.5 - W[c]!)) / wSum)
      )
      return { each, sum: each.reduce((a, b) => a + b, 0), mean: each.reduce((a, b) => a + b, 0) / wSum, grad }
    }

    for (const eps of [0, 0.2]) {
      it(`crossEntropy with class weights${eps > 0 ? ` and label smoothing ${eps}` : ""}: mean, sum, none and grad against the hand derivation`, async () => {
        const e = handCase(eps)
        const out = await run(rt, Effect.gen(function*() {
          const logits = yield* fromArray([3, 3], X)
          const target = yield* fromArray([3], Y, "int32")
          const weight = yield* fromArray([3], W)
          const opts = { weight, labelSmoothing: eps }
          const { value, grads } = yield* valueAndGrad((p: { logits: Tensor<[3, 3]> }) =>
            Effect.sync(() => crossEntropy(p.logits, target, opts))
          )({ logits })
          const none = crossEntropy(logits, target, { ...opts, reduction: "none" })
          expectTypeOf(none).toEqualTypeOf<Tensor<[3]>>()
          const sum = crossEntropy(logits, target, { ...opts, reduction: "sum" })
          expectTypeOf(sum).toEqualTypeOf<Tensor<[]>>()
          return { mean: yield* toArray(value), g: yield* toArray(grads.logits), none: yield* toArray(none), sum: yield* toArray(sum) }
        }))
        expectClose(out.mean, [e.mean], 1e-5, 1e-6, "mean")
        expectClose(out.sum, [e.sum], 1e-5, 1e-6, "sum")
        expectClose(out.none, e.each, 1e-5, 1e-6, "none")
        expectClose(out.g, e.grad, 1e-5, 1e-6, "grad")
      })
    }

    // Ignored samples (PyTorch's ignore_index, −100 by default, and here any index outside
    // [0, C)): ℓₙ = 0, gradient 0, and the mean divides by Σ w[yₙ] over the samples kept.
    const ceHand = (x: ReadonlyArray<number>, y: ReadonlyArray<number>, c: number, o: { w?: ReadonlyArray<number>; eps?: number; ignore?: number }) => {
      const w = o.w ?? new Array<number>(c).fill(1)
      const eps = o.eps ?? 0
      const ignore = o.ignore ?? -100
      const wAll = w.reduce((a, b) => a + b, 0)
      const kept = y.map((t) => t >= 0 && t < c && t !== ignore)
      const p = y.map((_, n) => softmax(x.slice(n * c, n * c + c).map((v) => Math.fround(v))))
      const each = y.map((t, n) => (kept[n] ? (1 - eps) * w[t]! * -Math.log(p[n]![t]!) + (eps / c) * w.reduce((s, wc, k) => s - wc * Math.log(p[n]![k]!), 0) : 0))
      const denominator = y.reduce((s, t, n) => s + (kept[n] ? w[t]! : 0), 0)
      const gradOfSum = y.flatMap((t, n) => p[n]!.map((pk, k) => (kept[n] ? (1 - eps) * w[t]! * (pk - (k === t ? 1 : 0)) + (eps / c) * (pk * wAll - w[k]!) : 0)))
      const total = each.reduce((a, b) => a + b, 0)
      return { each, sum: total, mean: total / denominator, gradOfMean: gradOfSum.map((g) => g / denominator), gradOfSum }
    }
    const ceX = [0.5, -1, 2, 1, 0, -0.5, 3, 1, -2, -1, 0.25, 0.75, 2, 2, -3]
    const ceY = [0, -100, 2, 1, 5]
    const ceW = [1, 2, 0.5]
    for (const o of [{}, { eps: 0.2 }, { w: ceW }, { w: ceW, eps: 0.1 }, { ignore: 1 }, { ignore: 1, eps: 0.2, w: ceW }] as const) {
      it(`crossEntropy ignores targets -100, out of range${"ignore" in o ? ` and ignoreIndex ${o.ignore}` : ""} (${JSON.stringify(o)}): mean, sum, none, grads`, async () => {
        const e = ceHand(ceX, ceY, 3, o)
        const out = await run(rt, Effect.gen(function*() {
          const logits = yield* fromArray([5, 3], ceX)
          const target = yield* fromArray([5], ceY, "int32")
          const weight = "w" in o ? yield* fromArray([3], o.w) : undefined
          const opts = { ...(weight === undefined ? {} : { weight }), ...("eps" in o ? { labelSmoothing: o.eps } : {}), ...("ignore" in o ? { ignoreIndex: o.ignore } : {}) }
          const mean = yield* valueAndGrad((p: { logits: Tensor<[5, 3]> }) => Effect.sync(() => crossEntropy(p.logits, target, opts)))({ logits })
          const sum = yield* valueAndGrad((p: { logits: Tensor<[5, 3]> }) => Effect.sync(() => crossEntropy(p.logits, target, { ...opts, reduction: "sum" })))({ logits })
          const none = crossEntropy(logits, target, { ...opts, reduction: "none" })
          return { mean: yield* toArray(mean.value), gMean: yield* toArray(mean.grads.logits), sum: yield* toArray(sum.value), gSum: yield* toArray(sum.grads.logits), none: yield* toArray(none) }
        }))
        expectClose(out.mean, [e.mean], 1e-5, 1e-6, "mean")
        expectClose(out.gMean, e.gradOfMean, 1e-5, 1e-6, "grad of the mean")
        expectClose(out.sum, [e.sum], 1e-5, 1e-6, "sum")
        expectClose(out.gSum, e.gradOfSum, 1e-5, 1e-6, "grad of the sum")
        expectClose(out.none, e.each, 1e-5, 1e-6, "none")
        expect(Array.from(out.none).filter((v) => v === 0).length).toBe("ignore" in o ? 3 : 2)
      })
    }

    it("crossEntropy with every sample ignored: the mean is NaN (as PyTorch), the sum 0, the gradient 0", async () => {
      const out = await run(rt, Effect.gen(function*() {
        const logits = yield* fromArray([2, 3], [1, 2, 3, -1, 0.5, 0])
        const target = yield* fromArray([2], [-100, 3], "int32")
        const mean = yield* valueAndGrad((p: { logits: Tensor<[2, 3]> }) => Effect.sync(() => crossEntropy(p.logits, target)))({ logits })
        const smoothed = crossEntropy(logits, target, { labelSmoothing: 0.1 })
        return { mean: yield* toArray(mean.value), g: yield* toArray(mean.grads.logits), smoothed: yield* toArray(smoothed), sum: yield* toArray(crossEntropy(logits, target, { reduction: "sum" })) }
      }))
      expect(Number.isNaN(out.mean[0])).toBe(true)
      expect(Number.isNaN(out.smoothed[0])).toBe(true)
      expect(Array.from(out.g)).toEqual([0, 0, 0, 0, 0, 0])
      expect(Array.from(out.sum)).toEqual([0])
    })

    it("crossEntropy with all-one weights equals the unweighted loss; reductions sum and none without weights", async () => {
      const out = await run(rt, Effect.gen(function*() {
        const logits = yield* fromArray([2, 3], [1, 2, 3, -1, 0.5, 0])
        const target = yield* fromArray([2], [2, 0], "int32")
        const ones = yield* fromArray([3], [1, 1, 1])
        return {
          plain: yield* toArray(crossEntropy(logits, target)),
          weighted: yield* toArray(crossEntropy(logits, target, { weight: ones })),
          sum: yield* toArray(crossEntropy(logits, target, { reduction: "sum" })),
          none: yield* toArray(crossEntropy(logits, target, { reduction: "none" }))
        }
      }))
      const lse = (r: ReadonlyArray<number>) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0))
      const each = [lse([1, 2, 3]) - 3, lse([-1, 0.5, 0]) + 1]
      expectClose(out.plain, [(each[0]! + each[1]!) / 2], 1e-6, 1e-6, "plain")
      expectClose(out.weighted, out.plain, 1e-6, 1e-7, "weighted by ones")
      expectClose(out.sum, [each[0]! + each[1]!], 1e-6, 1e-6, "sum")
      expectClose(out.none, each, 1e-6, 1e-6, "none")
    })

    it("losses refuse mismatched shapes, a wrong weight shape and label smoothing outside [0, 1] with a ShapeError", async () => {
      const errors = await run(rt, Effect.gen(function*() {
        const logits = yield* fromArray([2, 3], [1, 2, 3, 4, 5, 6])
        const target = yield* fromArray([2], [0, 1], "int32")
        const badWeight = yield* fromArray([2], [1, 1])
        const a = yield* fromArray([2, 3], [1, 2, 3, 4, 5, 6])
        const b = yield* fromArray([3, 2], [1, 2, 3, 4, 5, 6])
        const tagOf = (f: () => unknown) => {
          try {
            f()
            return "no error"
          } catch (e) {
            return (e as { _tag?: string })._tag ?? String(e)
          }
        }
        return [
          tagOf(() => crossEntropy(logits, target, { weight: badWeight as unknown as Tensor<[3]> })),
          tagOf(() => crossEntropy(logits, target, { labelSmoothing: 1.5 })),
          tagOf(() => mseLoss(a as Tensor<unknown>, b as Tensor<unknown>)),
          tagOf(() => binaryCrossEntropyWithLogits(a as Tensor<unknown>, b as Tensor<unknown>))
        ]
      }))
      expect(errors).toEqual(["ShapeError", "ShapeError", "ShapeError", "ShapeError"])
    })
  })
}
