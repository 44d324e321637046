/**
 * Command batching. Kernels encode into one pending `GPUCommandEncoder`, all dispatches
 * of a batch in one shared compute pass: in WebGPU each dispatch is its own usage scope,
 * so a dispatch sees the storage writes of the dispatches before it (Dawn inserts the
 * barriers). The pass is ended only for copies (readbacks) and at submit. Nothing is
 * submitted per op: `submit` runs at `flush`, at a readback, before an upload into a
 * buffer the batch references, and when the uniform ring is full.
 *
 * Each batch is wrapped in error scopes (validation, out-of-memory, internal), pushed
 * when its first command is encoded and popped right after its submit; their results go
 * to `Health`.
 */
import { Health, scopeFilters } from "./health.ts"
import type { Pacer } from "./pacing.ts"
import type { PooledBuffer } from "./pool.ts"
import type { Profiler } from "./profile.ts"
import type { UniformRing } from "./uniforms.ts"

/** The pending command batch of one device. */
export class Batches {
  private encoder: GPUCommandEncoder | null = null
  private pass: GPUComputePassEncoder | null = null
  /** Identifies the pending batch; buffers it references carry this epoch. */
  private epoch = 0
  /** Command buffers submitted so far. */
  submits = 0
  /** Per-dispatch timestamps, when profiling. */
  profiler: Profiler | undefined = undefined

  constructor(
    private readonly device: GPUDevice,
    private readonly ring: UniformRing,
    private readonly health: Health,
    private readonly pacer: Pacer
  ) {}

  private begin(): GPUCommandEncoder {
    if (this.encoder === null) {
      for (const filter of scopeFilters) this.device.pushErrorScope(filter)
      this.encoder = this.device.createCommandEncoder()
    }
    return this.encoder
  }

  /** The batch's compute pass (begun on demand). */
  computePass(): GPUComputePassEncoder {
    if (this.pass === null) this.pass = this.begin().beginComputePass()
    return this.pass
  }

  /**
   * A compute pass of its own for one dispatch of kernel `key`, its start and end
   * timestamped by the profiler (profiling only).
   */
  timedPass(profiler: Profiler, key: string): GPUComputePassEncoder {
    const encoder = this.copyEncoder()
    this.pass = encoder.beginComputePass({ timestampWrites: profiler.writes(key) })
    return this.pass
  }

  /** The batch's encoder with no pass open, for copies. */
  copyEncoder(): GPUCommandEncoder {
    const encoder = this.begin()
    if (this.pass !== null) {
      this.pass.end()
      this.pass = null
    }
    return encoder
  }

  /** Marks `buffer` as referenced by the pending batch. */
  touch(buffer: PooledBuffer): void {
    buffer.epoch = this.epoch
  }

  /** True when the pending (unsubmitted) batch references `buffer`. */
  references(buffer: PooledBuffer): boolean {
    return this.encoder !== null && buffer.epoch === this.epoch
  }

  /** True when commands are waiting to be submitted. */
  get pending(): boolean {
    return this.encoder !== null
  }

  /**
   * Submits the pending batch, if any: ends the pass, writes the uniform ring (one
   * `writeBuffer`), submits, pops the batch's error scopes. Returns the pacing sequence
   * number of the submit, or -1 when nothing was pending.
   */
  submit(): number {
    const encoder = this.encoder
    if (encoder === null) return -1
    if (this.pass !== null) {
      this.pass.end()
      this.pass = null
    }
    const afterSubmit = this.profiler?.encodeResolve(encoder)
    const commands = encoder.finish()
    this.encoder = null
    this.epoch++
    this.ring.upload(this.device.queue)
    this.device.queue.submit([commands])
    this.submits++
    afterSubmit?.()
    for (let i = 0; i < scopeFilters.length; i++) this.health.watch(this.device.popErrorScope())
    return this.pacer.submitted(performance.now())
  }
}
