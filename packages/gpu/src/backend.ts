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
import { type AdamHyper, type Backend, type BatchNormRunning, type BatchNormSpec, type BatchNormTrainResult, type LinearSpec, type BinaryOp, DeviceError, type DType, type MatmulSpec, type MemoryStats, type Storage, type UnaryOp } from "@effect-nn/tensor"
import { Batches } from "./batches.ts"
import { BufferUsage, MapModeRead } from "./flags.ts"
import { Health } from "./health.ts"
import { adam, adamMany } from "./kernels/adam.ts"
import { argmax } from "./kernels/argmax.ts"
import { axpy } from "./kernels/axpy.ts"
import { bceWithLogits } from "./kernels/bce.ts"
import { binary, encodeSameShape, sameShapeVec4, simplify } from "./kernels/binary.ts"
import { cast } from "./kernels/cast.ts"
import { concatColumns, sliceColumns } from "./kernels/columns.ts"
import type { GpuStorage, KernelContext, MatmulVariant } from "./kernels/context.ts"
import { dropoutApply, dropoutMask } from "./kernels/dropout.ts"
import { fill } from "./kernels/fill.ts"
import { logSoftmax, logSoftmaxBackward } from "./kernels/log-softmax.ts"
import { encodeMatmul, linear, linearMatmulSpec, matmul, matmulRowSums } from "./kernels/matmul.ts"
import { batchNormBackward, batchNormEval, batchNormTrain, batchNormTrainOutputs, encodeBatchNormTrain } from "./kernels/batchnorm.ts"
import { crossEntropy, crossEntropyBackward } from "./kernels/cross-entropy.ts"
import { gatherBytes, gatherRows } from "./kernels/gather.ts"
import { pick, pickBackward } from "./kernels/pick.ts"
import { reduce } from "./kernels/reduce.ts"
import { reluBackward } from "./kernels/relu-backward.ts"
import { unary } from "./kernels/unary.ts"
import type { AvgPool2dSpec, Conv2dSpec, Pool2dSpec } from "@effect-nn/tensor"
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from "./kernels/conv2d.ts"
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from "./kernels/pool2d.ts"
import type { LstmSequenceSpec } from "@effect-nn/tensor"
import { lstmSequence, lstmSequenceBackward } from "./kernels/lstm.ts"
import { type SubgroupMatmulConfig, subgroupMatmulConfig } from "./kernels/matmul-subgroup.ts"
import type { TexturePolicy } from "./kernels/matmul-texture.ts"
import { type TiledMatmulConfig, tiledMatmulConfig } from "./kernels/matmul-tiled.ts"
import { checkBindingSize, elementBytes } from "./limits.ts"
import { Pacer, settleQuietly } from "./pacing.ts"
import { type KernelTime, Profiler } from "./profile.ts"
import type { KernelSpec } from "./pipelines.ts"
import { Pipelines } from "./pipelines.ts"
import { BufferPool, MemoryCounters } from "./pool.ts"
import { type PackedTexture, PackedTextures } from "./packed.ts"
import { type PooledTexture, textureClass, TexturePool } from "./textures.ts"
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
  /**
   * Time every dispatch on the GPU (needs the device's `timestamp-query` feature): each
   * dispatch gets its own timestamped pass, and `profileReport()` sums the times by
   * kernel. For benchmarks only; it slows the device down a little.
   */
  readonly profile?: boolean
}

/** Counters beyond `MemoryStats`, for tests and benchmarks. */
export interface WebGpuStats extends MemoryStats {
  /** Compute pipelines compiled so far. */
  readonly pipelines: number
  /** Bind groups in the cache. */
  readonly bindGroups: number
  /** Bind groups created so far (cache misses; flat once a training loop is warm). */
  readonly bindGroupsCreated: number
  /** Bytes held by free pooled buffers and textures. */
  readonly pooledBytes: number
  /** Packed matmul operands kept for reuse while their storages live (see `packed.ts`). */
  readonly packedTextures: number
}

let nextStorageId = 0

/**
 * A kernel whose dispatch waits for the next call: a matmul (or linear layer) or a
 * train-mode batch norm. When that call is a ReLU of its result (or, for a matmul, ReLU's
 * backward with its result as the incoming gradient), the ReLU is folded into the kernel's
 * store (both results are written: the kernel's, which the caller already holds, and the
 * new one). Any other call encodes it first as it was (`settle`, called by `dispatch`,
 * `upload`, `read` and `flush`), so work still runs in call order and no result is ever
 * observed before it is written.
 */
type Deferred =
  | {
    readonly kind: "matmul"
    readonly a: Storage
    readonly b: Storage
    readonly spec: MatmulSpec
    readonly bias: Storage | undefined
    readonly out: GpuStorage
    act?: { readonly kind: "relu" | "mask"; readonly out: GpuStorage; readonly mask?: Storage }
  }
  | {
    readonly kind: "binary"
    readonly op: BinaryOp
    readonly a: Storage
    readonly b: Storage
    readonly numel: number
    readonly out: GpuStorage
    act?: { readonly kind: "relu"; readonly out: GpuStorage }
  }
  | {
    readonly kind: "batchNorm"
    readonly x: Storage
    readonly weight: Storage | undefined
    readonly bias: Storage | undefined
    readonly running: BatchNormRunning | undefined
    readonly spec: BatchNormSpec
    readonly result: BatchNormTrainResult
    readonly out: Storage
    act?: { readonly kind: "relu"; readonly out: GpuStorage }
  }

/** The storages a deferred kernel reads. */
const deferredInputs = (d: Deferred): ReadonlyArray<Storage> => {
  const present = (xs: ReadonlyArray<Storage | undefined>): Array<Storage> => xs.filter((x): x is Storage => x !== undefined)
  switch (d.kind) {
    case "matmul":
      return present([d.a, d.b, d.bias, d.act?.mask])
    case "binary":
      return [d.a, d.b]
    case "batchNorm":
      return present([d.x, d.weight, d.bias, d.running?.mean, d.running?.variance, d.running?.count])
  }
}

/** The storages a deferred kernel writes. */
const deferredOutputs = (d: Deferred): ReadonlyArray<Storage> => {
  if (d.kind !== "batchNorm") return [d.out]
  const r = d.result
  return [r.output, r.mean, r.invStd, ...(r.running === undefined ? [] : [r.running.mean, r.running.variance, r.running.count])]
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The WebGPU implementation of `Backend`. Create it with `acquireWebGpu`. */
export class WebGpuBackend implements Backend, KernelContext {
  readonly kind = "webgpu" as const
  readonly description: string
  readonly maxBindingBytes: number
  readonly maxWorkgroupsPerDimension: number
  readonly subgroups: boolean
  readonly maxTextureDimension: number
  readonly matmulVariant: MatmulVariant
  private subgroupConfig: SubgroupMatmulConfig = subgroupMatmulConfig
  private texturePolicy: TexturePolicy = "auto"
  private tiledBlock: TiledMatmulConfig = tiledMatmulConfig
  private readonly counters = new MemoryCounters()
  private readonly storages: BufferPool
  private readonly staging: BufferPool
  private readonly textures: TexturePool
  private readonly packedOperands: PackedTextures
  private readonly ring: UniformRing
  private readonly pipelines: Pipelines
  private readonly health: Health
  private readonly pacer: Pacer
  private readonly batches: Batches
  private inUse = 0
  /** The last matmul, not yet encoded: a ReLU or ReLU backward of its result joins its epilogue. */
  private deferred: Deferred | undefined = undefined
  private dispatches = 0
  private destroyed = false
  /** The storages this backend handed out. */
  private readonly own = new WeakSet<Storage>()
  /** True while `settle` encodes the deferred kernel. */
  private settling = false
  private readonly pooling: boolean

  /** Wraps `device` (which the backend then owns and destroys in `destroy`). */
  constructor(readonly device: GPUDevice, config: WebGpuBackendConfig) {
    this.description = config.description
    this.pooling = config.pool ?? true
    this.maxBindingBytes = config.maxBindingBytes
    this.subgroups = config.subgroups
    this.matmulVariant = config.matmulVariant
    this.maxWorkgroupsPerDimension = device.limits.maxComputeWorkgroupsPerDimension
    this.maxTextureDimension = device.limits.maxTextureDimension2D
    this.health = new Health(device)
    this.storages = new BufferPool(device, BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST, this.maxBindingBytes, this.counters, "storage")
    this.staging = new BufferPool(device, BufferUsage.MAP_READ | BufferUsage.COPY_DST, this.maxBindingBytes, this.counters, "staging")
    this.textures = new TexturePool(device, this.counters)
    this.packedOperands = new PackedTextures((t) => this.releaseTexture(t))
    this.ring = new UniformRing(device, config.uniformSlots ?? 1024, device.limits.minUniformBufferOffsetAlignment)
    this.counters.created(this.ring.bytes)
    this.pipelines = new Pipelines(device, this.ring.buffer)
    this.pacer = new Pacer(config.pacing)
    this.batches = new Batches(device, this.ring, this.health, this.pacer)
    if (config.profile === true) this.batches.profiler = new Profiler(device)
  }

  private usable(): void {
    if (this.destroyed) throw new DeviceError({ reason: "the WebGPU backend was destroyed" })
    this.health.check()
  }

  /**
   * `storage` as this backend's: throws `DeviceError` for a storage of another backend, or
   * one already released (its buffer may belong to a new storage by now), except while a
   * deferred kernel is encoded (its inputs may have been released since it was recorded;
   * the buffers still hold their contents, as nothing was encoded in between).
   */
  private gpu(storage: Storage, what: string): GpuStorage {
    if (!this.own.has(storage)) throw new DeviceError({ reason: `${what}: storage ${storage.id} does not belong to this WebGPU backend` })
    if (storage.released && !this.settling) throw new DeviceError({ reason: `${what}: storage ${storage.id} was already released` })
    return storage as GpuStorage
  }

  // ---- KernelContext ----

  /** A fresh storage of `numel` elements; throws `DeviceError` over `maxBindingBytes`. */
  output(numel: number, dtype: DType): GpuStorage {
    this.usable()
    checkBindingSize(numel, dtype, this.maxBindingBytes)
    const buffer = this.storages.acquire(numel * elementBytes)
    this.inUse++
    const storage: GpuStorage = { id: nextStorageId++, numel, released: false, buffer }
    this.own.add(storage)
    return storage
  }

  texture(width: number, height: number): PooledTexture {
    this.usable()
    const limit = this.maxTextureDimension
    if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1 || width > limit || height > limit) {
      throw new DeviceError({ reason: `texture of ${width} × ${height} texels is empty or exceeds maxTextureDimension2D ${limit}` })
    }
    return this.textures.acquire(textureClass(width, limit), textureClass(height, limit))
  }

  releaseTexture(texture: PooledTexture): void {
    if (this.destroyed) return
    this.textures.release(texture)
    if (!this.pooling) this.trim()
  }

  packedTexture(storage: Storage, layout: string, pack: () => PooledTexture): PackedTexture {
    // A storage released before its deferred matmul is encoded is packed for this use only.
    if (storage.released) return { texture: pack(), owned: true }
    return this.packedOperands.packed(storage.id, layout, pack)
  }

  /** Encodes one dispatch into the pending batch (see `KernelContext.dispatch`). */
  dispatch(spec: KernelSpec, storages: ReadonlyArray<Storage>, groups: readonly [number, number], params: (u: UniformWriter) => void, work: number, textures: ReadonlyArray<PooledTexture> = []): void {
    // A deferred matmul goes first: work runs in call order.
    if (this.deferred !== undefined) this.settle()
    // A full uniform ring or timestamp query set ends the batch before this dispatch marks its buffers.
    if (this.ring.full || this.batches.profiler?.full === true) this.flush()
    const pipeline = this.pipelines.pipeline(spec)
    const buffers = storages.map((s) => this.gpu(s, spec.key).buffer)
    for (const b of buffers) this.batches.touch(b)
    const offset = this.ring.take()
    const group = this.pipelines.bindGroup(spec, offset, buffers, textures)
    params(this.ring)
    const profiler = this.batches.profiler
    const pass = profiler === undefined ? this.batches.computePass() : this.batches.timedPass(profiler, spec.key)
    pass.setPipeline(pipeline)
    pass.setBindGroup(0, group)
    pass.dispatchWorkgroups(groups[0], groups[1])
    this.dispatches++
    this.pacer.add(work)
  }

  // ---- memory ----

  alloc(numel: number): Storage {
    return this.output(numel, "float32")
  }

  upload(data: Float32Array | Int32Array): Storage {
    this.settle()
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
    const bytes = s.numel * elementBytes
    if (bytes === 0) return dtype === "int32" ? new Int32Array(0) : new Float32Array(0)
    this.settle()
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
      await settleQuietly(staging.buffer.mapAsync(MapModeRead, 0, bytes), this.pacer.enabled)
    } catch (cause) {
      const known = await this.health.settle()
      throw known ?? new DeviceError({ reason: `reading ${s.numel} values back failed: ${String(cause)}`, cause })
    }
    this.pacer.observe(seq, performance.now(), sleptUntil, wait > 0 ? wait : 0)
    // Copied into a new typed array rather than with ArrayBuffer.prototype.slice: on Node,
    // slice took fresh pages from the OS every time (a 4 MiB read cost 14 ms of page faults
    // here), while a typed array's allocation can reuse freed memory (0.4 ms when it does;
    // a fresh 4 MiB still faults for 13–15 ms on this VM when none is free).
    const out = dtype === "int32" ? new Int32Array(s.numel) : new Float32Array(s.numel)
    const mapped = staging.buffer.getMappedRange(0, bytes)
    out.set(dtype === "int32" ? new Int32Array(mapped) : new Float32Array(mapped))
    staging.buffer.unmap()
    this.staging.release(staging)
    const failure = await this.health.settle()
    if (failure !== undefined) throw failure
    return out
  }

  release(storage: Storage): void {
    if (storage.released) return
    const s = this.gpu(storage, "release")
    s.released = true
    this.inUse--
    if (!this.destroyed) {
      this.packedOperands.forget(s.id)
      this.storages.release(s.buffer)
      if (!this.pooling) this.trim()
    }
  }

  flush(): void {
    if (this.destroyed) return
    this.settle()
    this.batches.submit()
  }

  /** Workgroup shape of the subgroup matmul (chosen by `autotune.ts`; results do not depend on it). */
  get matmulConfig(): SubgroupMatmulConfig {
    return this.subgroupConfig
  }

  /** Selects the subgroup matmul's workgroup shape for the matmuls encoded from now on. */
  useMatmulConfig(config: SubgroupMatmulConfig): void {
    this.subgroupConfig = config
  }

  /** Register block of the tiled matmul (chosen by `autotune.ts`; results do not depend on it). */
  get tiledConfig(): TiledMatmulConfig {
    return this.tiledBlock
  }

  /** Selects the tiled matmul's register block for the matmuls encoded from now on. */
  useTiledConfig(config: TiledMatmulConfig): void {
    this.tiledBlock = config
  }

  /** When matmuls read B through a texture (default "auto"; see `kernels/matmul-texture.ts`). */
  get matmulTextures(): TexturePolicy {
    return this.texturePolicy
  }

  /** Sets when the matmuls encoded from now on read B through a texture (for benchmarks and tests; results do not depend on it). */
  useMatmulTextures(policy: TexturePolicy): void {
    this.texturePolicy = policy
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
      bindGroupsCreated: this.pipelines.groupsCreated,
      pooledBytes: this.storages.freeBytes + this.staging.freeBytes + this.textures.freeBytes,
      packedTextures: this.packedOperands.kept
    }
  }

  /** Starts a new peak: `stats().peakBytes` becomes the bytes live now (for per-phase peaks in benchmarks). */
  resetPeak(): void {
    this.counters.peakBytes = this.counters.liveBytes
  }

  /**
   * GPU time per kernel key since the last call (slowest first); empty unless the backend
   * was created with `profile: true`. Submits pending work first.
   */
  async profileReport(): Promise<ReadonlyArray<KernelTime>> {
    const profiler = this.batches.profiler
    if (profiler === undefined) return []
    this.flush()
    const report = await profiler.report()
    profiler.reset()
    return report
  }

  /**
   * Destroys the free pooled buffers (storages and staging) and textures, after submitting
   * pending work. Returns how many were destroyed. Storages in use are untouched.
   */
  trim(): number {
    if (this.destroyed) return 0
    this.flush()
    const n = this.storages.trim() + this.staging.trim() + this.textures.trim()
    if (n > 0) this.pipelines.clearBindGroups()
    return n
  }

  destroy(): void {
    if (this.destroyed) return
    this.deferred = undefined
    this.destroyed = true
    this.health.markDestroyed()
    this.storages.destroyAll()
    this.staging.destroyAll()
    this.textures.destroyAll()
    this.packedOperands.clear()
    this.ring.buffer.destroy()
    this.counters.destroyed(this.ring.bytes)
    this.pipelines.clearBindGroups()
    this.batches.profiler?.destroy()
    this.device.destroy()
  }

  // ---- kernels ----

  fill(numel: number, value: number, dtype: DType): Storage {
    return fill(this, numel, value, dtype)
  }
  matmul(a: Storage, b: Storage, spec: MatmulSpec): Storage {
    if (spec.k === 0 || spec.m === 0 || spec.n === 0) return matmul(this, a, b, spec)
    return this.defer(a, b, spec, undefined)
  }

  /** Records a matmul to encode at the next call (see `DeferredMatmul`). */
  private defer(a: Storage, b: Storage, spec: MatmulSpec, bias: Storage | undefined): GpuStorage {
    this.settle()
    this.usable()
    this.gpu(a, "matmul")
    this.gpu(b, "matmul")
    if (bias !== undefined) this.gpu(bias, "linear")
    const out = this.output(spec.m * spec.n, "float32")
    this.deferred = { kind: "matmul", a, b, spec, bias, out }
    return out
  }

  /** Encodes the deferred kernel, if any, with the epilogue it has gathered. */
  private settle(): void {
    const d = this.deferred
    if (d === undefined) return
    this.deferred = undefined
    this.settling = true
    try {
      this.encodeDeferred(d)
    } finally {
      this.settling = false
    }
  }

  private encodeDeferred(d: Deferred): void {
    if (d.kind === "batchNorm") {
      encodeBatchNormTrain(this, d.x, d.weight, d.bias, d.running, d.spec, d.result, d.act?.out)
      return
    }
    if (d.kind === "binary") {
      encodeSameShape(this, d.op, d.a, d.b, d.numel, d.out, d.act?.out)
      return
    }
    const extra: Array<Storage> = []
    if (d.bias !== undefined) extra.push(d.bias)
    if (d.act?.mask !== undefined) extra.push(d.act.mask)
    const outputs: Array<Storage> = [d.out]
    if (d.act !== undefined) outputs.push(d.act.out)
    encodeMatmul(this, d.a, d.b, d.spec, { bias: d.bias !== undefined, act: d.act?.kind ?? "none", keepRaw: true, rowSums: false }, extra, outputs)
  }

  /**
   * Folds a ReLU (or, after a matmul, ReLU's backward with mask input `mask`) of `input`
   * into the deferred kernel when it produced `input`; undefined when it did not.
   */
  private fuseActivation(kind: "relu" | "mask", input: Storage, numel: number, mask?: Storage): GpuStorage | undefined {
    const d = this.deferred
    if (d === undefined || d.out !== input || d.act !== undefined || input.numel !== numel) return undefined
    // An input released since the kernel was deferred has its buffer back in the pool: the
    // activation's output could be that buffer, bound read-only and writable in one dispatch.
    if (deferredInputs(d).some((s) => s.released)) return undefined
    // Likewise a released output of the kernel besides `input` (a batch norm's mean, say);
    // and a mask that is the kernel's own result would be bound as its input and its output.
    const outputs = deferredOutputs(d)
    if (outputs.some((s) => s.released) || (mask !== undefined && outputs.includes(mask))) return undefined
    if (d.kind === "batchNorm" || d.kind === "binary") {
      if (kind !== "relu") return undefined
      const out = this.output(numel, "float32")
      d.act = { kind, out }
      this.settle()
      return out
    }
    if (mask !== undefined && (mask.released || mask.numel < numel)) return undefined
    const out = this.output(numel, "float32")
    d.act = mask === undefined ? { kind, out } : { kind, out, mask }
    this.settle()
    return out
  }
  binary(op: BinaryOp, a: Storage, b: Storage, outShape: ReadonlyArray<number>, aStrides: ReadonlyArray<number>, bStrides: ReadonlyArray<number>): Storage {
    const numel = outShape.reduce((p, d) => p * d, 1)
    if (numel > 0 && op === "add") {
      // A same-shape add waits: a following ReLU joins it (a residual block's relu(block(x) + x)).
      const geometry = simplify(outShape, aStrides, bStrides)
      this.settle()
      this.usable()
      const ga = this.gpu(a, "binary")
      const gb = this.gpu(b, "binary")
      const out = this.output(numel, "float32")
      if (sameShapeVec4(ga, gb, out, geometry)) {
        this.deferred = { kind: "binary", op, a, b, numel, out }
        return out
      }
      this.release(out)
    }
    return binary(this, op, a, b, outShape, aStrides, bStrides)
  }
  unary(op: UnaryOp, a: Storage, numel: number, alpha: number): Storage {
    return (op === "relu" ? this.fuseActivation("relu", a, numel) : undefined) ?? unary(this, op, a, numel, alpha)
  }
  axpy(a: Storage, b: Storage, numel: number, alpha: number): Storage {
    return axpy(this, a, b, numel, alpha)
  }
  reluBackward(x: Storage, g: Storage, numel: number): Storage {
    return this.fuseActivation("mask", g, numel, x) ?? reluBackward(this, x, g, numel)
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

  adamMany(tensors: ReadonlyArray<readonly [Storage, Storage, Storage, Storage, number]>, hyper: AdamHyper): ReadonlyArray<readonly [Storage, Storage, Storage]> {
    return adamMany(this, tensors, hyper, this.device.limits.maxStorageBuffersPerShaderStage)
  }

  // ---- fused kernels (tensor's `fused.ts`) ----
  linear(x: Storage, weight: Storage, bias: Storage | undefined, spec: LinearSpec): Storage {
    const mm = linearMatmulSpec(spec)
    // Without a ReLU of its own, a linear layer waits: a following ReLU joins its epilogue.
    if (spec.relu || mm.m === 0 || mm.n === 0) return linear(this, x, weight, bias, spec)
    return this.defer(x, weight, mm, bias)
  }
  matmulRowSums(a: Storage, b: Storage, spec: MatmulSpec): readonly [Storage, Storage] {
    return matmulRowSums(this, a, b, spec)
  }
  crossEntropy(logits: Storage, targets: Storage, rows: number, cols: number): readonly [Storage, Storage] {
    return crossEntropy(this, logits, targets, rows, cols)
  }
  crossEntropyBackward(logits: Storage, stats: Storage, targets: Storage, g: Storage, rows: number, cols: number): Storage {
    return crossEntropyBackward(this, logits, stats, targets, g, rows, cols)
  }
  batchNormTrain(x: Storage, weight: Storage | undefined, bias: Storage | undefined, running: BatchNormRunning | undefined, spec: BatchNormSpec): BatchNormTrainResult {
    if (spec.cols === 0) return batchNormTrain(this, x, weight, bias, running, spec)
    // Deferred: a following ReLU of the output joins the kernel (Linear → BatchNorm → ReLU).
    this.settle()
    this.usable()
    for (const st of [x, weight, bias, running?.mean, running?.variance, running?.count]) if (st !== undefined) this.gpu(st, "batchNormTrain")
    const result = batchNormTrainOutputs(this, running !== undefined, spec)
    this.deferred = { kind: "batchNorm", x, weight, bias, running, spec, result, out: result.output }
    return result
  }
  batchNormBackward(g: Storage, x: Storage, mean: Storage, invStd: Storage, weight: Storage | undefined, spec: BatchNormSpec): readonly [Storage, Storage | undefined, Storage | undefined] {
    return batchNormBackward(this, g, x, mean, invStd, weight, spec)
  }
  batchNormEval(x: Storage, mean: Storage, variance: Storage, weight: Storage | undefined, bias: Storage | undefined, spec: BatchNormSpec): Storage {
    return batchNormEval(this, x, mean, variance, weight, bias, spec)
  }
  dropoutApply(a: Storage, numel: number, p: number, seed: number): Storage {
    return dropoutApply(this, a, numel, p, seed)
  }
  gatherRows(a: Storage, index: Storage, rows: number, cols: number): Storage {
    return gatherRows(this, a, index, rows, cols)
  }
  gatherBytes(data: Storage, index: Storage, table: Storage, rows: number, features: number): Storage {
    return gatherBytes(this, data, index, table, rows, features)
  }

  // ---- spatial (NCHW) kernels: kernels/conv2d.ts (direct, or implicit GEMM on 8-wide subgroups), kernels/pool2d.ts ----
  conv2d(x: Storage, weight: Storage, bias: Storage | undefined, spec: Conv2dSpec): Storage {
    return conv2d(this, x, weight, bias, spec)
  }
  conv2dBackwardInput(g: Storage, weight: Storage, spec: Conv2dSpec): Storage {
    return conv2dBackwardInput(this, g, weight, spec)
  }
  conv2dBackwardWeight(g: Storage, x: Storage, spec: Conv2dSpec): Storage {
    return conv2dBackwardWeight(this, g, x, spec)
  }
  maxPool2d(x: Storage, spec: Pool2dSpec): readonly [Storage, Storage] {
    return maxPool2d(this, x, spec)
  }
  maxPool2dBackward(g: Storage, indices: Storage, spec: Pool2dSpec): Storage {
    return maxPool2dBackward(this, g, indices, spec)
  }
  avgPool2d(x: Storage, spec: AvgPool2dSpec): Storage {
    return avgPool2d(this, x, spec)
  }
  avgPool2dBackward(g: Storage, spec: AvgPool2dSpec): Storage {
    return avgPool2dBackward(this, g, spec)
  }

  // ---- recurrent: the LSTM layer over a whole sequence (kernels/lstm.ts) ----
  lstmSequence(xw: Storage, whh: Storage, bias: Storage | undefined, h0: Storage | undefined, c0: Storage | undefined, spec: LstmSequenceSpec): readonly [Storage, Storage] {
    return lstmSequence(this, xw, whh, bias, h0, c0, spec)
  }
  lstmSequenceBackward(
    dhc: Storage,
    whh: Storage,
    h0: Storage | undefined,
    c0: Storage | undefined,
    hc: Storage,
    gates: Storage,
    spec: LstmSequenceSpec
  ): readonly [Storage, Storage, Storage, Storage, Storage] {
    return lstmSequenceBackward(this, dhc, whh, h0, c0, hc, gates, spec)
  }
}
