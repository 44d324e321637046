/**
 * Ctrl-C that stops training cleanly. `NodeRuntime.runMain` interrupts the main fiber on
 * SIGINT/SIGTERM, which would abandon a training step half done. `runMainWithStop` is
 * the same runner, except that while a `StopSignal` is armed the first signal only
 * *requests* a stop — the training loop sees it after the step in progress, writes a
 * checkpoint and returns — and a second signal interrupts as usual (an escape hatch).
 * Signals within a second of the first count as the same Ctrl-C: a terminal sends SIGINT
 * to every process of its foreground group, and wrappers such as tsx relay their own
 * copy to their child when it does not confirm receipt within 30 ms (which a busy
 * machine misses), so one key press can arrive twice.
 * Source for the runner: `@effect/platform-node-shared`'s `NodeRuntime.runMain`
 * (`Runtime.makeRunMain` with process signal listeners).
 */
import { Runtime } from "effect"

/** A stop request that a training loop polls (`requested()`) and a runner sets. */
export interface StopSignal {
  /** True once a stop was requested. */
  readonly requested: () => boolean
  /** Enables graceful stops until the returned function is called. */
  readonly arm: () => () => void
  /**
   * Requests a stop when armed; true when handled (a first request, or a repeat within
   * `graceMillis` of it), false for "not handled: interrupt".
   */
  readonly request: () => boolean
}

/** Repeats within this many milliseconds of the first request are the same key press. */
export const graceMillis = 1000

/** A fresh, disarmed stop signal. */
export const makeStopSignal = (): StopSignal => {
  let armed = 0
  let requestedAt: number | undefined
  return {
    requested: () => requestedAt !== undefined,
    arm: () => {
      armed++
      let done = false
      return () => {
        if (!done) armed--
        done = true
      }
    },
    request: () => {
      if (armed === 0) return false
      const now = Date.now()
      if (requestedAt === undefined) {
        requestedAt = now
        return true
      }
      return now - requestedAt < graceMillis
    }
  }
}

/**
 * Runs `effect` as the process's main program (as `NodeRuntime.runMain`), turning the
 * first SIGINT/SIGTERM into `stop.request()` while `stop` is armed; `onRequested` is
 * called then (to tell the user). Unhandled signals interrupt the program, and the
 * process exits with the teardown's code.
 */
export const runMainWithStop = (stop: StopSignal, onRequested: () => void) =>
  Runtime.makeRunMain(({ fiber, teardown }) => {
    let receivedSignal = false
    const onSignal = () => {
      const first = !stop.requested()
      if (stop.request()) {
        if (first) onRequested()
        return
      }
      receivedSignal = true
      fiber.interruptUnsafe(fiber.id)
    }
    fiber.addObserver((exit) => {
      process.removeListener("SIGINT", onSignal)
      process.removeListener("SIGTERM", onSignal)
      teardown(exit, (code) => {
        if (receivedSignal || code !== 0) process.exit(code)
      })
    })
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
  })
