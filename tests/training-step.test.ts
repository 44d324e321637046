/**
 * The shape of a training step on the device: one submit a step (forward, backward and
 * the update in one command buffer), a constant number of dispatches, no bind group
 * created once warm; device memory flat across epochs; and a batch gathered from the
 * training set resident on the device equal, bit for bit, to the host loader's.
 */
import type { Dataset } from "@effect-nn/data"
import { loader } from "@effect-nn/data"
import type { TrainState } from "@effect-nn/examples"
import { ResidualNetwork, ShallowMLP, residentBatch, residentDataset, trainEpoch, trainStep } from "@effect-nn/examples"
import type { AnyModule, ModelOf } from "@effect-nn/layers"
import type { AdamState } from "@effect-nn/optim"
import { adam } from "@effect-nn/optim"
import type { Rng } from "@effect-nn/tensor"
import { Device, dispose, disposeReplaced, item, toArray } from "@effect-nn/tensor"
import { Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { run, runtimes } from "./harness.ts"

/** A small MNIST-shaped dataset (deterministic bytes). */
const dataset = (count: number): Dataset => ({
  count,
  features: 784,
  images: Uint8Array.from({ length: count * 784 }, (_, i) => (i * 2654435761) >>> 24),
  labels: Uint8Array.from({ length: count }, (_, i) => (i * 7) % 10)
})

/** The tutorial networks need at most the Rng (dropout), which the runtimes provide. */
const runAny = <A>(rt: Parameters<typeof run>[0], effect: Effect.Effect<A, unknown, unknown>): Promise<A> => run(rt, effect as Effect.Effect<A, unknown, Device | Rng>)

const networks: ReadonlyArray<readonly [string, () => AnyModule]> = [["ShallowMLP", () => ShallowMLP()], ["ResidualNetwork", () => ResidualNetwork()]]

for (const [device, rt] of runtimes()) {
  describe(`training steps on ${device}`, () => {
    for (const [name, make] of networks) {
      it(`${name}: ${device === "webgpu" ? "exactly one submit a step, " : ""}constant dispatches, no new bind groups once warm`, async () => {
        const r = await runAny(rt, Effect.gen(function*() {
          const dev = yield* Device
          const data = dataset(256)
          const resident = yield* residentDataset(data)
          expect(resident).toBeDefined()
          const module = make()
          const optimizer = adam({ lr: 1e-3 })
          const step = trainStep(module, optimizer, 784, resident)
          const model = (yield* module.init) as ModelOf<AnyModule>
          let state: TrainState<ModelOf<AnyModule>, AdamState> = { model, opt: yield* optimizer.init(model.params), lossSum: undefined }
          const batch = (i: number) => {
            const indices = Int32Array.from({ length: 64 }, (_, k) => (i * 64 + k * 5) % data.count)
            return { size: 64, x: new Float32Array(0), y: new Int32Array(0), indices }
          }
          const counts: Array<{ submits: number; dispatches: number; groups: number | undefined }> = []
          for (let i = 0; i < 16; i++) {
            const s = dev.backend.stats() as ReturnType<Device["Service"]["backend"]["stats"]> & { bindGroupsCreated?: number }
            counts.push({ submits: s.submits, dispatches: s.dispatches, groups: s.bindGroupsCreated })
            const next = yield* step({ ...state, lossSum: undefined }, batch(i))
            yield* disposeReplaced(state, next)
            state = next
          }
          const loss = yield* item(state.lossSum!)
          yield* dispose(state)
          return { counts, loss }
        }))
        expect(Number.isFinite(r.loss)).toBe(true)
        const per = r.counts.slice(1).map((c, i) => ({ submits: c.submits - r.counts[i]!.submits, dispatches: c.dispatches - r.counts[i]!.dispatches }))
        // After warm-up (the first steps create pipelines, buffers and bind groups; the pool
        // settles parameters into two alternating sets of buffers within about 7 steps):
        for (const p of per.slice(4)) {
          if (device === "webgpu") expect(p.submits).toBe(1)
          expect(p.dispatches).toBe(per[4]!.dispatches)
        }
        const groups = r.counts.map((c) => c.groups)
        if (groups[8] !== undefined) expect(groups[groups.length - 1]).toBe(groups[8])
      })
    }

    it("ResidualNetwork: live and peak device memory flat across epochs", async () => {
      const r = await runAny(rt, Effect.gen(function*() {
        const dev = yield* Device
        const data = dataset(320)
        const resident = yield* residentDataset(data)
        const module = ResidualNetwork()
        const optimizer = adam({ lr: 1e-3 })
        const model = (yield* module.init) as ModelOf<AnyModule>
        let state: TrainState<ModelOf<AnyModule>, AdamState> = { model, opt: yield* optimizer.init(model.params), lossSum: undefined }
        const after: Array<{ live: number; peak: number; inUse: number }> = []
        for (let epoch = 1; epoch <= 3; epoch++) {
          const result = yield* trainEpoch(module, optimizer, data, state, { batchSize: 64, seed: 1, epoch, ...(resident === undefined ? {} : { resident }), logEvery: 2 })
          if (result.state.lossSum !== undefined) yield* dispose(result.state.lossSum)
          state = { ...result.state, lossSum: undefined }
          const s = dev.backend.stats()
          after.push({ live: s.liveBytes, peak: s.peakBytes, inUse: s.inUse })
        }
        return after
      }))
      expect(r[2]).toEqual(r[1])
    })

    it("a batch gathered from the resident training set equals the host loader's, bit for bit", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const dev = yield* Device
        const data = dataset(150)
        const resident = (yield* residentDataset(data))!
        const host = yield* Stream.runCollect(loader(data, { batchSize: 64, shuffle: true, seed: 3, epoch: 2, dropLast: false }))
        const out: Array<{ x: Float32Array; y: Int32Array; hx: Float32Array; hy: Int32Array }> = []
        for (const b of host) {
          const { x, y } = residentBatch(resident, dev, b.indices)
          out.push({ x: (yield* toArray(x)) as Float32Array, y: (yield* toArray(y)) as Int32Array, hx: b.x, hy: b.y })
        }
        return out
      }))
      expect(r.length).toBe(3)
      for (const b of r) {
        expect(Array.from(b.x)).toEqual(Array.from(b.hx))
        expect(Array.from(b.y)).toEqual(Array.from(b.hy))
      }
    })
  })
}
