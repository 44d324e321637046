/** Ctrl-C handling of `train`: the stop signal's states and how the stop point is described. */
import { graceMillis, makeStopSignal, progressPoint } from "@effect-nn/examples"
import { describe, expect, it, vi } from "vitest"

describe("makeStopSignal", () => {
  it("is not handled while disarmed; armed, the first request and repeats within the grace period are", () => {
    vi.useFakeTimers()
    try {
      const stop = makeStopSignal()
      expect(stop.request()).toBe(false)
      expect(stop.requested()).toBe(false)
      const disarm = stop.arm()
      expect(stop.request()).toBe(true)
      expect(stop.requested()).toBe(true)
      vi.advanceTimersByTime(graceMillis - 1)
      expect(stop.request()).toBe(true)
      vi.advanceTimersByTime(2)
      // A second Ctrl-C after the grace period: not handled, the runner interrupts.
      expect(stop.request()).toBe(false)
      disarm()
      disarm()
      expect(stop.request()).toBe(false)
    } finally {
      vi.useRealTimers()
    }
  })
})

describe("progressPoint", () => {
  it("names the stop point: before the first step, at an epoch's end, or after a step", () => {
    expect(progressPoint({ epoch: 1, batch: 0, globalStep: 0 })).toBe("before the first step")
    expect(progressPoint({ epoch: 3, batch: 0, globalStep: 64 })).toBe("at the end of epoch 2")
    expect(progressPoint({ epoch: 2, batch: 5, globalStep: 37 })).toBe("after step 5 of epoch 2")
  })
})
