/**
 * A pool of `GPUBuffer`s keyed by size class. `acquire` hands out a free buffer of the
 * request's class or creates one; `release` puts it back without destroying it, so a
 * training loop that repeats the same shapes reaches a steady state after one step and
 * creates no buffers afterwards. The pool also keeps the memory counters.
 */
import { sizeClass } from "./limits.ts"

/** One device buffer owned by a pool. */
export interface PooledBuffer {
  /** Unique per buffer (bind-group cache keys use it). */
  readonly id: number
  readonly buffer: GPUBuffer
  /** Size of the buffer in bytes (its size class). */
  readonly bytes: number
  /** The command batch that last referenced it (see `Batches`), -1 when none. */
  epoch: number
}

/** Shared counters of every pool of one backend. */
export class MemoryCounters {
  liveBuffers = 0
  liveBytes = 0
  peakBytes = 0

  /** Records a created buffer of `bytes`. */
  created(bytes: number): void {
    this.liveBuffers++
    this.liveBytes += bytes
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes
  }

  /** Records a destroyed buffer of `bytes`. */
  destroyed(bytes: number): void {
    this.liveBuffers--
    this.liveBytes -= bytes
  }
}

let nextBufferId = 0

/**
 * The free buffers (or textures, `textures.ts`) of one size class, handed out lowest id first (a binary min-heap on
 * `id`). Which buffer a request gets then depends only on which buffers are free, not
 * on the order they were released in: a training step that frees and requests the same
 * sizes each time settles into using the same buffers for the same roles (parameters
 * alternate between two sets), so its bind groups recur and stay cached.
 */
export class FreeList<T extends { readonly id: number } = PooledBuffer> {
  private readonly heap: Array<T> = []

  get size(): number {
    return this.heap.length
  }
  push(b: T): void {
    const h = this.heap
    let i = h.length
    h.push(b)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (h[parent]!.id <= b.id) break
      h[i] = h[parent]!
      i = parent
    }
    h[i] = b
  }
  shift(): T | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= h.length) break
        const r = l + 1
        const c = r < h.length && h[r]!.id < h[l]!.id ? r : l
        if (h[c]!.id >= last.id) break
        h[i] = h[c]!
        i = c
      }
      h[i] = last
    }
    return top
  }
  all(): ReadonlyArray<T> {
    return this.heap.slice()
  }
}

/**
 * A size-class pool of buffers that share one usage. Free lists hand out the lowest
 * buffer id first (see `FreeList`): with FIFO or LIFO lists the buffers a step gets
 * depend on the order the previous step released them in, which permutes roles from step
 * to step when long-lived state (parameters, optimiser moments) is released one step
 * after the temporaries; the bind-group cache then kept missing (hundreds of new bind
 * groups a step for ResidualNetwork).
 */
export class BufferPool {
  private readonly free = new Map<number, FreeList>()
  private readonly all = new Set<PooledBuffer>()
  private pooledBytes = 0

  /**
   * @param device where buffers are created
   * @param usage `GPUBufferUsage` flags of every buffer of this pool
   * @param capBytes largest size class (the effective binding limit)
   * @param counters shared memory counters
   * @param label debug label prefix
   */
  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    private readonly capBytes: number,
    private readonly counters: MemoryCounters,
    private readonly label: string
  ) {}

  /** A buffer of at least `bytes` bytes (the caller has checked the limit). */
  acquire(bytes: number): PooledBuffer {
    const size = sizeClass(bytes, this.capBytes)
    const list = this.free.get(size)
    const reused = list?.shift()
    if (reused !== undefined) {
      this.pooledBytes -= size
      return reused
    }
    const buffer = this.device.createBuffer({ size, usage: this.usage, label: `${this.label}#${nextBufferId}` })
    const pooled: PooledBuffer = { id: nextBufferId++, buffer, bytes: size, epoch: -1 }
    this.all.add(pooled)
    this.counters.created(size)
    return pooled
  }

  /** Returns `buffer` to the free list of its class (no destroy). */
  release(buffer: PooledBuffer): void {
    let list = this.free.get(buffer.bytes)
    if (list === undefined) {
      list = new FreeList()
      this.free.set(buffer.bytes, list)
    }
    list.push(buffer)
    this.pooledBytes += buffer.bytes
  }

  /** Bytes held by free (pooled, not in use) buffers. */
  get freeBytes(): number {
    return this.pooledBytes
  }

  /**
   * Destroys every free buffer. Callers must first submit pending work that may use
   * them (destroying a buffer used by an unsubmitted command buffer is a validation error).
   * Returns the number of buffers destroyed.
   */
  trim(): number {
    let n = 0
    for (const list of this.free.values()) {
      for (const b of list.all()) {
        b.buffer.destroy()
        this.all.delete(b)
        this.counters.destroyed(b.bytes)
        n++
      }
    }
    this.free.clear()
    this.pooledBytes = 0
    return n
  }

  /** Destroys every buffer of the pool, in use or free. */
  destroyAll(): void {
    for (const b of this.all) {
      b.buffer.destroy()
      this.counters.destroyed(b.bytes)
    }
    this.all.clear()
    this.free.clear()
    this.pooledBytes = 0
  }
}
