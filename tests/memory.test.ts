/**
 * Device memory follows program structure: over 1,000 training steps of a small model
 * (after warm-up) the number of live device buffers, of storages in use and of
 * storages owned by arenas stays exactly constant, on every device.
 */
import type { TrainState } from "@effect-nn/examples"
import { trainStep } from "@effect-nn/examples"
import { Linear, ReLU, sequential } from "@effect-nn/layers"
import type { AdamState } from "@effect-nn/optim"
import { adam } from "@effect-nn/optim"
import { Device, disposeReplaced, item, makeRandomSource } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { run, runtimes } from "./harness.ts"

const model = sequential(Linear(8, 16), ReLU(), Linear(16, 4))

for (const [device, rt] of runtimes()) {
  describe(`memory on ${device}`, () => {
    it("live buffers stay constant over 1,000 training steps after warm-up", async () => {
      const rng = makeRandomSource(3)
      const batch = { size: 8, x: rng.normal(64, 0, 1), y: Int32Array.from({ length: 8 }, (_, i) => i % 4) }
      const r = await run(rt, Effect.gen(function*() {
        const dev = yield* Device
        const optimizer = adam({ lr: 1e-2 })
        const step = trainStep(model, optimizer, 8)
        const initial = yield* model.init
        let state: TrainState<typeof initial, AdamState> = { model: initial, opt: yield* optimizer.init(initial.params), lossSum: undefined }
        const snapshot = () => {
          const s = dev.backend.stats()
          return { live: s.liveBuffers, inUse: s.inUse, owned: dev.memory.owned }
        }
        let firstLoss = 0
        for (let i = 0; i < 10; i++) {
          const next = yield* step({ ...state, lossSum: undefined }, batch)
          if (i === 0) firstLoss = yield* item(next.lossSum!)
          yield* disposeReplaced(state, next)
          state = next
        }
        const after = snapshot()
        for (let i = 0; i < 1000; i++) {
          const next = yield* step({ ...state, lossSum: undefined }, batch)
          yield* disposeReplaced(state, next)
          state = next
        }
        const lastLoss = yield* item(state.lossSum!)
        return { after, end: snapshot(), firstLoss, lastLoss }
      }))
      expect(r.end).toEqual(r.after)
      // The steps really trained: the loss on the fixed batch fell.
      expect(r.lastLoss).toBeLessThan(r.firstLoss * 0.5)
    })
  })
}
