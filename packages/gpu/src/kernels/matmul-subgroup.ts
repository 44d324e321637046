/**
 * The fast matmul for 8-wide subgroups (lavapipe). On lavapipe every storage read is a
 * per-lane load, so speed follows the loads each lane issues, not the FMAs. A subgroup of
 * 8 lanes owns a 16-row × 32-column block of C; each lane keeps a 16 × vec4 register
 * tile. Per step of k a lane loads 2 values of op(A) (rows 2l and 2l+1) and its 4 values
 * of op(B); `subgroupBroadcast` spreads the 16 A values to every lane: 64 FMAs for 3–6
 * loads, with no workgroup memory and no barriers. Rows and columns past the edge are
 * clamped for loading and skipped when storing, so any m, k, n works.
 *
 * B is read in one of three modes (`BMode`): 4 scalars per step; one vec4 along n (B not
 * transposed, n % 4 = 0); or, when B is transposed and k % 4 = 0, one vec4 along k per
 * column every 4 steps, transposed in registers (x·Wᵀ, the forward pass of a linear
 * layer, went from 17 to 30 GFLOP/s with it). Requires `subgroups` with size exactly 8.
 */
import type { KernelSpec } from "../pipelines.ts"
import { type Epilogue, epilogueBindings, epilogueKey, noEpilogue } from "./epilogue.ts"

/** Subgroup width this kernel is written for. */
export const subgroupWidth = 8

/** How a lane reads its 4 columns of op(B) (see the module comment). */
export type BMode = "scalar" | "vecN" | "vecK"

/** Shape of the subgroup kernel's workgroup. */
export interface SubgroupMatmulConfig {
  /** Subgroups per workgroup along rows. */
  readonly subgroupRows: number
  /** Subgroups per workgroup along columns. */
  readonly subgroupCols: number
}

/** The configuration the backend uses (1×1 to 2×4 measured alike on lavapipe). */
export const subgroupMatmulConfig: SubgroupMatmulConfig = { subgroupRows: 2, subgroupCols: 2 }

/** Rows of C per subgroup (16 register rows per lane). */
const rowsPerSubgroup = 16
/** A values each lane loads per step of k. */
const rowsPerLane = rowsPerSubgroup / subgroupWidth
/** Columns of C per subgroup (a vec4 per lane). */
const colsPerSubgroup = subgroupWidth * 4

/** Rows of C per workgroup. */
export const subgroupTileM = (c: SubgroupMatmulConfig = subgroupMatmulConfig): number => rowsPerSubgroup * c.subgroupRows
/** Columns of C per workgroup. */
export const subgroupTileN = (c: SubgroupMatmulConfig = subgroupMatmulConfig): number => colsPerSubgroup * c.subgroupCols

const specs = new Map<string, KernelSpec>()

/** WGSL statements of one step of k at `p`, given how `b${tag}` is loaded (and the row sums of A when `rowSums`). */
const step = (p: string, tag: string, aStride: string, loadB: string, rowSums: boolean): Array<string> => {
  const lines: Array<string> = []
  for (let r = 0; r < rowsPerLane; r++) lines.push(`let x${r}${tag} = A[ra${r} + (${p}) * ${aStride}];`)
  if (rowSums) for (let r = 0; r < rowsPerLane; r++) lines.push(`rs${r} += x${r}${tag};`)
  lines.push(`let b${tag} = ${loadB};`)
  for (let i = 0; i < rowsPerSubgroup; i++) {
    lines.push(`acc${i} += subgroupBroadcast(x${i % rowsPerLane}${tag}, ${Math.floor(i / rowsPerLane)}u) * b${tag};`)
  }
  return lines
}

/**
 * WGSL of the subgroup variant for the given transposes, B mode and epilogue (see
 * `epilogue.ts`). The caller checks the mode's condition ("vecN": !transB and n % 4 = 0;
 * "vecK": transB and k % 4 = 0). Uniform words: m, k, n, tilesN, tilesM.
 */
export const subgroupMatmulSpec = (transA: boolean, transB: boolean, bMode: BMode, config: SubgroupMatmulConfig = subgroupMatmulConfig, epilogue: Epilogue = noEpilogue): KernelSpec => {
  const { subgroupRows, subgroupCols } = config
  const key = `matmul:subgroup:${transA ? "T" : "N"}${transB ? "T" : "N"}:${bMode}:${subgroupRows}x${subgroupCols}${epilogueKey(epilogue)}`
  let spec = specs.get(key)
  if (spec === undefined) {
    // op(A)[row, p] = A[ra + p * aStride]; ra is clamped to the last row.
    const aStride = transA ? "u.m" : "1u"
    const setup: Array<string> = []
    for (let r = 0; r < rowsPerLane; r++) {
      const row = `min(row0 + ${rowsPerLane}u * lane + ${r}u, u.m - 1u)`
      setup.push(`let ra${r} = ${transA ? row : `${row} * u.k`};`)
    }
    // Column j of this lane, clamped to the last column: op(B)[p, col j] = B[cb_j + p * bStride].
    for (let j = 0; j < 4; j++) {
      const col = `min(col0 + ${j}u, u.n - 1u)`
      setup.push(`let cb${j} = ${transB ? `${col} * u.k` : col};`)
    }
    for (let i = 0; i < rowsPerSubgroup; i++) setup.push(`var acc${i} = vec4<f32>(0.0);`)
    if (epilogue.rowSums) for (let r = 0; r < rowsPerLane; r++) setup.push(`var rs${r} = 0.0;`)
    let loop: Array<string>
    if (bMode === "vecK") {
      // Every 4 steps: one vec4 (4 consecutive k) per column, transposed in registers.
      for (let j = 0; j < 4; j++) setup.push(`let ck${j} = cb${j} / 4u;`)
      loop = ["for (var p = 0u; p < u.k; p += 4u) {"]
      for (let j = 0; j < 4; j++) loop.push(`  let v${j} = B[ck${j} + p / 4u];`)
      for (let s = 0; s < 4; s++) {
        const c = "xyzw"[s]!
        loop.push(...step(`p + ${s}u`, `_${s}`, aStride, `vec4<f32>(v0.${c}, v1.${c}, v2.${c}, v3.${c})`, epilogue.rowSums).map((l) => `  ${l}`))
      }
      loop.push("}")
    } else {
      const loadB = bMode === "vecN"
        ? "B[p * (u.n / 4u) + min(col0, u.n - 4u) / 4u]"
        : transB
          ? "vec4<f32>(B[cb0 + p], B[cb1 + p], B[cb2 + p], B[cb3 + p])"
          : "vec4<f32>(B[cb0 + p * u.n], B[cb1 + p * u.n], B[cb2 + p * u.n], B[cb3 + p * u.n])"
      loop = ["for (var p = 0u; p < u.k; p++) {", ...step("p", "", aStride, loadB, epilogue.rowSums).map((l) => `  ${l}`), "}"]
    }
    const store: Array<string> = []
    if (epilogue.bias) store.push("let bias4 = loadBias(col0);")
    for (let i = 0; i < rowsPerSubgroup; i++) store.push(`if (row0 + ${i}u < u.m) { store(row0 + ${i}u, col0, acc${i}${epilogue.bias ? " + bias4" : ""}); }`)
    if (epilogue.rowSums) {
      // The subgroups of the first column block of C write the row sums of their rows.
      store.push(`if (col0 == lane * 4u) {`)
      for (let r = 0; r < rowsPerLane; r++) store.push(`  if (row0 + ${rowsPerLane}u * lane + ${r}u < u.m) { RS[row0 + ${rowsPerLane}u * lane + ${r}u] = rs${r}; }`)
      store.push("}")
    }
    const bindings = epilogueBindings(epilogue, 3)
    spec = {
      key,
      inputs: 2 + bindings.extraInputs,
      outputs: bindings.outputs,
      code: /* wgsl */ `
enable subgroups;
struct Params { m: u32, k: u32, n: u32, tilesN: u32, tilesM: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<${bMode === "scalar" ? "f32" : "vec4<f32>"}>;
${bindings.declarations}
${bindings.storeFn}

@compute @workgroup_size(${subgroupWidth * subgroupRows * subgroupCols})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let tile = wid.y * nwg.x + wid.x;
  let tileRow = tile / u.tilesN;
  if (tileRow >= u.tilesM) { return; }
  let sub = tid / ${subgroupWidth}u;
  let row0 = tileRow * ${subgroupTileM(config)}u + (sub / ${subgroupCols}u) * ${rowsPerSubgroup}u;
  let col0 = (tile - tileRow * u.tilesN) * ${subgroupTileN(config)}u + (sub % ${subgroupCols}u) * ${colsPerSubgroup}u + lane * 4u;
  ${setup.join("\n  ")}
  ${loop.join("\n  ")}
  ${store.join("\n  ")}
}`
    }
    specs.set(key, spec)
  }
  return spec
}
