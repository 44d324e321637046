/**
 * Packed copies of matmul operands, kept for reuse: "weight prepacking", as XNNPACK and
 * oneDNN do for the weights of fully-connected layers. The subgroup matmul packs op(B)
 * into a texture before large products (`kernels/matmul-texture.ts`); when the same B is
 * multiplied again (a network's weight over many inference batches) the packing pass is
 * wasted work.
 *
 * A storage's contents never change after the dispatch that writes it (every kernel
 * writes fresh outputs), so a texture packed from a storage stays valid until the storage
 * is released. To keep memory where reuse is unlikely (in training each weight is a new
 * storage every step, multiplied once as Wᵀ and once as W), a texture is kept only from
 * the second packing of the same storage in the same layout on (an LSTM's recurrent weight,
 * multiplied at every time step, is kept until its step ends); the first is released at
 * once, as before. `forget` returns a released storage's textures to the pool.
 */
import type { PooledTexture } from "./textures.ts"

/** A packed texture for one use: `owned` means the caller releases it after encoding its last read. */
export interface PackedTexture {
  readonly texture: PooledTexture
  readonly owned: boolean
}

/** Packed textures by storage id and layout (`undefined`: packed once, not kept). */
export class PackedTextures {
  private readonly byStorage = new Map<number, Map<string, PooledTexture | undefined>>()

  constructor(private readonly releaseTexture: (texture: PooledTexture) => void) {}

  /**
   * The texture of storage `storageId` packed in `layout` (a string naming everything the
   * packing depends on besides the storage's contents): the kept one, or a new one from
   * `pack`, kept when this is the storage's second packing in that layout.
   */
  packed(storageId: number, layout: string, pack: () => PooledTexture): PackedTexture {
    const kept = this.byStorage.get(storageId)?.get(layout)
    if (kept !== undefined) return { texture: kept, owned: false }
    const seen = this.byStorage.get(storageId)?.has(layout) === true
    const texture = pack()
    // `pack` may have re-entered (its dispatch encodes a deferred product of the same B
    // first, which packs too): an entry that appeared meanwhile stays, and this texture is
    // the caller's to release.
    let layouts = this.byStorage.get(storageId)
    if (layouts?.get(layout) !== undefined) return { texture, owned: true }
    if (layouts === undefined) {
      layouts = new Map()
      this.byStorage.set(storageId, layouts)
    }
    layouts.set(layout, seen ? texture : undefined)
    return { texture, owned: !seen }
  }

  /** Releases the textures kept for storage `storageId` (after encoding its last use). */
  forget(storageId: number): void {
    const layouts = this.byStorage.get(storageId)
    if (layouts === undefined) return
    this.byStorage.delete(storageId)
    for (const texture of layouts.values()) if (texture !== undefined) this.releaseTexture(texture)
  }

  /** Forgets every entry without releasing (the textures were destroyed with the device). */
  clear(): void {
    this.byStorage.clear()
  }

  /** Textures kept now. */
  get kept(): number {
    let n = 0
    for (const layouts of this.byStorage.values()) for (const t of layouts.values()) if (t !== undefined) n++
    return n
  }
}
