/**
 * Finite-difference gradient checks: every differentiable op, composed, on every device.
 * Central differences in float32 with step 1e-3 on small, well-conditioned inputs.
 */
import type { Tensor } from "@effect-nn/tensor"
import { add, batchNormTrain, crossEntropy, div, dropout, exp, fromArray, linear, log, logSoftmax, mean, mul, neg, relu, reshape, scale, sqrt, square, sub, sum, toArray, valueAndGrad } from "@effect-nn/tensor"
import { makeRandomSource } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, it } from "vitest"
import { expectClose, run, runtimes } from "./harness.ts"

type P = Record<string, Tensor<unknown>>
interface Case {
  readonly name: string
  readonly shapes: Record<string, ReadonlyArray<number>>
  /** Values are drawn in [lo, hi]. */
  readonly range?: readonly [number, number]
  readonly f: (p: P) => Tensor<[]>
}

const t2 = (t: Tensor<unknown>) => t as Tensor<[number, number]>

const cases: ReadonlyArray<Case> = [
  { name: "linear + relu + cross-entropy (an MLP's loss)", shapes: { x: [3, 4], w1: [5, 4], b1: [5], w2: [3, 5], b2: [3] }, f: (p) => {
    const h = relu(linear(t2(p["x"]!), t2(p["w1"]!), p["b1"]! as Tensor<[number]>))
    return crossEntropy(linear(h, t2(p["w2"]!), p["b2"]! as Tensor<[number]>), targets!)
  } },
  { name: "broadcast add, sub, mul, div", shapes: { a: [3, 4], b: [4], c: [1, 4] }, range: [0.5, 1.5], f: (p) => sum(div(mul(sub(add(p["a"]!, p["b"]!), p["c"]!), p["a"]!), p["b"]!)) },
  { name: "exp, log, sqrt, square, neg, scale, mean", shapes: { a: [2, 3] }, range: [0.5, 1.5], f: (p) => mean(neg(scale(add(square(sqrt(p["a"]!)), log(exp(p["a"]!))), 0.7))) },
  { name: "log-softmax weighted", shapes: { a: [2, 5], w: [2, 5] }, f: (p) => sum(mul(logSoftmax(p["a"]!), p["w"]!)) },
  { name: "reshape", shapes: { a: [2, 6] }, f: (p) => sum(square(reshape(p["a"]!, [3, 4]))) },
  { name: "linear without bias + cross-entropy (fused kernels)", shapes: { x: [3, 4], w: [3, 4] }, f: (p) => crossEntropy(linear(t2(p["x"]!), t2(p["w"]!)), targets!) },
  { name: "batch norm, train mode (fused forward and backward)", shapes: { x: [5, 3], w: [3], b: [3], c: [5, 3] }, range: [0.2, 1.5], f: (p) => {
    const y = batchNormTrain(p["x"]!, p["w"]!, p["b"]!, 1e-5).output
    return sum(mul(square(y), p["c"]!))
  } },
  { name: "batch norm without affine", shapes: { x: [4, 2], c: [4, 2] }, range: [0.2, 1.5], f: (p) => sum(mul(square(batchNormTrain(p["x"]!, undefined, undefined, 1e-5).output), p["c"]!)) },
  { name: "dropout (fused, seeded)", shapes: { a: [4, 6], c: [4, 6] }, f: (p) => sum(mul(square(dropout(p["a"]!, 0.4, 11)), p["c"]!)) }
]

let targets: Tensor<[number], "int32"> | undefined

for (const [device, rt] of runtimes()) {
  describe(`finite-difference gradients on ${device}`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const rng = makeRandomSource(7)
        const [lo, hi] = c.range ?? [-1, 1]
        const host: Record<string, Float32Array> = {}
        for (const [k, s] of Object.entries(c.shapes)) host[k] = rng.uniform(s.reduce((a, b) => a * b, 1), lo, hi)
        const build = (h: Record<string, Float32Array>) =>
          Effect.gen(function*() {
            const p: P = {}
            for (const [k, s] of Object.entries(c.shapes)) p[k] = yield* fromArray(s, h[k]!)
            return p
          })
        const lossAt = (h: Record<string, Float32Array>) => Effect.flatMap(build(h), (p) => Effect.map(toArray(c.f(p)), (a) => a[0]!))
        const analytic = await run(rt, Effect.gen(function*() {
          targets = yield* fromArray([3], [0, 2, 1], "int32")
          const p = yield* build(host)
          const { grads } = yield* valueAndGrad((q: P) => Effect.sync(() => c.f(q)))(p)
          const out: Record<string, Float32Array> = {}
          for (const k of Object.keys(c.shapes)) out[k] = yield* toArray(grads[k]!)
          return out
        }))
        const h = 1e-3
        for (const k of Object.keys(c.shapes)) {
          const numeric = new Float32Array(host[k]!.length)
          for (let i = 0; i < numeric.length; i++) {
            const plus = { ...host, [k]: Float32Array.from(host[k]!) }
            const minus = { ...host, [k]: Float32Array.from(host[k]!) }
            plus[k]![i]! += h
            minus[k]![i]! -= h
            const [fp, fm] = await run(rt, Effect.all([lossAt(plus), lossAt(minus)]))
            numeric[i] = (fp - fm) / (2 * h)
          }
          expectClose(analytic[k]!, numeric, 2e-2, 2e-3, `d/d${k}`)
        }
      })
    }
  })
}
