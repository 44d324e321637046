/**
 * `matmul`: C[m, n] = op(A)·op(B) for float32, with op = transpose when `transA`
 * (A stored [k, m]) or `transB` (B stored [n, k]). Picks the subgroup kernel on devices
 * with 8-wide subgroups and the shared-memory tiled kernel elsewhere; both handle any
 * m, k, n. The C tiles are numbered linearly over a 2-D grid of workgroups, so no
 * dimension exceeds `maxComputeWorkgroupsPerDimension`.
 */
import type { LinearSpec, MatmulSpec, Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { GpuStorage, KernelContext } from "./context.ts"
import { type Epilogue, noEpilogue } from "./epilogue.ts"
import { fill } from "./fill.ts"
import { packLayout, packTexture, textureWanted } from "./matmul-texture.ts"
import { type SubgroupLoadModes, subgroupMatmulSpec, subgroupTileM, subgroupTileN, textureMatmulConfig } from "./matmul-subgroup.ts"
import { tiledMatmulSpec, tiledTileM, tiledTileN } from "./matmul-tiled.ts"

/**
 * How the subgroup kernel reads its operands for a geometry. B: vec4 loads along its
 * contiguous, 16-byte aligned axis (along n when not transposed and n % 4 = 0, along k
 * when transposed and k % 4 = 0), scalar loads otherwise. A: vec4 loads along k when A is
 * not transposed and k % 4 = 0, vec4 loads along m when A is transposed and m % 4 = 0 and
 * k % 4 = 0 (lavapipe pays per load instruction a lane issues, whatever its width), scalar
 * loads otherwise. With `texture` (see `textureWanted`), B is packed into a texture first
 * (`matmul-texture.ts`) unless A is read in row quads. C: vec4 stores when n % 4 = 0 and B
 * is not in a texture (measured on lavapipe, kernels interleaved: 128×64×784 Aᵀ·B 11 %
 * faster, 64×784×128 x·Wᵀ 3 %, 64×128×784 2 %; the texture kernel at 1024³ 1–7 % slower).
 */
export const subgroupLoadModes = (spec: MatmulSpec, texture = false): SubgroupLoadModes => {
  const a = spec.k % 4 !== 0 ? "scalar" : !spec.transA ? "vecK" : spec.m % 4 === 0 ? "vecM" : "scalar"
  if (a !== "vecM" && texture) return { a, b: "texture", c: "scalar" }
  return { a, b: spec.transB ? (spec.k % 4 === 0 ? "vecK" : "scalar") : spec.n % 4 === 0 ? "vecN" : "scalar", c: spec.n % 4 === 0 ? "vec4" : "scalar" }
}

/** C = op(A)·op(B) with the context's matmul variant. */
export const matmul = (ctx: KernelContext, a: Storage, b: Storage, spec: MatmulSpec): GpuStorage => {
  const { m, k, n } = spec
  if (k === 0) return fill(ctx, m * n, 0, "float32")
  const out = ctx.output(m * n, "float32")
  encodeMatmul(ctx, a, b, spec, noEpilogue, [], [out])
  return out
}

/**
 * Encodes C = op(A)·op(B) with `epilogue` (see `epilogue.ts`): `extra` are the epilogue's
 * inputs (bias, mask) and `outputs` its outputs in binding order. Nothing is encoded when
 * m or n is 0; k = 0 gives C = 0 before the epilogue.
 */
export const encodeMatmul = (
  ctx: KernelContext,
  a: Storage,
  b: Storage,
  spec: MatmulSpec,
  epilogue: Epilogue,
  extra: ReadonlyArray<Storage>,
  outputs: ReadonlyArray<Storage>
): void => {
  const { m, k, n, transA, transB } = spec
  if (m === 0 || n === 0) return
  const sub = ctx.matmulVariant === "subgroup"
  const modes = sub ? subgroupLoadModes(spec, textureWanted(spec, ctx.matmulTextures, ctx.maxTextureDimension)) : undefined
  const config = modes?.b === "texture" ? textureMatmulConfig : ctx.matmulConfig
  const tileM = modes !== undefined ? subgroupTileM(config, modes.b) : tiledTileM(ctx.tiledConfig)
  const tileN = modes !== undefined ? subgroupTileN(config, modes.b) : tiledTileN(ctx.tiledConfig)
  const tilesM = Math.ceil(m / tileM)
  const tilesN = Math.ceil(n / tileN)
  const kernel = modes !== undefined ? subgroupMatmulSpec(transA, transB, modes, config, epilogue) : tiledMatmulSpec(transA, transB, epilogue, ctx.tiledConfig)
  const packed = modes?.b === "texture" ? ctx.packedTexture(b, packLayout(spec), () => packTexture(ctx, b, spec)) : undefined
  const texture = packed?.texture
  const storages = texture === undefined ? [a, b, ...extra, ...outputs] : [a, ...extra, ...outputs]
  ctx.dispatch(kernel, storages, grid2d(tilesM * tilesN, ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, m)
    u.u32(1, k)
    u.u32(2, n)
    u.u32(3, tilesN)
    u.u32(4, tilesM)
  }, m * n * Math.max(k, 1), texture === undefined ? [] : [texture])
  if (packed?.owned === true) ctx.releaseTexture(packed.texture)
}

/** y = x·Wᵀ (+ bias) (then ReLU when `spec.relu`): one matmul with a bias/ReLU epilogue. */
export const linear = (ctx: KernelContext, x: Storage, weight: Storage, bias: Storage | undefined, spec: LinearSpec): GpuStorage => {
  const out = ctx.output(spec.rows * spec.outFeatures, "float32")
  const epilogue: Epilogue = { bias: bias !== undefined, act: spec.relu ? "relu" : "none", keepRaw: false, rowSums: false }
  encodeMatmul(ctx, x, weight, linearMatmulSpec(spec), epilogue, bias === undefined ? [] : [bias], [out])
  return out
}

/** The matmul geometry of a linear layer: [rows, in] · [out, in]ᵀ. */
export const linearMatmulSpec = (spec: LinearSpec): MatmulSpec => ({ m: spec.rows, k: spec.inFeatures, n: spec.outFeatures, transA: false, transB: true })

/** [C, s]: C = op(A)·op(B) and s[i] = Σ_p op(A)[i, p], in one pass. */
export const matmulRowSums = (ctx: KernelContext, a: Storage, b: Storage, spec: MatmulSpec): readonly [GpuStorage, GpuStorage] => {
  const c = ctx.output(spec.m * spec.n, "float32")
  const sums = ctx.output(spec.m, "float32")
  if (spec.n === 0) {
    // No column block to carry the row sums: sum the rows of op(A) against a column of ones.
    ctx.release(sums)
    const ones = fill(ctx, spec.k, 1, "float32")
    const viaOnes = matmul(ctx, a, ones, { m: spec.m, k: spec.k, n: 1, transA: spec.transA, transB: false })
    ctx.release(ones)
    return [c, viaOnes]
  }
  encodeMatmul(ctx, a, b, spec, { ...noEpilogue, rowSums: true }, [], [c, sums])
  return [c, sums]
}
