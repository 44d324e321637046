/**
 * What a kernel's dispatch helper needs from the backend: fresh output storages and a
 * way to encode one dispatch. Each kernel module exports its WGSL (through `KernelSpec`s)
 * and a helper `(ctx, ...) => storage` that validates sizes, writes its uniform slot
 * and encodes its dispatch.
 */
import type { DType, Storage } from "@effect-nn/tensor"
import type { KernelSpec } from "../pipelines.ts"
import type { SubgroupMatmulConfig } from "./matmul-subgroup.ts"
import type { TexturePolicy } from "./matmul-texture.ts"
import type { TiledMatmulConfig } from "./matmul-tiled.ts"
import type { PooledBuffer } from "../pool.ts"
import type { PackedTexture } from "../packed.ts"
import type { PooledTexture } from "../textures.ts"
import type { UniformWriter } from "../uniforms.ts"

/** A WebGPU storage: a pooled buffer holding `numel` 4-byte elements. */
export interface GpuStorage extends Storage {
  readonly buffer: PooledBuffer
}

/** Which matmul kernel a device uses: 8-wide subgroup broadcasts, or shared-memory tiles. */
export type MatmulVariant = "subgroup" | "tiled"

/** The backend as kernels see it. */
export interface KernelContext {
  /** The matmul kernel this device uses. */
  readonly matmulVariant: MatmulVariant
  /** Workgroup shape of the subgroup matmul (see `autotune.ts`). */
  readonly matmulConfig: SubgroupMatmulConfig
  /** Register block of the tiled matmul (see `autotune.ts`). */
  readonly tiledConfig: TiledMatmulConfig
  /** `maxComputeWorkgroupsPerDimension` of the device. */
  readonly maxWorkgroupsPerDimension: number
  /** True when the device has the `subgroups` feature. */
  readonly subgroups: boolean
  /** `maxTextureDimension2D` of the device (texels). */
  readonly maxTextureDimension: number
  /** When matmuls read B through a texture (see `matmul-texture.ts`). */
  readonly matmulTextures: TexturePolicy
  /** A fresh storage of `numel` elements; throws `DeviceError` over the binding limit. */
  output(numel: number, dtype: DType): GpuStorage
  /** Returns a storage to the pool (a kernel's own temporaries, after encoding their last use). */
  release(storage: Storage): void
  /**
   * A pooled rgba32float texture of at least `width` × `height` texels (sizes are rounded
   * up to the pool's classes, see `textures.ts`, within `maxTextureDimension`). Throws
   * `DeviceError` for an empty size or one over `maxTextureDimension`.
   */
  texture(width: number, height: number): PooledTexture
  /** Returns a texture from `texture` to the pool, after encoding its last use. */
  releaseTexture(texture: PooledTexture): void
  /**
   * `storage` packed into a texture in `layout` (everything the packing depends on besides
   * the contents): a kept texture when `storage` was packed so before, else one from `pack`.
   * The caller releases it after encoding its last read when `owned` (see `packed.ts`).
   */
  packedTexture(storage: Storage, layout: string, pack: () => PooledTexture): PackedTexture
  /**
   * Encodes one dispatch of `spec` over `groups` = [x, y] workgroups, binding `storages`
   * (inputs then outputs, as `spec` declares) and `textures` (`spec.textures`). `params`
   * fills the dispatch's uniform slot; `work` estimates its cost in pacing units (a
   * matmul FMA is one unit).
   */
  dispatch(
    spec: KernelSpec,
    storages: ReadonlyArray<Storage>,
    groups: readonly [number, number],
    params: (u: UniformWriter) => void,
    work: number,
    textures?: ReadonlyArray<PooledTexture>
  ): void
}

/** Threads per workgroup of the element-wise kernels. */
export const elementwiseWorkgroup = 256

/**
 * WGSL prologue shared by the element-wise kernels: `index(wid, lid, nwg)` is the linear
 * element index of a thread in a 2-D grid of 256-thread workgroups.
 */
export const linearIndexWgsl = /* wgsl */ `
fn linearIndex(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * ${elementwiseWorkgroup}u + lid.x;
}
`

/**
 * NaN tests and NaN-propagating max/min (as `torch.maximum`/`torch.minimum`) for f32 and
 * vec4<f32>. The test reads the bits: shader compilers may fold `x != x` to false (lavapipe
 * does), and WGSL leaves `max`/`min` of NaN unspecified.
 */
export const nanWgsl = /* wgsl */ `
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isNan4(x: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u); }
fn maxNan(x: f32, y: f32) -> f32 { return select(max(x, y), x + y, isNan(x) || isNan(y)); }
fn minNan(x: f32, y: f32) -> f32 { return select(min(x, y), x + y, isNan(x) || isNan(y)); }
fn maxNan4(x: vec4<f32>, y: vec4<f32>) -> vec4<f32> { return select(max(x, y), x + y, isNan4(x) | isNan4(y)); }
fn minNan4(x: vec4<f32>, y: vec4<f32>) -> vec4<f32> { return select(min(x, y), x + y, isNan4(x) | isNan4(y)); }
`

/** The builtin parameters of an element-wise `main`. */
export const elementwiseMain = /* wgsl */ `@compute @workgroup_size(${elementwiseWorkgroup})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>)`

/**
 * True when every storage's buffer is a whole number of vec4s, so an element-wise kernel
 * may read and write 4 values a thread (`array<vec4<f32>>`): lavapipe issues one load per
 * lane per access, so this moves 4 values for the price of one. The last vec4 may cover
 * the padding of a pooled buffer past `numel`: it is read and written there, never past
 * the buffer. (Pooled buffers are multiples of 256 bytes unless capped by the binding limit.)
 */
export const vec4Able = (storages: ReadonlyArray<Storage>): boolean =>
  storages.every((s) => {
    const b = (s as Partial<GpuStorage>).buffer
    return b !== undefined && b.bytes % 16 === 0
  })
