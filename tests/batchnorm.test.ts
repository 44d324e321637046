/**
 * BatchNorm1d against PyTorch (../shared/reference/03_batchnorm1d.json) on every device:
 * three train steps (output, batch statistics, running statistics, counter, grads of x,
 * weight and bias with grad_output weighting), then eval runs (output, input grad). Field
 * cases: a fresh BatchNorm1d(3) in eval on [[1, 2, 3]]; a train batch of 1 is a
 * ShapeError naming the path, the shape and the fix, never NaN. Construction checks,
 * labels, state keys and the compile-time shape check.
 */
import type { BatchNorm1dBuffers, Model, ModelOf, OutputOf } from "@effect-nn/layers"
import { BatchNorm1d, ConfigError, Linear, Mode, forward, init, named, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import { ShapeError } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { fromArray, mul, sum, tensorsOf, toArray, valueAndGrad, valueAndGradWithAux } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, expectTypeOf, it } from "vitest"
import type { RefTensor } from "./harness.ts"
import { expectClose, reference, run, runtimes } from "./harness.ts"

const f32 = (t: RefTensor) => fromArray(t.shape, t.data)
/** A reference vector as a rank-1 tensor [C]. */
const vec = (t: RefTensor) => fromArray([t.shape[0]!], t.data)

interface RefStep {
  readonly step: number
  readonly inputs: { readonly x: RefTensor; readonly grad_output: RefTensor }
  readonly expected: {
    readonly output: RefTensor
    readonly batch_mean: RefTensor
    readonly batch_var_biased: RefTensor
    readonly batch_var_unbiased: RefTensor
    readonly running_mean_after: RefTensor
    readonly running_var_after: RefTensor
    readonly num_batches_tracked_after: number
  }
  readonly expected_grads: { readonly x: RefTensor; readonly weight: RefTensor; readonly bias: RefTensor }
}
interface RefEval {
  readonly inputs: { readonly x: RefTensor; readonly grad_output: RefTensor }
  readonly expected: { readonly output: RefTensor }
  readonly expected_grads: { readonly x: RefTensor }
}
interface RefCase {
  readonly name: string
  readonly config: { readonly num_features: number; readonly eps: number; readonly momentum: number; readonly affine: boolean; readonly track_running_stats: boolean }
  readonly initial_state: { readonly weight: RefTensor; readonly bias: RefTensor; readonly running_mean: RefTensor; readonly running_var: RefTensor; readonly num_batches_tracked: number }
  readonly train_steps: ReadonlyArray<RefStep>
  readonly eval: ReadonlyArray<RefEval>
  readonly tolerance: { readonly rtol: number; readonly atol: number }
}
interface RefFile {
  readonly cases: ReadonlyArray<RefCase>
  readonly properties: { readonly train_batch_of_1_raises: boolean; readonly train_batch_of_1_error_message: string }
}

const ref = reference<RefFile>("03_batchnorm1d.json")

/** Runs an Effect expected to fail and returns its error. */
const failureOf = <A, E, R>(e: Effect.Effect<A, E, R>) => Effect.flip(e)

for (const [device, rt] of runtimes()) {
  describe(`BatchNorm1d on ${device}`, () => {
    for (const c of ref.cases) {
      it(`${c.name}: 3 train steps (output, batch stats, running stats, counter, grads), then eval (output, input grad)`, async () => {
        const { rtol, atol } = c.tolerance
        const bn = BatchNorm1d(c.config.num_features, { eps: c.config.eps, momentum: c.config.momentum })
        // The same layer with momentum 1: its running stats after one step are the batch's
        // mean and unbiased variance, which shows the batch statistics the layer used.
        const probe = BatchNorm1d(c.config.num_features, { eps: c.config.eps, momentum: 1 })
        await run(rt, Effect.gen(function*() {
          const weight = yield* vec(c.initial_state.weight)
          const bias = yield* vec(c.initial_state.bias)
          const initialBuffers: BatchNorm1dBuffers<number> = {
            running_mean: yield* vec(c.initial_state.running_mean),
            running_var: yield* vec(c.initial_state.running_var),
            num_batches_tracked: yield* fromArray([], [c.initial_state.num_batches_tracked], "int32")
          }
          let buffers = initialBuffers
          for (const step of c.train_steps) {
            const what = `step ${step.step}`
            const x = yield* f32(step.inputs.x)
            const g = yield* f32(step.inputs.grad_output)
            const params = { x, weight, bias }
            const { grads, aux } = yield* valueAndGradWithAux((p: typeof params) =>
              Effect.map(
                forward(bn, { params: { weight: p.weight, bias: p.bias }, buffers }, p.x, Mode.train),
                (r) => [sum(mul(r.output, g)), r] as const
              )
            )(params)
            expectClose(yield* toArray(aux.output), step.expected.output.data, rtol, atol, `${what} output`)
            expectClose(yield* toArray(grads.x), step.expected_grads.x.data, rtol, atol, `${what} grad x`)
            expectClose(yield* toArray(grads.weight), step.expected_grads.weight.data, rtol, atol, `${what} grad weight`)
            expectClose(yield* toArray(grads.bias), step.expected_grads.bias.data, rtol, atol, `${what} grad bias`)
            expectClose(yield* toArray(aux.buffers.running_mean), step.expected.running_mean_after.data, rtol, atol, `${what} running_mean`)
            expectClose(yield* toArray(aux.buffers.running_var), step.expected.running_var_after.data, rtol, atol, `${what} running_var`)
            expect(Array.from(yield* toArray(aux.buffers.num_batches_tracked)), `${what} num_batches_tracked`).toEqual([step.expected.num_batches_tracked_after])
            expect(aux.buffers.num_batches_tracked.dtype).toBe("int32")
            expect(aux.buffers.num_batches_tracked.dims).toEqual([])
            // The running-stat updates carry no tape; the old buffers are untouched.
            expect(aux.buffers.running_mean.tracked || aux.buffers.running_var.tracked).toBe(false)
            expectClose(yield* toArray(buffers.running_mean), step.step === 1 ? c.initial_state.running_mean.data : c.train_steps[step.step - 2]!.expected.running_mean_after.data, rtol, atol, `${what} old running_mean unchanged`)

            // Batch statistics: mean and unbiased variance through momentum 1; biased = unbiased·(N−1)/N.
            const n = step.inputs.x.shape[0]!
            const probed = yield* forward(probe, { params: { weight, bias }, buffers: initialBuffers }, x, Mode.train)
            const batchMean = yield* toArray(probed.buffers.running_mean)
            const batchVarUnbiased = yield* toArray(probed.buffers.running_var)
            expectClose(batchMean, step.expected.batch_mean.data, rtol, atol, `${what} batch mean`)
            expectClose(batchVarUnbiased, step.expected.batch_var_unbiased.data, rtol, atol, `${what} batch var (unbiased)`)
            expectClose(Array.from(batchVarUnbiased, (v) => (v * (n - 1)) / n), step.expected.batch_var_biased.data, rtol, atol, `${what} batch var (biased)`)

            buffers = aux.buffers
          }

          const model: ModelOf<typeof bn> = { params: { weight, bias }, buffers }
          for (const [i, e] of c.eval.entries()) {
            const x = yield* f32(e.inputs.x)
            const g = yield* f32(e.inputs.grad_output)
            const y = yield* forward(bn, model, x, Mode.eval)
            expect(y.tracked).toBe(false)
            expectClose(yield* toArray(y), e.expected.output.data, rtol, atol, `eval ${i} output`)
            // Input grad of an eval-mode forward: run the module in eval mode on a tracked x.
            const { grads } = yield* valueAndGrad((p: { x: Tensor<unknown> }) =>
              Effect.map(bn.run({ mode: "eval", rng: undefined }, model, p.x, ""), (r) => sum(mul(r.output, g)))
            )({ x })
            expectClose(yield* toArray(grads.x), e.expected_grads.x.data, rtol, atol, `eval ${i} grad x`)
          }
        }))
      })
    }

    it("field case: a fresh BatchNorm1d(3) in eval mode on [[1, 2, 3]] gives [0.999995, 1.999990, 2.999985]", async () => {
      const out = await run(rt, Effect.gen(function*() {
        const bn = BatchNorm1d(3)
        const model = yield* init(bn)
        const x = yield* fromArray([1, 3], [1, 2, 3])
        return Array.from(yield* toArray(yield* forward(bn, model, x, Mode.eval)))
      }))
      expectClose(out, [0.999995, 1.99999, 2.999985], 1e-6, 1e-7, "eval output")
    })

    it("field case: train mode on a [1, 3] batch fails with a ShapeError naming the path, the shape and the fix (never NaN)", async () => {
      expect(ref.properties.train_batch_of_1_raises).toBe(true)
      const errors = await run(rt, Effect.gen(function*() {
        const bn = BatchNorm1d(3)
        const model = yield* init(bn)
        // The batch size is only known at run time here (a literal 1 is a compile error in train mode).
        const rows: number = Number("1")
        const x = yield* fromArray([rows, 3], [1, 2, 3])
        const alone = yield* failureOf(forward(bn, model, x, Mode.train))
        const net = sequential(named("fc", Linear(3, 3)), named("bn1", BatchNorm1d(3)))
        const netModel = yield* init(net)
        const inNet = yield* failureOf(forward(net, netModel, x, Mode.train))
        return { alone, inNet }
      }))
      for (const [e, path] of [[errors.alone, "BatchNorm1d"], [errors.inNet, "bn1"]] as const) {
        expect(e).toBeInstanceOf(ShapeError)
        expect(e._tag).toBe("ShapeError")
        expect(e.message).toContain(`${path}: `)
        expect(e.message).toContain("[1, 3]")
        expect(e.message).toContain("use eval mode or a batch larger than 1")
        expect(e.message).toContain("more than 1 value per channel") // PyTorch's wording
      }
    })

    it("a [2, 3] train batch works and a batch of 1 in eval mode works", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const bn = BatchNorm1d(3)
        const model = yield* init(bn)
        const trained = yield* forward(bn, model, yield* fromArray([2, 3], [1, 2, 3, 3, 2, 1]), Mode.train)
        const evald = yield* forward(bn, { params: model.params, buffers: trained.buffers }, yield* fromArray([1, 3], [1, 2, 3]), Mode.eval)
        return { y: Array.from(yield* toArray(trained.output)), e: Array.from(yield* toArray(evald)) }
      }))
      // Two samples normalise to ∓1 (up to eps) per feature; the middle feature is constant → 0.
      expectClose(r.y, [-1, 0, 1, 1, 0, -1], 1e-4, 1e-5, "train output")
      expect(r.e.every(Number.isFinite)).toBe(true)
    })

    it("a wrong feature count or rank at run time is a ShapeError naming num_features", async () => {
      const e = await run(rt, Effect.gen(function*() {
        const bn = BatchNorm1d(4)
        const model = yield* init(bn)
        const x: Tensor<Array<number>> = yield* fromArray([2, 3], [1, 2, 3, 4, 5, 6])
        return yield* failureOf(forward(bn, model, x, Mode.eval))
      }))
      expect(e).toBeInstanceOf(ShapeError)
      expect(e.message).toContain("BatchNorm1d(4) expects input [N, 4] (num_features 4), got [2, 3]")
    })

    it("affine: false and trackRunningStats: false leave out their state; eval then uses batch statistics", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const bn = BatchNorm1d(2, { affine: false, trackRunningStats: false })
        const model = yield* init(bn)
        const x = yield* fromArray([2, 2], [0, 10, 2, 30])
        const y = yield* forward(bn, model, x, Mode.eval)
        const one = yield* failureOf(forward(bn, model, yield* fromArray([1, 2], [1, 2]), Mode.eval))
        return { model, y: Array.from(yield* toArray(y)), one }
      }))
      expect(tensorsOf(r.model.params)).toEqual([])
      expect(tensorsOf(r.model.buffers)).toEqual([])
      expectClose(r.y, [-1, -1, 1, 1], 1e-4, 1e-5, "eval with batch stats")
      expect(r.one.message).toContain("use a batch larger than 1 or trackRunningStats: true")
    })

    it("initial state: PyTorch's keys in PyTorch's order, ones/zeros/ones/zeros/0", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const model = yield* init(BatchNorm1d(3))
        const all = [...tensorsOf(model.params), ...tensorsOf(model.buffers)]
        const values: Array<readonly [string, ReadonlyArray<number>, string]> = []
        for (const [k, t] of all) values.push([k, Array.from(yield* toArray(t)), t.dtype])
        return values
      }))
      expect(r).toEqual([
        ["weight", [1, 1, 1], "float32"],
        ["bias", [0, 0, 0], "float32"],
        ["running_mean", [0, 0, 0], "float32"],
        ["running_var", [1, 1, 1], "float32"],
        ["num_batches_tracked", [0], "int32"]
      ])
    })
  })
}

describe("BatchNorm1d description", () => {
  it("prints PyTorch's repr and counts parameters and buffers", () => {
    const bn = BatchNorm1d(512)
    expect(bn.label).toBe("BatchNorm1d(512, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)")
    expect(bn.parameterCount).toBe(1024)
    expect(bn.bufferCount).toBe(1025)
    const plain = BatchNorm1d(8, { eps: 0.001, momentum: 0.5, affine: false, trackRunningStats: false })
    expect(plain.label).toBe("BatchNorm1d(8, eps=0.001, momentum=0.5, affine=False, track_running_stats=False)")
    expect(plain.parameterCount).toBe(0)
    expect(plain.bufferCount).toBe(0)
    expect(BatchNorm1d(4, { momentum: 1 }).label).toBe("BatchNorm1d(4, eps=1e-05, momentum=1.0, affine=True, track_running_stats=True)")
  })

  it("refuses invalid arguments at construction with a ConfigError naming the argument and range", () => {
    const cases: ReadonlyArray<readonly [() => unknown, string]> = [
      [() => BatchNorm1d(0), "BatchNorm1d: numFeatures must be a positive integer, got 0"],
      [() => BatchNorm1d(2.5), "BatchNorm1d: numFeatures must be a positive integer, got 2.5"],
      [() => BatchNorm1d(4, { eps: -1 }), "BatchNorm1d: eps must be a finite number ≥ 0, got -1"],
      [() => BatchNorm1d(4, { momentum: 1.5 }), "BatchNorm1d: momentum must be a number in [0, 1], got 1.5"]
    ]
    for (const [make, message] of cases) {
      let caught: unknown
      try {
        make()
      } catch (e) {
        caught = e
      }
      expect(caught).toBeInstanceOf(ConfigError)
      expect((caught as ConfigError).message).toBe(message)
    }
  })

  it("types: [N, C] → [N, C]; a literal feature count other than C is a compile error", () => {
    const bn = BatchNorm1d(512)
    expectTypeOf<OutputOf<typeof bn, [Sym<"B">, 512]>>().toEqualTypeOf<[Sym<"B">, 512]>()
    expectTypeOf<OutputOf<typeof bn, [32, 512]>>().toEqualTypeOf<[32, 512]>()
    expectTypeOf<OutputOf<typeof bn, [1, 512]>>().toEqualTypeOf<[1, 512]>() // valid in eval; train refuses at run time
    expectTypeOf<OutputOf<typeof bn, [32, 256]>>().toEqualTypeOf<
      import("@effect-nn/shape").ShapeMismatch<"BatchNorm1d(512) expects last dim 512 (num_features), got 256 (input [32, 256])">
    >()
    expectTypeOf<OutputOf<typeof bn, [32, 4, 512]>>().toEqualTypeOf<
      import("@effect-nn/shape").ShapeMismatch<"BatchNorm1d(512) expects an input [N, 512], got [32, 4, 512]">
    >()
    expectTypeOf(BatchNorm1d(3, { affine: false }).init).toEqualTypeOf<
      Effect.Effect<Model<{}, BatchNorm1dBuffers<3>>, import("@effect-nn/tensor").DeviceError, import("@effect-nn/tensor").Device | import("@effect-nn/tensor").Rng>
    >()
    // Never run: compile-time checks only.
    const compileOnly = () => {
      // @ts-expect-error Linear(784, 256) then BatchNorm1d(128): 256 ≠ 128
      sequential(Linear(784, 256), BatchNorm1d(128))
      sequential(Linear(784, 256), BatchNorm1d(256), Linear(256, 10))
    }
    expect(typeof compileOnly).toBe("function")
  })
})
