/**
 * The fast matmul for 8-wide subgroups (lavapipe). On lavapipe every storage read is a
 * per-lane scalar load, so speed follows the values each lane loads, not the FMAs.
 * Here a subgroup of 8 lanes owns a 16-row × 32-column block of C; each lane keeps a
 * 16 × vec4 register tile. Per step of k a lane loads just 2 values of op(A) (rows 2l,
 * 2l+1) and its 4 values of op(B); `subgroupBroadcast` spreads the 16 A values to every
 * lane. That is 6 loads per 64 FMAs, with no workgroup memory and no barriers. Rows and
 * columns past the edge are clamped for loading and skipped when storing, so any m, k,
 * n works. Requires `subgroups` with a subgroup size of exactly 8.
 */
import type { KernelSpec } from "../pipelines.ts"

/** Subgroup width this kernel is written for. */
export const subgroupWidth = 8
/** Rows of C per subgroup (16 register rows per lane). */
const rowsPerSubgroup = 16
/** Columns of C per subgroup (a vec4 per lane). */
const colsPerSubgroup = subgroupWidth * 4
/** Subgroups per workgroup, as rows × cols. */
const subgroupRows = 2
const subgroupCols = 2
/** Rows of C per workgroup. */
export const subgroupTileM = rowsPerSubgroup * subgroupRows
/** Columns of C per workgroup. */
export const subgroupTileN = colsPerSubgroup * subgroupCols

const specs = new Map<string, KernelSpec>()

/** WGSL of the subgroup variant for the given transposes. Uniform words: m, k, n, tilesN, tilesM. */
export const subgroupMatmulSpec = (transA: boolean, transB: boolean): KernelSpec => {
  const key = `matmul:subgroup:${transA ? "T" : "N"}${transB ? "T" : "N"}`
  let spec = specs.get(key)
  if (spec === undefined) {
    const rowsPerLane = rowsPerSubgroup / subgroupWidth
    const lines: Array<string> = []
    // Offsets of op(A)[row, p] = start + p * stride, op(B)[p, col] likewise.
    const aStart = (row: string): string => (transA ? row : `${row} * u.k`)
    const aStride = transA ? "u.m" : "1u"
    const bStart = (col: string): string => (transB ? `${col} * u.k` : col)
    const bStride = transB ? "1u" : "u.n"
    for (let r = 0; r < rowsPerLane; r++) {
      lines.push(`let ra${r} = ${aStart(`min(row0 + ${rowsPerLane}u * lane + ${r}u, u.m - 1u)`)};`)
    }
    for (let j = 0; j < 4; j++) lines.push(`let cb${j} = ${bStart(`min(col0 + ${j}u, u.n - 1u)`)};`)
    for (let i = 0; i < rowsPerSubgroup; i++) lines.push(`var acc${i} = vec4<f32>(0.0);`)
    const body: Array<string> = []
    for (let r = 0; r < rowsPerLane; r++) body.push(`let x${r} = A[ra${r} + p * ${aStride}];`)
    body.push(`let pb = p * ${bStride};`)
    body.push(`let b = vec4<f32>(B[cb0 + pb], B[cb1 + pb], B[cb2 + pb], B[cb3 + pb]);`)
    for (let i = 0; i < rowsPerSubgroup; i++) {
      const srcLane = Math.floor(i / rowsPerLane)
      body.push(`acc${i} += subgroupBroadcast(x${i % rowsPerLane}, ${srcLane}u) * b;`)
    }
    const store: Array<string> = []
    for (let i = 0; i < rowsPerSubgroup; i++) {
      store.push(`if (row0 + ${i}u < u.m) { store(row0 + ${i}u, col0, acc${i}); }`)
    }
    spec = {
      key,
      inputs: 2,
      outputs: 1,
      code: /* wgsl */ `
enable subgroups;
struct Params { m: u32, k: u32, n: u32, tilesN: u32, tilesM: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

fn store(row: u32, col: u32, v: vec4<f32>) {
  let base = row * u.n;
  if (col < u.n) { C[base + col] = v.x; }
  if (col + 1u < u.n) { C[base + col + 1u] = v.y; }
  if (col + 2u < u.n) { C[base + col + 2u] = v.z; }
  if (col + 3u < u.n) { C[base + col + 3u] = v.w; }
}

@compute @workgroup_size(${subgroupWidth * subgroupRows * subgroupCols})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let tile = wid.y * nwg.x + wid.x;
  let tileRow = tile / u.tilesN;
  if (tileRow >= u.tilesM) { return; }
  let sub = tid / ${subgroupWidth}u;
  let row0 = tileRow * ${subgroupTileM}u + (sub / ${subgroupCols}u) * ${rowsPerSubgroup}u;
  let col0 = (tile - tileRow * u.tilesN) * ${subgroupTileN}u + (sub % ${subgroupCols}u) * ${colsPerSubgroup}u + lane * 4u;
  ${lines.join("\n  ")}
  for (var p = 0u; p < u.k; p++) {
    ${body.join("\n    ")}
  }
  ${store.join("\n  ")}
}`
    }
    specs.set(key, spec)
  }
  return spec
}
