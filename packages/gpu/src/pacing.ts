/**
 * Pacing of readbacks. While a `mapAsync` promise is pending, the `webgpu` package for
 * Node polls Dawn on the main thread at 100% CPU, which on a software adapter (lavapipe)
 * takes a core away from the "GPU" itself (measured: a 130 ms kernel took 190–240 ms
 * when polled from submit, 133 ms after sleeping first). So before waiting on a map the
 * backend sleeps for most of the predicted remaining GPU time.
 *
 * The prediction is a cost model: each dispatch carries a work estimate in abstract
 * units (a matmul FMA is one unit; see the kernels), plus a fixed per-dispatch cost.
 * The GPU is modelled as a queue: a submit starts when both it and the previous submit's
 * work are done. The seconds-per-unit rate is learned from the observed completion times.
 */

/** Fixed units per dispatch (lavapipe: about 20 µs a dispatch). */
export const unitsPerDispatch = 100_000

interface Submitted {
  readonly seq: number
  readonly at: number
  readonly units: number
}

/**
 * Fraction of the predicted remaining time to sleep (the rest is waited for in
 * `settleQuietly`'s short blocking slices, which cost next to no CPU). Half: an
 * overestimate of up to 2× still wakes the reader before the device is done, while
 * sleeping past that leaves the device idle whenever the reader is what feeds it.
 */
const sleepFraction = 0.5
/** Below this many predicted milliseconds, do not sleep at all. */
const minSleepMs = 2
/** Bounds of the learned rate (ms per unit). */
const minMsPerUnit = 1e-9
const maxMsPerUnit = 1e-4
/** Waits shorter than this (ms from the read's submit) teach nothing: latency dominates them. */
const minLearnMs = 3
/** Fixed latency of a map round trip (ms), not attributed to work. */
const mapLatencyMs = 0.5
/**
 * A map that completes within this many ms of the sleep's end (or within
 * `oversleptFraction` of the sleep, if more) says the work was done before the sleep
 * ended: a right prediction leaves (1 − sleepFraction)/sleepFraction of the sleep to
 * wait, while the round trip of a map whose work is done took 0.2–5 ms here.
 */
const oversleptMs = 3
const oversleptFraction = 0.05
/** Submits remembered while nobody reads back. */
const maxQueued = 256

/** Learns the GPU's speed and tells a reader how long to sleep before mapping. */
export class Pacer {
  /** Milliseconds per unit (initial guess: 5 G units/s). */
  private msPerUnit = 2e-7
  private units = 0
  private seq = 0
  private readonly queue: Array<Submitted> = []

  constructor(readonly enabled: boolean) {}

  /** Adds the work of one dispatch to the batch being encoded. */
  add(units: number): void {
    this.units += units + unitsPerDispatch
  }

  /** Records a submit of the batch encoded so far; returns its sequence number. */
  submitted(now: number): number {
    const seq = this.seq++
    if (this.enabled) {
      this.queue.push({ seq, at: now, units: this.units })
      if (this.queue.length > maxQueued) this.queue.shift()
    }
    this.units = 0
    return seq
  }

  /** Predicted completion time (ms, `performance.now` clock) of submits up to `seq` at rate `msPerUnit`. */
  private finish(seq: number, msPerUnit: number): number {
    let done = 0
    for (const s of this.queue) {
      if (s.seq > seq) break
      done = Math.max(done, s.at) + s.units * msPerUnit
    }
    return done
  }

  /** Milliseconds to sleep now before waiting for submit `seq`. */
  sleepBefore(seq: number, now: number): number {
    if (!this.enabled) return 0
    const remaining = this.finish(seq, this.msPerUnit) - now
    return remaining * sleepFraction >= minSleepMs ? remaining * sleepFraction : 0
  }

  /**
   * Learns from submit `seq` completing (being observed) at `at`; `sleptUntil` is when the
   * reader's sleep of `sleptMs` ended (0 and 0 when it did not sleep).
   */
  observe(seq: number, at: number, sleptUntil: number, sleptMs = 0): void {
    if (!this.enabled || this.queue.length === 0 || this.queue[0]!.seq > seq) return
    const last = this.queue.find((s) => s.seq === seq)
    // The rate r at which the model finishes submit `seq` at time `end` (finish is increasing in r).
    const solve = (end: number): number => {
      let lo = 0
      let hi = maxMsPerUnit
      if (this.finish(seq, hi) <= end) return hi
      for (let i = 0; i < 50; i++) {
        const mid = (lo + hi) / 2
        if (this.finish(seq, mid) > end) hi = mid
        else lo = mid
      }
      return (lo + hi) / 2
    }
    if (sleptUntil > 0 && at - sleptUntil < Math.max(oversleptMs, oversleptFraction * sleptMs)) {
      // Done before the sleep ended (the map took no longer than a round trip): the true
      // rate is below the one that ends at `sleptUntil`, by an unknown amount. Learning
      // from `at` instead would take the oversleep for work and make every later sleep
      // longer (epochs of a training loop that reads its loss every 100 steps slowed from
      // 2.2 s to 5 s that way, the device idle while the host slept).
      this.msPerUnit = Math.min(this.msPerUnit, solve(sleptUntil)) * 0.7
    } else if (last !== undefined && at - last.at >= minLearnMs) {
      // A long enough wait that the fixed map latency is negligible: move towards the
      // observed rate, growing by at most a quarter (outliers such as first-use shader
      // compilation, or a slow spell of the host, must not make later reads sleep far too long).
      const observed = solve(at - mapLatencyMs)
      this.msPerUnit = Math.min(1.25 * this.msPerUnit, 0.5 * this.msPerUnit + 0.5 * observed)
    }
    this.msPerUnit = Math.min(maxMsPerUnit, Math.max(minMsPerUnit, this.msPerUnit))
    while (this.queue.length > 0 && this.queue[0]!.seq <= seq) this.queue.shift()
  }
}

/** One 32-bit cell to block on with `Atomics.wait` (nothing ever notifies it). */
const blocker = typeof SharedArrayBuffer === "function" ? new Int32Array(new SharedArrayBuffer(4)) : undefined

/** Shortest and longest blocking slice (ms) between two checks of a pending promise. */
const firstSliceMs = 0.25
const maxSliceMs = 2

/**
 * Waits for `promise` without letting the `webgpu` package busy-poll: while a Dawn
 * promise is pending, that package re-schedules a `setImmediate` that polls Dawn on every
 * turn of the event loop, so an ordinary `await` keeps the main thread at 100% CPU (half
 * of a 2-core machine, taken from lavapipe's workers). Here the thread blocks in
 * `Atomics.wait` for a short slice (0.25 ms, growing to 2 ms), then lets one turn of the
 * event loop run (the package's poll and any other callbacks), until the promise
 * settles. The cost is at most one slice of extra latency. Where blocking is impossible
 * (browsers' main threads, no `SharedArrayBuffer`, `throttle` false) it simply awaits.
 */
export const settleQuietly = async <A>(promise: Promise<A>, throttle: boolean): Promise<A> => {
  if (!throttle || blocker === undefined || typeof setImmediate !== "function") return promise
  let settled = false
  const watched = promise.finally(() => {
    settled = true
  })
  watched.catch(() => undefined)
  let slice = firstSliceMs
  // Let the first poll happen at once: the work may be done already.
  await new Promise<void>((resolve) => setImmediate(resolve))
  while (!settled) {
    Atomics.wait(blocker, 0, 0, slice)
    slice = Math.min(maxSliceMs, slice * 1.5)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  return watched
}
