/** The numbered examples run and give what their comments say. */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { main } from "../packages/examples/src/01-quick-tour.ts"
import { main as trainingLoop } from "../packages/examples/src/02-training-loop.ts"

describe("examples", () => {
  it("01-quick-tour: logits [4, 10], a finite loss near ln 10, gradients shaped like fc1.weight", async () => {
    const r = await Effect.runPromise(main)
    expect(r.logits).toEqual([4, 10])
    expect(Number.isFinite(r.loss)).toBe(true)
    expect(r.loss).toBeGreaterThan(1)
    expect(r.loss).toBeLessThan(5)
    expect(r.gradShape).toEqual([128, 784])
  })

  it("02-training-loop: XOR learned, storages in use flat from step 10 to the last", async () => {
    const r = await Effect.runPromise(trainingLoop(300))
    expect(r.first).toBeGreaterThan(0.5)
    expect(r.last).toBeLessThan(0.01)
    expect(r.predictions).toEqual([0, 1, 1, 0])
    expect(r.inUse.atEnd).toBe(r.inUse.after10)
  })
})
