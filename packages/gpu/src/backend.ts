/**
 * `WebGpuBackend`: the `Backend` of `@effect-nn/tensor` on a WebGPU device.
 *
 * - Memory: storages are pooled `GPUBuffer`s (see `pool.ts`); `release` returns a buffer
 *   to the pool, `destroy` destroys every buffer and the device.
 * - Work: kernels encode into one pending command batch (see `batches.ts`); nothing is
 *   submitted per op. `flush` submits; `read` encodes a copy into a mapped staging
 *   buffer, submits, sleeps for most of the predicted GPU time (see `pacing.ts`) and maps.
 * - Uploads: `queue.writeBuffer` runs before the still-unsubmitted batch, so an upload
 *   into a pooled buffer that the batch references submits the batch first.
 * - Errors: requests over the binding limit throw `DeviceError` before anything is
 *   encoded; GPU errors and device loss make every later `read` reject (see `health.ts`).
 */
import { type AdamHyper, type Backend, type BinaryOp, DeviceError, type DType, type MatmulSpec, type MemoryStats, type Storage, type UnaryOp } from "@effect-nn/tensor"
import { Batches } from "./batches.ts"
import { BufferUsage, MapModeRead } from "./flags.ts"
import { Health } from "./health.ts"
import { adam } from "./kernels/adam.ts"
import { argmax } from "./kernels/argmax.ts"
import { axpy } from "./kernels/axpy.ts"
import { bceWithLogits } from "./kernels/bce.ts"
import { binary } from "./kernels/binary.ts"
import { cast } from "./kernels/cast.ts"
import { concatColumns, sliceColumns } from "./kernels/columns.ts"
import type { GpuStorage, KernelContext, MatmulVariant } from "./kernels/context.ts"
import { dropoutMask } from "./kernels/dropout.ts"
import { fill } from "./kernels/fill.ts"
import { logSoftmax, logSoftmaxBackward } from "./kernels/log-softmax.ts"
import { matmul } from "./kernels/matmul.ts"
import { pick, pickBackward } from "./kernels/pick.ts"
import { reduce } from "./kernels/reduce.ts"
import { reluBackward } from "./kernels/relu-backward.ts"
import { unary } from "./kernels/unary.ts"
import { checkBindingSize, elementBytes } from "./limits.ts"
import { Pacer } from "./pacing.ts"
import type { KernelSpec } from "./pipelines.ts"
import { Pipelines } from "./pipelines.ts"
import { BufferPool, MemoryCounters } from "./pool.ts"
import { UniformRing, type UniformWriter } from "./uniforms.ts"

/** How a `WebGpuBackend` is set up (see `acquireWebGpu` for the user-facing options). */
export interface WebGpuBackendConfig {
  /** Human-readable adapter description. */
  readonly description: string
  /** Effective largest binding in bytes (a multiple of 4). */
  readonly maxBindingBytes: number
  /** True when the device was created with the `subgroups` feature. */
  readonly subgroups: boolean
  /** The matmul kernel to use. */
  readonly matmulVariant: MatmulVariant
  /** Sleep for the predicted GPU time before mapping a readback. */
  readonly pacing: boolean
  /** Uniform slots per batch before an early submit (default 1024). */
  readonly uniformSlots?: number
  /**
   * Reuse released buffers (default true). With false, every released storage is
   * destroyed after the pending work is submitted — slow, for tests that compare results
   * with and without buffer reuse.
   */
  readonly pool?: boolean
}

/** Counters beyond `MemoryStats`, for tests and benchmarks. */
export interface WebGpuStats extends MemoryStats {
  /** Compute pipelines compiled so far. */
  readonly pipelines: number
  /** Bind groups in the cache. */
  readonly bindGroups: number
  /** Bytes held by free pooled buffers. */
  readonly pooledBytes: number
}

let nextStorageId = 0

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The WebGPU implementation of `Backend`. Create it with `acquireWebGpu`. */
export class WebGpuBackend implements Backend, KernelContext {
  readonly kind = "webgpu" as const
  readonly description: string
  readonly maxBindingBytes: number
  readonly maxWorkgroupsPerDimension: number
  readonly subgroups: boolean
  readonly matmulVariant: MatmulVariant
  private readonly counters = new MemoryCounters()
  private readonly storages: BufferPool
  private readonly staging: BufferPool
  private readonly ring: UniformRing
  private readonly pipelines: Pipelines
  private readonly health: Health
  private readonly pacer: Pacer
  private readonly batches: Batches
  private readonly offsets = new Uint32Array(1)
  private inUse = 0
  private dispatches = 0
  private destroyed = false
  private readonly pooling: boolean

  /** Wraps `device` (which the backend then owns and destroys in `destroy`). */
  constructor(readonly device: GPUDevice, config: WebGpuBackendConfig) {
    this.description = config.description
    this.pooling = config.pool ?? true
    this.maxBindingBytes = config.maxBindingBytes
    this.subgroups = config.subgroups
    this.matmulVariant = config.matmulVariant
    this.maxWorkgroupsPerDimension = device.limits.maxComputeWorkgroupsPerDimension
    this.health = new Health(device)
    this.storages = new BufferPool(device, BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST, this.maxBindingBytes, this.counters, "storage")
    this.staging = new BufferPool(device, BufferUsage.MAP_READ | BufferUsage.COPY_DST, this.maxBindingBytes, this.counters, "staging")
    this.ring = new UniformRing(device, config.uniformSlots ?? 1024, device.limits.minUniformBufferOffsetAlignment)
    this.counters.created(this.ring.bytes)
    this.pipelines = new Pipelines(device, this.ring.buffer)
    this.pacer = new Pacer(config.pacing)
    this.batches = new Batches(device, this.ring, this.health, this.pacer)
  }

  private usable(): void {
    if (this.destroyed) throw new DeviceError({ reason: "the WebGPU backend was destroyed" })
    this.health.check()
  }

  private gpu(storage: Storage, what: string): GpuStorage {
    const s = storage as Partial<GpuStorage> & Storage
    if (s.buffer === undefined) throw new DeviceError({ reason: `${what}: storage ${storage.id} does not belong to a WebGPU backend` })
    return s as GpuStorage
  }

  // ---- KernelContext ----

  /** A fresh storage of `numel` elements; throws `DeviceError` over `maxBindingBytes`. */
  output(numel: number, dtype: DType): GpuStorage {
    this.usable()
    checkBindingSize(numel, dtype, this.maxBindingBytes)
    const buffer = this.storages.acquire(numel * elementBytes)
    this.inUse++
    return { id: nextStorageId++, numel, released: false, buffer }
  }

  /** Encodes one dispatch into the pending batch (see `KernelContext.dispatch`). */
  dispatch(spec: KernelSpec, storages: ReadonlyArray<Storage>, groups: readonly [number, number], params: (u: UniformWriter) => void, work: number): void {
    if (this.ring.full) this.flush()
    const pipeline = this.pipelines.pipeline(spec)
    const buffers = storages.map((s) => this.gpu(s, spec.key).buffer)
    for (const b of buffers) this.batches.touch(b)
    const group = this.pipelines.bindGroup(spec, buffers)
    this.offsets[0] = this.ring.take()
    params(this.ring)
    const pass = this.batches.computePass()
    pass.setPipeline(pipeline)
    pass.setBindGroup(0, group, this.offsets, 0, 1)
    pass.dispatchWorkgroups(groups[0], groups[1])
    this.dispatches++
    this.pacer.add(work)
  }

  // ---- memory ----

  alloc(numel: number): Storage {
    return this.output(numel, "float32")
  }

  upload(data: Float32Array | Int32Array): Storage {
    const out = this.output(data.length, data instanceof Int32Array ? "int32" : "float32")
    if (data.length > 0) {
      // writeBuffer executes before the unsubmitted batch: submit it first if it uses the buffer.
      if (this.batches.references(out.buffer)) this.flush()
      this.device.queue.writeBuffer(out.buffer.buffer, 0, data)
    }
    return out
  }

  async read(storage: Storage, dtype: DType): Promise<Float32Array | Int32Array> {
    this.usable()
    const s = this.gpu(storage, "read")
    if (s.released) throw new DeviceError({ reason: `read: storage ${s.id} was already released` })
    const bytes = s.numel * elementBytes
    if (bytes === 0) return dtype === "int32" ? new Int32Array(0) : new Float32Array(0)
    const staging = this.staging.acquire(bytes)
    this.batches.copyEncoder().copyBufferToBuffer(s.buffer.buffer, 0, staging.buffer, 0, bytes)
    const seq = this.batches.submit()
    const wait = this.pacer.sleepBefore(seq, performance.now())
    let sleptUntil = 0
    if (wait > 0) {
      await sleep(wait)
      sleptUntil = performance.now()
    }
    try {
      await staging.buffer.mapAsync(MapModeRead, 0, bytes)
    } catch (cause) {
      const known = await this.health.settle()
      throw known ?? new DeviceError({ reason: `reading ${s.numel} values back failed: ${String(cause)}`, cause })
    }
    this.pacer.observe(seq, performance.now(), sleptUntil)
    const copy = staging.buffer.getMappedRange(0, bytes).slice(0)
    staging.buffer.unmap()
    this.staging.release(staging)
    const failure = await this.health.settle()
    if (failure !== undefined) throw failure
    return dtype === "int32" ? new Int32Array(copy) : new Float32Array(copy)
  }

  release(storage: Storage): void {
    if (storage.released) return
    const s = this.gpu(storage, "release")
    s.released = true
    this.inUse--
    if (!this.destroyed) {
      this.storages.release(s.buffer)
      if (!this.pooling) this.trim()
    }
  }

  flush(): void {
    if (this.destroyed) return
    this.batches.submit()
  }

  stats(): WebGpuStats {
    return {
      liveBuffers: this.counters.liveBuffers,
      inUse: this.inUse,
      liveBytes: this.counters.liveBytes,
      peakBytes: this.counters.peakBytes,
      submits: this.batches.submits,
      dispatches: this.dispatches,
      pipelines: this.pipelines.created,
      bindGroups: this.pipelines.bindGroupCount,
      pooledBytes: this.storages.freeBytes + this.staging.freeBytes
    }
  }

  /**
   * Destroys the free pooled buffers (storages and staging), after submitting pending work.
   * Returns how many were destroyed. Storages in use are untouched.
   */
  trim(): number {
    if (this.destroyed) return 0
    this.flush()
    const n = this.storages.trim() + this.staging.trim()
    if (n > 0) this.pipelines.clearBindGroups()
    return n
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.health.markDestroyed()
    this.storages.destroyAll()
    this.staging.destroyAll()
    this.ring.buffer.destroy()
    this.counters.destroyed(this.ring.bytes)
    this.pipelines.clearBindGroups()
    this.device.destroy()
  }

  // ---- kernels ----

  fill(numel: number, value: number, dtype: DType): Storage {
    return fill(this, numel, value, dtype)
  }
  matmul(a: Storage, b: Storage, spec: MatmulSpec): Storage {
    return matmul(this, a, b, spec)
  }
  binary(op: BinaryOp, a: Storage, b: Storage, outShape: ReadonlyArray<number>, aStrides: ReadonlyArray<number>, bStrides: ReadonlyArray<number>): Storage {
    return binary(this, op, a, b, outShape, aStrides, bStrides)
  }
  unary(op: UnaryOp, a: Storage, numel: number, alpha: number): Storage {
    return unary(this, op, a, numel, alpha)
  }
  axpy(a: Storage, b: Storage, numel: number, alpha: number): Storage {
    return axpy(this, a, b, numel, alpha)
  }
  reluBackward(x: Storage, g: Storage, numel: number): Storage {
    return reluBackward(this, x, g, numel)
  }
  reduceSum(a: Storage, outer: number, size: number, inner: number): Storage {
    return reduce(this, "sum", a, outer, size, inner)
  }
  reduceMax(a: Storage, outer: number, size: number, inner: number): Storage {
    return reduce(this, "max", a, outer, size, inner)
  }
  logSoftmax(a: Storage, rows: number, cols: number): Storage {
    return logSoftmax(this, a, rows, cols)
  }
  logSoftmaxBackward(y: Storage, g: Storage, rows: number, cols: number): Storage {
    return logSoftmaxBackward(this, y, g, rows, cols)
  }
  pick(a: Storage, index: Storage, rows: number, cols: number): Storage {
    return pick(this, a, index, rows, cols)
  }
  pickBackward(g: Storage, index: Storage, rows: number, cols: number): Storage {
    return pickBackward(this, g, index, rows, cols)
  }
  argmax(a: Storage, rows: number, cols: number): Storage {
    return argmax(this, a, rows, cols)
  }
  cast(a: Storage, numel: number, toInt: boolean): Storage {
    return cast(this, a, numel, toInt)
  }
  concatColumns(parts: ReadonlyArray<Storage>, rows: number, widths: ReadonlyArray<number>): Storage {
    return concatColumns(this, parts, rows, widths)
  }
  sliceColumns(a: Storage, rows: number, cols: number, start: number, width: number): Storage {
    return sliceColumns(this, a, rows, cols, start, width)
  }
  dropoutMask(numel: number, p: number, seed: number): Storage {
    return dropoutMask(this, numel, p, seed)
  }
  bceWithLogits(x: Storage, y: Storage, numel: number): Storage {
    return bceWithLogits(this, x, y, numel)
  }
  adam(param: Storage, grad: Storage, m: Storage, v: Storage, numel: number, hyper: AdamHyper): readonly [Storage, Storage, Storage] {
    return adam(this, param, grad, m, v, numel, hyper)
  }
}
