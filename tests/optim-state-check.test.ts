/**
 * An optimiser step checks, before it touches device memory, that its gradients and state
 * fit the parameters being stepped, and fails with a `ShapeError` that names the
 * parameter's path and both shapes; nothing is allocated or changed by a failed step. A
 * parameter the state has never seen is new (its state starts at that step, as PyTorch
 * creates state lazily); a state entry for a parameter not being stepped is refused.
 */
import type { Optimizer } from "@effect-nn/optim"
import { adam, adamw, sgd } from "@effect-nn/optim"
import { ShapeError } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { Device, fromArray, toArray } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { expectClose, run, runtimes } from "./harness.ts"

const vector = (n: number, offset = 0) => fromArray([n], Array.from({ length: n }, (_, i) => 0.5 + i - offset))

/** The failure of `effect` (which must fail) as a ShapeError's message, with device memory before and after it. */
const failure = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const device = yield* Device
    const before = device.backend.stats().inUse
    const error = yield* Effect.flip(effect)
    return { error, isShapeError: error instanceof ShapeError, message: String((error as { message?: unknown }).message), allocated: device.backend.stats().inUse - before }
  })

for (const [device, rt] of runtimes()) {
  describe(`optimiser state checks on ${device}`, () => {
    /** The cases of one optimiser that keeps per-parameter state. */
    const cases = <S extends { readonly state: Readonly<Record<string, object>> }>(opt: Optimizer<S>) => {
      it(`${opt.name}: state made for a [3] stepped with a [4] fails naming a and both shapes; nothing changes`, async () => {
        const r = await run(rt, Effect.gen(function*() {
          const params3 = { a: (yield* vector(3)) as Tensor<[number]> }
          const first = yield* opt.step(params3, { a: (yield* vector(3, 1)) as Tensor<[number]> }, yield* opt.init(params3))
          const params4 = { a: (yield* vector(4)) as Tensor<[number]> }
          const grads4 = { a: (yield* vector(4, 1)) as Tensor<[number]> }
          const f = yield* failure(opt.step(params4, grads4, first.state))
          return { ...f, a: Array.from(yield* toArray(params4.a)), keys: Object.keys(first.state.state) }
        }))
        expect(r.isShapeError).toBe(true)
        expect(r.message).toContain(`${opt.name}.step`)
        expect(r.message).toMatch(/parameter "a" \((exp_avg|momentum_buffer)\) is float32 \[3\] but the parameter is \[4\]/)
        expect(r.allocated).toBe(0)
        expect(r.a).toEqual([0.5, 1.5, 2.5, 3.5])
        expect(r.keys).toEqual(["a"])
      })

      it(`${opt.name}: state for {a} stepped with {a, b}: b is new, updated as by a fresh optimiser`, async () => {
        const r = await run(rt, Effect.gen(function*() {
          const a = (yield* vector(2)) as Tensor<[number]>
          const b = (yield* vector(3)) as Tensor<[number]>
          const ga = (yield* vector(2, 3)) as Tensor<[number]>
          const gb = (yield* vector(3, 2)) as Tensor<[number]>
          const first = yield* opt.step({ a }, { a: ga }, yield* opt.init({ a }))
          const both = yield* opt.step({ a: first.params.a, b }, { a: ga, b: gb }, first.state)
          const alone = yield* opt.step({ b }, { b: gb }, yield* opt.init({ b }))
          return { keys: Object.keys(both.state.state), b: Array.from(yield* toArray(both.params.b)), alone: Array.from(yield* toArray(alone.params.b)) }
        }))
        expect(r.keys).toEqual(["a", "b"])
        expectClose(r.b, r.alone, 0, 0, "b")
      })

      it(`${opt.name}: state for {a, b} stepped with {a} fails naming b; nothing is allocated`, async () => {
        const r = await run(rt, Effect.gen(function*() {
          const params = { a: (yield* vector(2)) as Tensor<[number]>, b: (yield* vector(3)) as Tensor<[number]> }
          const first = yield* opt.step(params, params, yield* opt.init(params))
          return yield* failure(opt.step({ a: params.a }, { a: params.a }, first.state))
        }))
        expect(r.isShapeError).toBe(true)
        expect(r.message).toContain(`the state has an entry for parameter "b", which is not among the parameters being stepped (a)`)
        expect(r.allocated).toBe(0)
      })
    }
    cases(adam({ lr: 0.1 }))
    cases(adamw({ lr: 0.1 }))
    cases(sgd({ lr: 0.1, momentum: 0.9 }))

    it("gradients that do not fit the parameters fail with a ShapeError naming both (was a DeviceError)", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const opt = adam()
        const params = { a: (yield* vector(3)) as Tensor<[number]> }
        const wrongShape = yield* failure(opt.step(params, { a: (yield* vector(4)) as Tensor<[number]> }, yield* opt.init(params)))
        const s = sgd({ lr: 0.1 })
        const wrongPath = yield* failure(s.step(params, { b: params.a } as unknown as typeof params, yield* s.init(params)))
        return { wrongShape, wrongPath }
      }))
      expect(r.wrongShape.isShapeError).toBe(true)
      expect(r.wrongShape.message).toBe(`Adam.step: gradient "a" [4] does not match parameter "a" [3]`)
      expect(r.wrongShape.allocated).toBe(0)
      expect(r.wrongPath.isShapeError).toBe(true)
      expect(r.wrongPath.message).toBe(`SGD.step: gradient "b" [3] does not match parameter "a" [3]`)
    })
  })
}
