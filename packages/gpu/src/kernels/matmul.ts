/**
 * `matmul`: C[m, n] = op(A)·op(B) for float32, with op = transpose when `transA`
 * (A stored [k, m]) or `transB` (B stored [n, k]). Picks the subgroup kernel on devices
 * with 8-wide subgroups and the shared-memory tiled kernel elsewhere; both handle any
 * m, k, n. The C tiles are numbered linearly over a 2-D grid of workgroups, so no
 * dimension exceeds `maxComputeWorkgroupsPerDimension`.
 */
import type { MatmulSpec, Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { GpuStorage, KernelContext } from "./context.ts"
import { fill } from "./fill.ts"
import { type BMode, subgroupMatmulSpec, subgroupTileM, subgroupTileN } from "./matmul-subgroup.ts"
import { tiledMatmulSpec, tiledTile } from "./matmul-tiled.ts"

/**
 * How the subgroup kernel reads B for a geometry: vec4 loads along its contiguous,
 * 16-byte aligned axis (along n when not transposed and n % 4 = 0, along k when
 * transposed and k % 4 = 0), scalar loads otherwise. (vec4 loads of A measured no gain.)
 */
export const subgroupBMode = (spec: MatmulSpec): BMode =>
  spec.transB ? (spec.k % 4 === 0 ? "vecK" : "scalar") : spec.n % 4 === 0 ? "vecN" : "scalar"

/** C = op(A)·op(B) with the context's matmul variant. */
export const matmul = (ctx: KernelContext, a: Storage, b: Storage, spec: MatmulSpec): GpuStorage => {
  const { m, k, n, transA, transB } = spec
  if (k === 0) return fill(ctx, m * n, 0, "float32")
  const out = ctx.output(m * n, "float32")
  if (m === 0 || n === 0) return out
  const sub = ctx.matmulVariant === "subgroup"
  const tileM = sub ? subgroupTileM() : tiledTile
  const tileN = sub ? subgroupTileN() : tiledTile
  const tilesM = Math.ceil(m / tileM)
  const tilesN = Math.ceil(n / tileN)
  const kernel = sub ? subgroupMatmulSpec(transA, transB, subgroupBMode(spec)) : tiledMatmulSpec(transA, transB)
  ctx.dispatch(kernel, [a, b, out], grid2d(tilesM * tilesN, ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, m)
    u.u32(1, k)
    u.u32(2, n)
    u.u32(3, tilesN)
    u.u32(4, tilesM)
  }, m * n * k)
  return out
}
