/**
 * The uniform ring: per-dispatch scalar parameters (sizes, strides, alpha, Adam's
 * hyperparameters) without a buffer per dispatch. Each dispatch takes one 256-byte slot,
 * bound at its fixed offset (see `pipelines.ts` for why not a dynamic offset); slots are
 * taken from 0 in each batch, filled in a CPU-side mirror, and the used prefix is written
 * with ONE `queue.writeBuffer` right before the batch is submitted.
 * Queue order makes reuse safe: the write for batch N+1 is queued after batch N's
 * submit, so batch N still sees its own values. When the ring is full the backend
 * submits early and starts over.
 */
import { DeviceError } from "@effect-nn/tensor"
import { BufferUsage } from "./flags.ts"

/** Bytes of one slot (WebGPU's default `minUniformBufferOffsetAlignment` is 256). */
export const slotBytes = 256

/** Writes the 32-bit words of one slot; word indices follow the WGSL struct layout. */
export interface UniformWriter {
  /** Stores an unsigned 32-bit integer at word `index`. */
  u32(index: number, value: number): void
  /** Stores a signed 32-bit integer at word `index`. */
  i32(index: number, value: number): void
  /** Stores a float32 at word `index`. */
  f32(index: number, value: number): void
}

/** A ring of uniform slots in one `GPUBuffer` with a CPU-side mirror. */
export class UniformRing implements UniformWriter {
  readonly buffer: GPUBuffer
  /** Bytes of the ring's GPU buffer. */
  readonly bytes: number
  private readonly mirror: ArrayBuffer
  private readonly words: Uint32Array
  private readonly ints: Int32Array
  private readonly floats: Float32Array
  private used = 0
  private base = 0

  /**
   * @param device where the ring buffer lives
   * @param slots number of 256-byte slots (dispatches per submit before an early flush)
   * @param alignment the device's `minUniformBufferOffsetAlignment` (≤ 256)
   */
  constructor(device: GPUDevice, readonly slots: number, alignment: number) {
    if (alignment > slotBytes) throw new DeviceError({ reason: `minUniformBufferOffsetAlignment ${alignment} exceeds the ring's ${slotBytes}-byte slots` })
    this.bytes = slots * slotBytes
    this.buffer = device.createBuffer({ size: this.bytes, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST, label: "uniform-ring" })
    this.mirror = new ArrayBuffer(this.bytes)
    this.words = new Uint32Array(this.mirror)
    this.ints = new Int32Array(this.mirror)
    this.floats = new Float32Array(this.mirror)
  }

  /** True when no slot is left for another dispatch. */
  get full(): boolean {
    return this.used >= this.slots
  }

  /** Slots taken since the last `upload`. */
  get usedSlots(): number {
    return this.used
  }

  /**
   * Takes the next slot, zeroes it, and makes this writer point at it. Returns the slot's
   * byte offset in the ring. The caller checks `full` first.
   */
  take(): number {
    const slot = this.used++
    this.base = slot * (slotBytes / 4)
    this.words.fill(0, this.base, this.base + slotBytes / 4)
    return slot * slotBytes
  }

  u32(index: number, value: number): void {
    this.words[this.base + index] = value >>> 0
  }
  i32(index: number, value: number): void {
    this.ints[this.base + index] = value | 0
  }
  f32(index: number, value: number): void {
    this.floats[this.base + index] = value
  }

  /** Writes the used slots to the GPU buffer (one `writeBuffer`) and empties the ring. */
  upload(queue: GPUQueue): void {
    if (this.used === 0) return
    queue.writeBuffer(this.buffer, 0, this.mirror, 0, this.used * slotBytes)
    this.used = 0
  }
}
