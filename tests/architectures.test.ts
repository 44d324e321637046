/**
 * The tutorial's networks against PyTorch's own (../shared/reference/09_architectures.json):
 * parameter counts, buffer elements, state-dict keys with shapes and dtypes in order, and
 * the exact `print(model)` text. And the tutorial's ResidualBlock written as a custom module
 * and from combinators: same keys, same outputs for the same weights.
 */
import { ConditionalNet, DeepMLP, ResidualBlock, ResidualBlockFromCombinators, ResidualNetwork, ShallowMLP } from "@effect-nn/examples"
import type { AnyModule } from "@effect-nn/layers"
import { Mode, forward, parameterCounts, printModule, stateEntries, summary } from "@effect-nn/layers"
import { Rng, fromArray, makeRandomSource, sym, toArray } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { expectClose, reference, run, runtimes } from "./harness.ts"

interface RefModel {
  readonly name: string
  readonly param_count_trainable: number
  readonly buffer_elements: number
  readonly state_dict: ReadonlyArray<{ key: string; shape: ReadonlyArray<number>; dtype: string }>
  readonly print_model: string
}
const refs = reference<{ models: ReadonlyArray<RefModel> }>("09_architectures.json").models
const byName = (name: string) => refs.find((m) => m.name === name)!

const networks: ReadonlyArray<readonly [string, () => AnyModule]> = [
  ["ShallowMLP", () => ShallowMLP()],
  ["DeepMLP", () => DeepMLP()],
  ["ResidualNetwork", () => ResidualNetwork()],
  ["ConditionalNet", () => ConditionalNet({ useBatchNorm: true, useDropout: true })],
  ["ConditionalNetPlain", () => ConditionalNet({ useBatchNorm: false, useDropout: false })]
]

const [, cpu] = runtimes().find(([name]) => name === "cpu")!

describe("the tutorial's networks match PyTorch's", () => {
  for (const [name, make] of networks) {
    const ref = byName(name)
    it(`${name}: print(model) text`, () => {
      expect(printModule(make())).toBe(ref.print_model)
    })
    it(`${name}: parameter counts and state-dict keys, shapes and dtypes in order`, async () => {
      const net = make()
      const model = await run(cpu, net.init)
      const entries = stateEntries(net, model)
      expect(entries.map((e) => ({ key: e.key, shape: [...e.tensor.dims], dtype: e.tensor.dtype === "int32" ? "int64" : e.tensor.dtype }))).toEqual(
        ref.state_dict.map((e) => ({ key: e.key, shape: [...e.shape], dtype: e.dtype }))
      )
      const counts = parameterCounts(net, model)
      expect(counts.trainable).toBe(ref.param_count_trainable)
      expect(counts.buffers).toBe(ref.buffer_elements)
      expect(net.parameterCount).toBe(ref.param_count_trainable)
      expect(net.bufferCount).toBe(ref.buffer_elements)
    })
    it(`${name}: summary without a device ends in [-1, 10] with the reference total`, () => {
      const s = summary(make(), [2, 784])
      expect(s.output).toEqual([2, 10])
      expect(s.totalParams).toBe(ref.param_count_trainable)
      expect(s.rows[s.rows.length - 1]!.outputShape).toEqual([-1, 10])
    })
  }
})

for (const [device, rt] of runtimes(5)) {
  describe(`ResidualBlock: custom module and combinators agree on ${device}`, () => {
    it("same state-dict keys and shapes; same eval and train outputs and new buffers for the same weights and seed", async () => {
      const custom = ResidualBlock()
      const combined = ResidualBlockFromCombinators()
      const r = await run(rt, Effect.gen(function*() {
        const model = yield* custom.init
        const keysCustom = stateEntries(custom, model).map((e) => `${e.key}:${e.tensor.dims.join("x")}`)
        const keysCombined = stateEntries(combined, model).map((e) => `${e.key}:${e.tensor.dims.join("x")}`)
        const host = makeRandomSource(11).normal(8 * 256, 0, 1)
        const x = yield* fromArray([sym("B", 8), 256], host)
        const evalA = yield* toArray(yield* forward(custom, model, x, Mode.eval))
        const evalB = yield* toArray(yield* forward(combined, model, x, Mode.eval))
        const trainA = yield* forward(custom, model, x, Mode.train).pipe(Effect.provide(Rng.seeded(3)))
        const trainB = yield* forward(combined, model, x, Mode.train).pipe(Effect.provide(Rng.seeded(3)))
        return {
          keysCustom,
          keysCombined,
          evalA,
          evalB,
          trainA: yield* toArray(trainA.output),
          trainB: yield* toArray(trainB.output),
          meanA: yield* toArray(trainA.buffers.bn1.running_mean),
          meanB: yield* toArray(trainB.buffers.bn1.running_mean)
        }
      }))
      expect(r.keysCombined).toEqual(r.keysCustom)
      expect(r.keysCustom[0]).toBe("fc1.weight:128x256")
      expectClose(r.evalB, r.evalA, 1e-6, 1e-6, "eval output")
      expectClose(r.trainB, r.trainA, 1e-6, 1e-6, "train output")
      expectClose(r.meanB, r.meanA, 1e-6, 1e-7, "bn1.running_mean after a train step")
    })
  })
}
