/**
 * The portable matmul: C[m, n] = op(A)·op(B) with workgroup-shared tiles. A 256-thread
 * workgroup computes a tile of C, each thread a register block (4×4 by default: 64×64
 * tiles; up to 8×8: 128×128, chosen per adapter by `autotune.ts`). Per 16-wide step of k,
 * the workgroup stages the tile's slices of op(A) and op(B) in workgroup memory
 * (zero-padded at the edges, so any m, k, n works), then every thread reads its vec4s of
 * each per k and does its FMAs. Transposes only change the staging loads. Used when the
 * device lacks 8-wide subgroups (see `matmul-subgroup.ts`).
 */
import type { KernelSpec } from "../pipelines.ts"
import { type Epilogue, epilogueBindings, epilogueKey, noEpilogue } from "./epilogue.ts"

/**
 * Register block of a thread: `rowsPerThread` × `colsPerThread` outputs (each 4 or 8). The
 * 16 × 16 threads of a workgroup then cover a (16·rows) × (16·cols) tile of C: 64×64 with
 * the default 4×4, up to 128×128 with 8×8 (16 KiB of workgroup memory, WebGPU's default
 * `maxComputeWorkgroupStorageSize`). Every shape sums each element over k in the same
 * order, so the choice (see `autotune.ts`) changes speed, never results.
 */
export interface TiledMatmulConfig {
  readonly rowsPerThread: 4 | 8
  readonly colsPerThread: 4 | 8
}

/** The default register block (the kernel's original 64×64 tiles). */
export const tiledMatmulConfig: TiledMatmulConfig = { rowsPerThread: 4, colsPerThread: 4 }

/** Threads of a workgroup along each side. */
const side = 16
/** Steps of k staged per barrier. */
const bk = 16

/** Rows of C per workgroup. */
export const tiledTileM = (c: TiledMatmulConfig = tiledMatmulConfig): number => side * c.rowsPerThread
/** Columns of C per workgroup. */
export const tiledTileN = (c: TiledMatmulConfig = tiledMatmulConfig): number => side * c.colsPerThread

/** Bytes of workgroup memory the kernel stages per workgroup. */
export const tiledWorkgroupBytes = (c: TiledMatmulConfig): number => bk * (tiledTileM(c) + tiledTileN(c)) * 4

const specs = new Map<string, KernelSpec>()

/**
 * WGSL of the tiled variant for the given transposes, register block and epilogue (see
 * `epilogue.ts`). Uniform words: m, k, n, tilesN, tilesM.
 */
export const tiledMatmulSpec = (transA: boolean, transB: boolean, epilogue: Epilogue = noEpilogue, config: TiledMatmulConfig = tiledMatmulConfig): KernelSpec => {
  const { rowsPerThread: tm, colsPerThread: tn } = config
  const key = `matmul:tiled:${transA ? "T" : "N"}${transB ? "T" : "N"}:${tm}x${tn}${epilogueKey(epilogue)}`
  let spec = specs.get(key)
  if (spec === undefined) {
    // Index of op(A)[row, col] and op(B)[row, col] in the stored arrays.
    const aIndex = transA ? "col * u.m + row" : "row * u.k + col"
    const bIndex = transB ? "col * u.k + row" : "row * u.n + col"
    const bindings = epilogueBindings(epilogue, 3)
    const rs = epilogue.rowSums
    const tileM = tiledTileM(config)
    const tileN = tiledTileN(config)
    // vec4 groups per step of k in the staged slices, and vec4s each thread stages.
    const groupsA = tileM / 4
    const groupsB = tileN / 4
    const aq = tm / 4
    const bq = tn / 4
    const stage: Array<string> = []
    for (let j = 0; j < groupsA * bk / 256; j++) {
      stage.push(`{ let i = tid + ${256 * j}u; let kc = k0 + i / ${groupsA}u; let ar = row0 + (i % ${groupsA}u) * 4u;`)
      stage.push(`  As[i] = vec4<f32>(loadA(ar, kc), loadA(ar + 1u, kc), loadA(ar + 2u, kc), loadA(ar + 3u, kc)); }`)
    }
    for (let j = 0; j < groupsB * bk / 256; j++) {
      stage.push(`{ let i = tid + ${256 * j}u; let kc = k0 + i / ${groupsB}u; let bc = col0 + (i % ${groupsB}u) * 4u;`)
      stage.push(`  Bs[i] = vec4<f32>(loadB(kc, bc), loadB(kc, bc + 1u), loadB(kc, bc + 2u), loadB(kc, bc + 3u)); }`)
    }
    const accs: Array<string> = []
    const fmas: Array<string> = []
    for (let q = 0; q < aq; q++) fmas.push(`let a${q} = As[kk * ${groupsA}u + ty * ${aq}u + ${q}u];`)
    for (let q = 0; q < bq; q++) fmas.push(`let b${q} = Bs[kk * ${groupsB}u + tx * ${bq}u + ${q}u];`)
    for (let r = 0; r < tm; r++) {
      for (let q = 0; q < bq; q++) {
        accs.push(`var acc${r}_${q} = vec4<f32>(0.0);`)
        fmas.push(`acc${r}_${q} += a${r >> 2}.${"xyzw"[r & 3]} * b${q};`)
      }
    }
    if (rs) {
      for (let q = 0; q < aq; q++) accs.push(`var rowSum${q} = vec4<f32>(0.0);`)
      for (let q = 0; q < aq; q++) fmas.push(`rowSum${q} += a${q};`)
    }
    const store: Array<string> = []
    if (epilogue.bias) for (let q = 0; q < bq; q++) store.push(`let bias${q} = loadBias(c + ${4 * q}u);`)
    for (let r = 0; r < tm; r++) {
      const parts = Array.from({ length: bq }, (_, q) => `store(r + ${r}u, c + ${4 * q}u, acc${r}_${q}${epilogue.bias ? ` + bias${q}` : ""});`)
      store.push(`if (r + ${r}u < u.m) { ${parts.join(" ")} }`)
    }
    if (rs) {
      // The first column of threads of the first column tile writes the row sums of its rows.
      store.push("if (c == 0u) {")
      for (let r = 0; r < tm; r++) store.push(`  if (r + ${r}u < u.m) { RS[r + ${r}u] = rowSum${r >> 2}.${"xyzw"[r & 3]}; }`)
      store.push("}")
    }
    spec = {
      key,
      inputs: 2 + bindings.extraInputs,
      outputs: bindings.outputs,
      code: /* wgsl */ `
struct Params { m: u32, k: u32, n: u32, tilesN: u32, tilesM: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
${bindings.declarations}
${bindings.storeFn}

// As[kk * ${groupsA} + g] holds op(A) rows 4g..4g+3 at k step kk; Bs[kk * ${groupsB} + g] op(B) cols 4g..4g+3.
var<workgroup> As: array<vec4<f32>, ${bk * groupsA}>;
var<workgroup> Bs: array<vec4<f32>, ${bk * groupsB}>;

fn loadA(row: u32, col: u32) -> f32 {
  if (row < u.m && col < u.k) { return A[${aIndex}]; }
  return 0.0;
}
fn loadB(row: u32, col: u32) -> f32 {
  if (row < u.k && col < u.n) { return B[${bIndex}]; }
  return 0.0;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tile = wid.y * nwg.x + wid.x;
  let tileRow = tile / u.tilesN;
  if (tileRow >= u.tilesM) { return; }
  let row0 = tileRow * ${tileM}u;
  let col0 = (tile - tileRow * u.tilesN) * ${tileN}u;
  let tx = tid % ${side}u;
  let ty = tid / ${side}u;
  ${accs.join("\n  ")}
  for (var k0 = 0u; k0 < u.k; k0 += ${bk}u) {
    ${stage.join("\n    ")}
    workgroupBarrier();
    for (var kk = 0u; kk < ${bk}u; kk++) {
      ${fmas.join("\n      ")}
    }
    workgroupBarrier();
  }
  let r = row0 + ty * ${tm}u;
  let c = col0 + tx * ${tn}u;
  ${store.join("\n  ")}
}`
    }
    specs.set(key, spec)
  }
  return spec
}
