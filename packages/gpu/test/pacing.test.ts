/**
 * The readback pacer on a simulated device (virtual clock, no GPU): a reader that sleeps
 * as told and then waits must not sleep past the device's completion once it has
 * learned, whether it started with a rate far too high (it used to take each oversleep
 * for work and sleep longer every time: epochs of 2.2 s became 5–7 s, the device idle)
 * or far too low.
 */
import { describe, expect, it } from "vitest"
import { Pacer } from "../src/pacing.ts"

/** Map round trip once the work is done (ms). */
const latency = 1.5

/**
 * Runs `reads` rounds of: one submit of `units` taking `units · trueMsPerUnit` ms on the
 * device, then a read that sleeps `sleepBefore` and waits. Returns, per round, the sleep
 * and how long the device sat done before the reader noticed (oversleep, ms).
 */
const simulate = (pacer: Pacer, reads: number, units: number, trueMsPerUnit: number) => {
  let now = 0
  const rounds: Array<{ readonly sleep: number; readonly overslept: number; readonly work: number }> = []
  for (let i = 0; i < reads; i++) {
    pacer.add(units)
    const seq = pacer.submitted(now)
    const work = units * trueMsPerUnit
    const done = now + work
    const sleep = pacer.sleepBefore(seq, now)
    const sleptUntil = sleep > 0 ? now + sleep : 0
    const seen = Math.max(now + sleep, done) + latency
    pacer.observe(seq, seen, sleptUntil, sleep)
    rounds.push({ sleep, overslept: Math.max(0, now + sleep - done), work })
    now = seen + 1
  }
  return rounds
}

describe("Pacer", () => {
  it("from a rate 50× too high: stops oversleeping within a few reads and never drifts up", () => {
    const pacer = new Pacer(true)
    // Teach it a slow device first: reads that really took 50× longer.
    simulate(pacer, 30, 1e6, 5e-5)
    const rounds = simulate(pacer, 40, 1e6, 1e-6) // 1 ms of work per read now
    const late = rounds.slice(10)
    expect(late.every((r) => r.overslept === 0)).toBe(true)
    // Sleeps never grow from one read to the next while the device keeps finishing early.
    for (let i = 1; i < 10; i++) expect(rounds[i]!.sleep).toBeLessThanOrEqual(rounds[i - 1]!.sleep + 1e-9)
  })

  it("from a rate far too low: learns the device and then sleeps part of the work, never past it", () => {
    const pacer = new Pacer(true)
    const rounds = simulate(pacer, 60, 2e7, 1e-5) // 200 ms of work per read
    const late = rounds.slice(20)
    expect(late.every((r) => r.overslept === 0)).toBe(true)
    expect(late.every((r) => r.sleep > 0.2 * r.work && r.sleep <= r.work)).toBe(true)
  })

  it("a disabled pacer never sleeps", () => {
    const pacer = new Pacer(false)
    expect(simulate(pacer, 5, 1e7, 1e-5).every((r) => r.sleep === 0)).toBe(true)
  })
})
