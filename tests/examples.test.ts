/** The numbered examples run and give what their comments say. */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { main } from "../packages/examples/src/01-quick-tour.ts"

describe("examples", () => {
  it("01-quick-tour: logits [4, 10], a finite loss near ln 10, gradients shaped like fc1.weight", async () => {
    const r = await Effect.runPromise(main)
    expect(r.logits).toEqual([4, 10])
    expect(Number.isFinite(r.loss)).toBe(true)
    expect(r.loss).toBeGreaterThan(1)
    expect(r.loss).toBeLessThan(5)
    expect(r.gradShape).toEqual([128, 784])
  })
})
