/**
 * Gathering a batch from data resident on the device.
 *
 * - `gatherRows`: out[r, :] = a[index[r], :] over 32-bit words (float32 or int32 alike);
 *   one thread per output word.
 * - `gatherBytes`: samples of `features` bytes packed 4 to a word (little-endian), each
 *   byte mapped through a 256-entry float table (normalisation: the same table the CPU
 *   uses, so the values are bit-identical). When `features` is a multiple of 4 a thread
 *   turns one packed word into a vec4 of outputs; otherwise one thread per byte.
 */
import type { Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"

/** WGSL of `gatherRows`. Uniform words: n = rows·cols, cols. */
export const gatherRowsSpec: KernelSpec = {
  key: "gatherRows",
  inputs: 2,
  outputs: 1,
  code: /* wgsl */ `
struct Params { n: u32, cols: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i >= u.n) { return; }
  let r = i / u.cols;
  out[i] = a[index[r] * u.cols + (i - r * u.cols)];
}`
}

/** WGSL of `gatherBytes` for whole words (features % 4 = 0). Uniform words: n = rows·features/4, words per sample. */
export const gatherBytesWordsSpec: KernelSpec = {
  key: "gatherBytes:words",
  inputs: 3,
  outputs: 1,
  code: /* wgsl */ `
struct Params { n: u32, words: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> data: array<u32>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i >= u.n) { return; }
  let r = i / u.words;
  let w = data[index[r] * u.words + (i - r * u.words)];
  out[i] = vec4<f32>(table[w & 255u], table[(w >> 8u) & 255u], table[(w >> 16u) & 255u], table[w >> 24u]);
}`
}

/** WGSL of `gatherBytes` for any feature count. Uniform words: n = rows·features, features. */
export const gatherBytesSpec: KernelSpec = {
  key: "gatherBytes:bytes",
  inputs: 3,
  outputs: 1,
  code: /* wgsl */ `
struct Params { n: u32, features: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> data: array<u32>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
${linearIndexWgsl}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  if (i >= u.n) { return; }
  let r = i / u.features;
  let k = index[r] * u.features + (i - r * u.features);
  out[i] = table[(data[k >> 2u] >> ((k & 3u) * 8u)) & 255u];
}`
}

/** out[r, :] = a[index[r], :] for rows of `cols` 32-bit values. */
export const gatherRows = (ctx: KernelContext, a: Storage, index: Storage, rows: number, cols: number): GpuStorage => {
  const n = rows * cols
  const out = ctx.output(n, "float32")
  if (n === 0) return out
  ctx.dispatch(gatherRowsSpec, [a, index, out], grid2d(Math.ceil(n / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, n)
    u.u32(1, cols)
  }, n * 3)
  return out
}

/** Normalised float32 rows [rows, features] from packed bytes (see the module comment). */
export const gatherBytes = (ctx: KernelContext, data: Storage, index: Storage, table: Storage, rows: number, features: number): GpuStorage => {
  const n = rows * features
  const out = ctx.output(n, "float32")
  if (n === 0) return out
  const words = features % 4 === 0 && (out.buffer.bytes % 16 === 0)
  const threads = words ? n / 4 : n
  ctx.dispatch(words ? gatherBytesWordsSpec : gatherBytesSpec, [data, index, table, out], grid2d(Math.ceil(threads / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, threads)
    u.u32(1, words ? features / 4 : features)
  }, n * 2)
  return out
}
