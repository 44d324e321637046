/**
 * Optional GPU-time profiling by kernel (for benchmarks, not for training): with
 * `profile: true` every dispatch gets its own compute pass whose start and end are
 * written to a timestamp query set (the `timestamp-query` feature). At each submit the
 * timestamps are resolved into a buffer and read back asynchronously; `report()` waits
 * for them and returns the summed nanoseconds per kernel key. A pass per dispatch adds
 * some cost of its own, so the totals are an upper bound on each kernel's time.
 */
import { BufferUsage, MapModeRead } from "./flags.ts"

/** Timestamps per query set (two per dispatch). */
const capacity = 4096

/** GPU time and count of one kernel key. */
export interface KernelTime {
  readonly key: string
  readonly dispatches: number
  readonly ms: number
}

/** Collects per-dispatch GPU times by kernel key. */
export class Profiler {
  private readonly querySet: GPUQuerySet
  private readonly resolve: GPUBuffer
  private keys: Array<string> = []
  private readonly pending: Array<Promise<void>> = []
  private readonly totals = new Map<string, { dispatches: number; ns: number }>()

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: "timestamp", count: capacity })
    this.resolve = device.createBuffer({ size: capacity * 8, usage: BufferUsage.COPY_SRC | 0x0200 /* QUERY_RESOLVE */ })
  }

  /** True when the query set has no room for another dispatch in this batch. */
  get full(): boolean {
    return this.keys.length * 2 + 2 > capacity
  }

  /** Timestamp writes for the next dispatch (of kernel `key`). */
  writes(key: string): GPUComputePassTimestampWrites {
    const i = this.keys.length
    this.keys.push(key)
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 }
  }

  /** Encodes the resolve of this batch's timestamps (call before `finish`). */
  encodeResolve(encoder: GPUCommandEncoder): (() => void) | undefined {
    const n = this.keys.length
    if (n === 0) return undefined
    const keys = this.keys
    this.keys = []
    const bytes = n * 16
    const staging = this.device.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST })
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolve, 0)
    encoder.copyBufferToBuffer(this.resolve, 0, staging, 0, bytes)
    return () => {
      this.pending.push(staging.mapAsync(MapModeRead).then(() => {
        const t = new BigUint64Array(staging.getMappedRange().slice(0))
        for (let i = 0; i < n; i++) {
          const ns = Number(t[2 * i + 1]! - t[2 * i]!)
          const entry = this.totals.get(keys[i]!) ?? { dispatches: 0, ns: 0 }
          entry.dispatches++
          entry.ns += ns > 0 && ns < 1e10 ? ns : 0
          this.totals.set(keys[i]!, entry)
        }
        staging.destroy()
      }, () => {
        // The device was destroyed (or lost) before the timestamps came back: nothing to report.
        staging.destroy()
      }))
    }
  }

  /** Waits for every submitted batch's timestamps; kernel times, slowest first. */
  async report(): Promise<ReadonlyArray<KernelTime>> {
    await Promise.all(this.pending.splice(0))
    return [...this.totals].map(([key, e]) => ({ key, dispatches: e.dispatches, ms: e.ns / 1e6 })).sort((a, b) => b.ms - a.ms)
  }

  /** Forgets the totals so far. */
  reset(): void {
    this.totals.clear()
  }

  /** Releases the query set and buffers. */
  destroy(): void {
    this.querySet.destroy()
    this.resolve.destroy()
  }
}
