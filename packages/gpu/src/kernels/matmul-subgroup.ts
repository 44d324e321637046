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
 * layer, went from 17 to 30 GFLOP/s with it). A is read (`AMode`) as 2 scalars per step, or,
 * when A is not transposed and k % 4 = 0, as one vec4 along k per row every 4 steps:
 * lavapipe's cost is per load instruction a lane issues (each is a loop over the lanes
 * with bounds checks), whatever its width.
 *
 * B "texture": op(B) was packed into an rgba32float texture (`matmul-texture.ts`), read
 * with `textureLoad`, which lavapipe runs as a gather for the 8 lanes instead of a loop over
 * them. Each lane then takes two vec4 columns (32 apart) and the subgroup 24 rows: a 24 × 64
 * block, 3 A loads and 8 texel loads per lane every 4 steps for 768 FMAs. Measured at 960³
 * and 1024³ (GPU timestamps, variants interleaved): 5–25 % faster than 16 × 32, 32 × 32,
 * 16 × 64, 16 × 96, 32 × 64 and 24 × 96 blocks, and than 8 steps per iteration, A from a
 * texture too, or B from workgroup memory. Removing loads shows where its time goes: B's
 * texel loads about 35–40 %, A's loads about 25 %, the FMAs and accumulator updates the
 * rest. Requires `subgroups` with size exactly 8.
 */
import type { KernelSpec } from "../pipelines.ts"
import { type Epilogue, epilogueBindings, epilogueKey, noEpilogue } from "./epilogue.ts"

/** Subgroup width this kernel is written for. */
export const subgroupWidth = 8

/** How a lane reads its 4 columns of op(B) (see the module comment). */
export type BMode = "scalar" | "vecN" | "vecK" | "texture"

/**
 * How a lane reads its rows of op(A): one scalar per row and step; a vec4 along k every 4
 * steps (A not transposed, k % 4 = 0); or, when A is transposed ([k, m] in memory, m % 4 = 0,
 * k % 4 = 0), a vec4 of 4 consecutive rows: lanes 0–3 read the subgroup's 16 rows at
 * steps p and p + 2, lanes 4–7 at p + 1 and p + 3 (2 loads per lane every 4 steps).
 */
export type AMode = "scalar" | "vecK" | "vecM"

/**
 * How a lane stores its vec4s of C (and of an epilogue's Act): "vec4" as one store each
 * (n % 4 = 0; every lane's columns start at a multiple of 4), else 4 scalar stores.
 */
export type CMode = "scalar" | "vec4"

/** The load and store modes of one kernel variant. */
export interface SubgroupLoadModes {
  readonly a: AMode
  readonly b: BMode
  readonly c: CMode
}

/** Shape of the subgroup kernel's workgroup. */
export interface SubgroupMatmulConfig {
  /** Subgroups per workgroup along rows. */
  readonly subgroupRows: number
  /** Subgroups per workgroup along columns. */
  readonly subgroupCols: number
}

/** The configuration the backend uses (1×1 to 2×4 measured alike on lavapipe). */
export const subgroupMatmulConfig: SubgroupMatmulConfig = { subgroupRows: 2, subgroupCols: 2 }

/**
 * The workgroup shape of the texture mode, fixed rather than tuned: at 1024³ on lavapipe
 * (kernel alone, GPU timestamps, shapes interleaved twice) 2×2 measured 58–59 GFLOP/s,
 * 2×1 50–57, 1×1 45–53, 1×2 47–49, 4×1 and 4×2 43–44. The autotune tunes the storage-buffer
 * modes, which training's smaller products use.
 */
export const textureMatmulConfig: SubgroupMatmulConfig = { subgroupRows: 2, subgroupCols: 2 }

/** Rows of C per subgroup: 16 register rows per lane, 24 when B is read from a texture. */
const subgroupRowsOf = (b: BMode): number => (b === "texture" ? 24 : 16)
/** vec4 columns of C per lane: 2 (32 columns apart) when B is read from a texture, else 1. */
const laneVecsOf = (b: BMode): number => (b === "texture" ? 2 : 1)
/** Columns of C per subgroup. */
const colsPerSubgroup = (b: BMode): number => subgroupWidth * 4 * laneVecsOf(b)
/** Name of the accumulator of register row `i` and vec4 column `v`. */
const accName = (i: number, v: number): string => (v === 0 ? `acc${i}` : `acc${i}_${v}`)
/** Name of the op(B) vec4 of step `s` and vec4 column `v`. */
const bName = (s: number, v: number): string => (v === 0 ? `b${s}` : `b${s}_${v}`)

/** Rows of C per workgroup. */
export const subgroupTileM = (c: SubgroupMatmulConfig = subgroupMatmulConfig, b: BMode = "vecN"): number => subgroupRowsOf(b) * c.subgroupRows
/** Columns of C per workgroup. */
export const subgroupTileN = (c: SubgroupMatmulConfig = subgroupMatmulConfig, b: BMode = "vecN"): number => colsPerSubgroup(b) * c.subgroupCols

const specs = new Map<string, KernelSpec>()
/** `acc += a·b` (vec4 accumulator, scalar a, vec4 b). (WGSL `fma` measured no faster on lavapipe.) */
const mad = (acc: string, a: string, b: string): string => `  ${acc} += ${a} * ${b};`

/** What one loop over k needs to know to emit its body. */
interface IterationModes {
  /** Rows of C per subgroup. */
  readonly rows: number
  readonly aVec: boolean
  readonly aVecM: boolean
  readonly bVecK: boolean
  readonly bMode: BMode
  readonly transB: boolean
  readonly aStride: string
  readonly rowSums: boolean
}

/**
 * WGSL of a loop over k from `from` to `end` taking `group` steps per iteration: the
 * iteration's loads first, then the FMAs row by row, so that each accumulator is updated
 * `group` times in a row (lavapipe then keeps it in registers across them instead of a
 * masked load/store per update; the summation order over k is unchanged).
 */
const iteration = (group: number, end: string, from: string, m: IterationModes): Array<string> => {
  const rowsPerSubgroup = m.rows
  const rowsPerLane = rowsPerSubgroup / subgroupWidth
  const vecs = laneVecsOf(m.bMode)
  const lines = [`for (var p = ${from}; p < ${end}; p += ${group}u) {`]
  if (m.aVec) for (let r = 0; r < rowsPerLane; r++) lines.push(`  let xa${r} = A[ra${r} + p / 4u];`)
  if (m.aVecM) for (let h = 0; h < 2; h++) lines.push(`  let xm${h} = A[(p + ${2 * h}u + ah) * (u.m / 4u) + rq];`)
  if (m.bVecK) for (let j = 0; j < 4; j++) lines.push(`  let v${j} = B[ck${j} + p / 4u];`)
  const at = (s: number): string => (s === 0 ? "p" : `p + ${s}u`)
  for (let s = 0; s < group; s++) {
    const c = "xyzw"[s]!
    if (!m.aVec && !m.aVecM) for (let r = 0; r < rowsPerLane; r++) lines.push(`  let x${r}_${s} = A[ra${r} + (${at(s)}) * ${m.aStride}];`)
    const loadB = m.bVecK
      ? `vec4<f32>(v0.${c}, v1.${c}, v2.${c}, v3.${c})`
      : m.bMode === "texture"
        ? `textureLoad(BT, vec2<u32>(ct0, ${at(s)}), 0)`
        : m.bMode === "vecN"
        ? `B[(${at(s)}) * (u.n / 4u) + min(col0, u.n - 4u) / 4u]`
        : m.transB
          ? `vec4<f32>(B[cb0 + ${at(s)}], B[cb1 + ${at(s)}], B[cb2 + ${at(s)}], B[cb3 + ${at(s)}])`
          : `vec4<f32>(B[cb0 + (${at(s)}) * u.n], B[cb1 + (${at(s)}) * u.n], B[cb2 + (${at(s)}) * u.n], B[cb3 + (${at(s)}) * u.n])`
    lines.push(`  let b${s} = ${loadB};`)
    for (let v = 1; v < vecs; v++) lines.push(`  let ${bName(s, v)} = textureLoad(BT, vec2<u32>(ct${v}, ${at(s)}), 0);`)
  }
  const aValue = (r: number, s: number): string => (m.aVec ? `xa${r}.${"xyzw"[s]!}` : `x${r}_${s}`)
  if (m.rowSums && m.aVecM) lines.push("  rsm += xm0 + xm1;")
  else if (m.rowSums) for (let r = 0; r < rowsPerLane; r++) for (let s = 0; s < group; s++) lines.push(`  rs${r} += ${aValue(r, s)};`)
  if (m.aVecM) {
    // Rows 4Q..4Q+3 at step s come from lane (s % 2)·4 + Q, load s / 2.
    for (let q = 0; q < rowsPerSubgroup / 4; q++) {
      for (let s = 0; s < 4; s++) lines.push(`  let t${q}_${s} = subgroupBroadcast(xm${s >> 1}, ${(s & 1) * 4 + q}u);`)
      for (let i = 4 * q; i < 4 * q + 4; i++) for (let s = 0; s < 4; s++) lines.push(mad(`acc${i}`, `t${q}_${s}.${"xyzw"[i & 3]!}`, `b${s}`))
    }
    lines.push("}")
    return lines
  }
  for (let i = 0; i < rowsPerSubgroup; i++) {
    const r = i % rowsPerLane
    const from = `${Math.floor(i / rowsPerLane)}u`
    if (m.aVec) {
      lines.push(`  let a${i} = subgroupBroadcast(xa${r}, ${from});`)
      for (let v = 0; v < vecs; v++) for (let s = 0; s < group; s++) lines.push(mad(accName(i, v), `a${i}.${"xyzw"[s]!}`, bName(s, v)))
    } else {
      for (let s = 0; s < group; s++) lines.push(`  let a${i}_${s} = subgroupBroadcast(x${r}_${s}, ${from});`)
      for (let v = 0; v < vecs; v++) for (let s = 0; s < group; s++) lines.push(mad(accName(i, v), `a${i}_${s}`, bName(s, v)))
    }
  }
  lines.push("}")
  return lines
}

/**
 * WGSL of the subgroup variant for the given transposes, load modes and epilogue (see
 * `epilogue.ts`). The caller checks the modes' conditions (B "vecN": !transB and n % 4 = 0;
 * B "vecK": transB and k % 4 = 0; A "vecK": !transA and k % 4 = 0). Uniform words: m, k, n,
 * tilesN, tilesM.
 */
export const subgroupMatmulSpec = (transA: boolean, transB: boolean, modes: SubgroupLoadModes, config: SubgroupMatmulConfig = subgroupMatmulConfig, epilogue: Epilogue = noEpilogue): KernelSpec => {
  const { subgroupRows, subgroupCols } = config
  const { a: aMode, b: bMode } = modes
  const key = `matmul:subgroup:${transA ? "T" : "N"}${transB ? "T" : "N"}:${aMode}:${bMode}${modes.c === "vec4" ? ":c4" : ""}:${subgroupRows}x${subgroupCols}${epilogueKey(epilogue)}`
  let spec = specs.get(key)
  if (spec === undefined) {
    const rowsPerSubgroup = subgroupRowsOf(bMode)
    const rowsPerLane = rowsPerSubgroup / subgroupWidth
    const vecs = laneVecsOf(bMode)
    const texture = bMode === "texture"
    const aVec = aMode === "vecK"
    const aVecM = aMode === "vecM"
    // op(A)[row, p] = A[ra + p * aStride] (in vec4 units along k when aVec); ra is clamped to the last row.
    const aStride = transA ? "u.m" : "1u"
    const setup: Array<string> = []
    for (let r = 0; r < rowsPerLane; r++) {
      const row = `min(row0 + ${rowsPerLane}u * lane + ${r}u, u.m - 1u)`
      setup.push(`let ra${r} = ${transA ? row : `${row} * ${aVec ? "(u.k / 4u)" : "u.k"}`};`)
    }
    // Column j of this lane, clamped to the last column: op(B)[p, col j] = B[cb_j + p * bStride].
    for (let j = 0; j < 4; j++) {
      const col = `min(col0 + ${j}u, u.n - 1u)`
      setup.push(`let cb${j} = ${transB ? `${col} * u.k` : col};`)
    }
    for (let i = 0; i < rowsPerSubgroup; i++) for (let v = 0; v < vecs; v++) setup.push(`var ${accName(i, v)} = vec4<f32>(0.0);`)
    if (epilogue.rowSums) for (let r = 0; r < rowsPerLane; r++) setup.push(`var rs${r} = 0.0;`)
    if (aVecM) {
      // This lane's quad of rows (clamped to the last full quad) and which steps it loads.
      setup.push("let rq = min(row0 + 4u * (lane % 4u), u.m - 4u) / 4u;", "let ah = lane / 4u;")
      if (epilogue.rowSums) setup.push("var rsm = vec4<f32>(0.0);")
    }
    if (bMode === "vecK") for (let j = 0; j < 4; j++) setup.push(`let ck${j} = cb${j} / 4u;`)
    // The texels of this lane's vec4 columns (the texture is ceil(n / 4) texels wide, zero-padded).
    if (texture) for (let v = 0; v < vecs; v++) setup.push(`let ct${v} = min(col0 + ${32 * v}u, u.n - 1u) / 4u;`)
    // Steps of k per loop iteration: 4, with vec4 loads along k where the modes allow (then
    // k % 4 = 0), else scalar steps and a tail loop for the last k % 4.
    const vecK = aVec || aVecM || bMode === "vecK"
    const loop = [
      ...iteration(4, vecK ? "u.k" : "(u.k & ~3u)", "0u", { rows: rowsPerSubgroup, aVec, aVecM, bVecK: bMode === "vecK", bMode, transB, aStride, rowSums: epilogue.rowSums }),
      ...(vecK ? [] : iteration(1, "u.k", "(u.k & ~3u)", { rows: rowsPerSubgroup, aVec: false, aVecM: false, bVecK: false, bMode, transB, aStride, rowSums: epilogue.rowSums }))
    ]
    const store: Array<string> = []
    const colOf = (v: number): string => (v === 0 ? "col0" : `col0 + ${32 * v}u`)
    if (epilogue.bias) for (let v = 0; v < vecs; v++) store.push(`let bias4_${v} = loadBias(${colOf(v)});`)
    for (let i = 0; i < rowsPerSubgroup; i++) {
      const stores = Array.from({ length: vecs }, (_, v) => `store(row0 + ${i}u, ${colOf(v)}, ${accName(i, v)}${epilogue.bias ? ` + bias4_${v}` : ""});`)
      store.push(`if (row0 + ${i}u < u.m) { ${stores.join(" ")} }`)
    }
    if (epilogue.rowSums && aVecM) {
      // Lane l's rows 2l, 2l+1 lie in quad l / 2, summed by lanes l / 2 (even steps) and l / 2 + 4 (odd).
      store.push("let rsq = subgroupShuffle(rsm, lane / 2u) + subgroupShuffle(rsm, lane / 2u + 4u);")
      for (let r = 0; r < rowsPerLane; r++) store.push(`rs${r} = rsq[(${rowsPerLane}u * lane + ${r}u) % 4u];`)
    }
    if (epilogue.rowSums) {
      // The subgroups of the first column block of C write the row sums of their rows.
      store.push(`if (col0 == lane * 4u) {`)
      for (let r = 0; r < rowsPerLane; r++) store.push(`  if (row0 + ${rowsPerLane}u * lane + ${r}u < u.m) { RS[row0 + ${rowsPerLane}u * lane + ${r}u] = rs${r}; }`)
      store.push("}")
    }
    // With B in a texture, B is the last binding (after the epilogue's) instead of binding 2.
    const bindings = epilogueBindings(epilogue, texture ? 2 : 3, modes.c === "vec4")
    const bBinding = texture
      ? `@group(0) @binding(${2 + bindings.extraInputs + bindings.outputs}) var BT: texture_2d<f32>;`
      : `@group(0) @binding(2) var<storage, read> B: array<${bMode === "scalar" ? "f32" : "vec4<f32>"}>;`
    spec = {
      key,
      inputs: (texture ? 1 : 2) + bindings.extraInputs,
      outputs: bindings.outputs,
      ...(texture ? { textures: ["read"] as const } : {}),
      code: /* wgsl */ `
enable subgroups;
struct Params { m: u32, k: u32, n: u32, tilesN: u32, tilesM: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> A: array<${aVec || aVecM ? "vec4<f32>" : "f32"}>;
${bBinding}
${bindings.declarations}
${bindings.storeFn}

@compute @workgroup_size(${subgroupWidth * subgroupRows * subgroupCols})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let tile = wid.y * nwg.x + wid.x;
  let tileRow = tile / u.tilesN;
  if (tileRow >= u.tilesM) { return; }
  let sub = tid / ${subgroupWidth}u;
  let row0 = tileRow * ${subgroupTileM(config, bMode)}u + (sub / ${subgroupCols}u) * ${rowsPerSubgroup}u;
  let col0 = (tile - tileRow * u.tilesN) * ${subgroupTileN(config, bMode)}u + (sub % ${subgroupCols}u) * ${colsPerSubgroup(bMode)}u + lane * 4u;
  ${setup.join("\n  ")}
  ${loop.join("\n  ")}
  ${store.join("\n  ")}
}`
    }
    specs.set(key, spec)
  }
  return spec
}
