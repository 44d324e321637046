/**
 * The portable matmul: C[m, n] = op(A)·op(B) with workgroup-shared tiles. A 256-thread
 * workgroup computes a 64×64 tile of C; each thread a 4×4 register block. Per 16-wide
 * step of k, the workgroup stages a 64×16 slice of op(A) and a 16×64 slice of op(B) in
 * workgroup memory (zero-padded at the edges, so any m, k, n works), then every thread
 * reads one vec4 of each per k and does 16 FMAs. Transposes only change the staging
 * loads. Used when the device lacks 8-wide subgroups (see `matmul-subgroup.ts`).
 */
import type { KernelSpec } from "../pipelines.ts"
import { type Epilogue, epilogueBindings, epilogueKey, noEpilogue } from "./epilogue.ts"

/** Rows and columns of C per workgroup. */
export const tiledTile = 64
const bk = 16

const specs = new Map<string, KernelSpec>()

/**
 * WGSL of the tiled variant for the given transposes and epilogue (see `epilogue.ts`).
 * Uniform words: m, k, n, tilesN, tilesM.
 */
export const tiledMatmulSpec = (transA: boolean, transB: boolean, epilogue: Epilogue = noEpilogue): KernelSpec => {
  const key = `matmul:tiled:${transA ? "T" : "N"}${transB ? "T" : "N"}${epilogueKey(epilogue)}`
  let spec = specs.get(key)
  if (spec === undefined) {
    // Index of op(A)[row, col] and op(B)[row, col] in the stored arrays.
    const aIndex = transA ? "col * u.m + row" : "row * u.k + col"
    const bIndex = transB ? "col * u.k + row" : "row * u.n + col"
    const bindings = epilogueBindings(epilogue, 3)
    const rs = epilogue.rowSums
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

// As[kk * 16 + g] holds op(A) rows 4g..4g+3 at k step kk; Bs[kk * 16 + g] op(B) cols 4g..4g+3.
var<workgroup> As: array<vec4<f32>, ${bk * 16}>;
var<workgroup> Bs: array<vec4<f32>, ${bk * 16}>;

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
  let row0 = tileRow * ${tiledTile}u;
  let col0 = (tile - tileRow * u.tilesN) * ${tiledTile}u;
  let tx = tid % 16u;
  let ty = tid / 16u;
  // Staging coordinates of this thread: k step sk, group sg (4 rows of A / 4 cols of B).
  let sk = tid / 16u;
  let sg = tid % 16u;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  ${rs ? "var rowSum = vec4<f32>(0.0);" : ""}
  for (var k0 = 0u; k0 < u.k; k0 += ${bk}u) {
    let kc = k0 + sk;
    let ar = row0 + sg * 4u;
    As[tid] = vec4<f32>(loadA(ar, kc), loadA(ar + 1u, kc), loadA(ar + 2u, kc), loadA(ar + 3u, kc));
    let bc = col0 + sg * 4u;
    Bs[tid] = vec4<f32>(loadB(kc, bc), loadB(kc, bc + 1u), loadB(kc, bc + 2u), loadB(kc, bc + 3u));
    workgroupBarrier();
    for (var kk = 0u; kk < ${bk}u; kk++) {
      let a = As[kk * 16u + ty];
      let b = Bs[kk * 16u + tx];
      acc0 += a.x * b;
      acc1 += a.y * b;
      acc2 += a.z * b;
      acc3 += a.w * b;
      ${rs ? "rowSum += a;" : ""}
    }
    workgroupBarrier();
  }
  let r = row0 + ty * 4u;
  let c = col0 + tx * 4u;
  ${epilogue.bias ? "let bias4 = loadBias(c);" : ""}
  if (r < u.m) { store(r, c, acc0${epilogue.bias ? " + bias4" : ""}); }
  if (r + 1u < u.m) { store(r + 1u, c, acc1${epilogue.bias ? " + bias4" : ""}); }
  if (r + 2u < u.m) { store(r + 2u, c, acc2${epilogue.bias ? " + bias4" : ""}); }
  if (r + 3u < u.m) { store(r + 3u, c, acc3${epilogue.bias ? " + bias4" : ""}); }
  ${rs ? `// The first column of threads of the first column tile writes the row sums of its 4 rows.
  if (c == 0u) {
    for (var i = 0u; i < 4u; i++) { if (r + i < u.m) { RS[r + i] = rowSum[i]; } }
  }` : ""}
}`
    }
    specs.set(key, spec)
  }
  return spec
}
