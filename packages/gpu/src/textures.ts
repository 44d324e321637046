/**
 * A pool of `rgba32float` 2-D textures keyed by size, for kernels that read an operand
 * through the texture unit (see `kernels/matmul-texture.ts`). On lavapipe a `textureLoad`
 * is one gather for all lanes of a subgroup, where a storage read is a loop over the lanes
 * with a bounds check each; a kernel that re-reads an operand many times can be faster
 * after copying it into a texture once.
 *
 * Textures are temporaries: a kernel helper acquires one, encodes the dispatches that
 * write and read it, and releases it at once (or, for a packed operand used again, when
 * the operand's storage is released: `packed.ts`). Work in a batch runs in encoding order, so a
 * released texture may be handed to the next dispatch of the same batch.
 */
import { FreeList, type MemoryCounters } from "./pool.ts"

/** One texture owned by a pool. */
export interface PooledTexture {
  /** Unique per texture (bind-group cache keys use it). */
  readonly id: number
  readonly texture: GPUTexture
  readonly view: GPUTextureView
  /** Width in texels (4 float32 values each). */
  readonly width: number
  /** Height in texels. */
  readonly height: number
  /** Bytes of texel data (16 per texel). */
  readonly bytes: number
}

/** `GPUTextureUsage` flags of the pool's textures: TEXTURE_BINDING | STORAGE_BINDING. */
const textureUsage = 0x04 | 0x08

/** Bytes of one rgba32float texel. */
export const texelBytes = 16

/**
 * The pooled extent of a texture side of `texels` (≥ 1): up to 16 as asked, then rounded up
 * to a multiple of a quarter of its power of two (at most 25 % more a side), never over
 * `max`. Operands whose shapes differ a little (the last batch of an epoch, a varying
 * sequence length) then share one pooled texture instead of leaving one each behind.
 */
export const textureClass = (texels: number, max: number): number => {
  if (texels <= 16) return texels
  const step = Math.max(4, 2 ** Math.floor(Math.log2(texels)) / 4)
  return Math.max(texels, Math.min(max, Math.ceil(texels / step) * step))
}

let nextTextureId = 0

/** Free textures by size class (`textureClass`), handed out lowest id first (see `FreeList`). */
export class TexturePool {
  private readonly free = new Map<string, FreeList<PooledTexture>>()
  private readonly all = new Set<PooledTexture>()
  private pooledBytes = 0

  constructor(
    private readonly device: GPUDevice,
    private readonly counters: MemoryCounters
  ) {}

  /** A texture of exactly `width` × `height` texels (the caller has checked the device's limits and rounded to `textureClass`). */
  acquire(width: number, height: number): PooledTexture {
    const list = this.free.get(`${width}x${height}`)
    const reused = list?.shift()
    if (reused !== undefined) {
      this.pooledBytes -= reused.bytes
      return reused
    }
    const texture = this.device.createTexture({ size: [width, height], format: "rgba32float", usage: textureUsage, label: `texture#${nextTextureId}` })
    const pooled: PooledTexture = { id: nextTextureId++, texture, view: texture.createView(), width, height, bytes: width * height * texelBytes }
    this.all.add(pooled)
    this.counters.created(pooled.bytes)
    return pooled
  }

  /** Returns `texture` to the free list of its size (no destroy). */
  release(texture: PooledTexture): void {
    const key = `${texture.width}x${texture.height}`
    let list = this.free.get(key)
    if (list === undefined) {
      list = new FreeList<PooledTexture>()
      this.free.set(key, list)
    }
    list.push(texture)
    this.pooledBytes += texture.bytes
  }

  /** Bytes held by free textures. */
  get freeBytes(): number {
    return this.pooledBytes
  }

  /** Destroys every free texture (pending work that uses them must be submitted first); returns how many. */
  trim(): number {
    let n = 0
    for (const list of this.free.values()) {
      for (const t of list.all()) {
        t.texture.destroy()
        this.all.delete(t)
        this.counters.destroyed(t.bytes)
        n++
      }
    }
    this.free.clear()
    this.pooledBytes = 0
    return n
  }

  /** Destroys every texture of the pool, in use or free. */
  destroyAll(): void {
    for (const t of this.all) {
      t.texture.destroy()
      this.counters.destroyed(t.bytes)
    }
    this.all.clear()
    this.free.clear()
    this.pooledBytes = 0
  }
}
