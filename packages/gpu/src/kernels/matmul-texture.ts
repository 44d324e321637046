/**
 * Packs op(B) of a matmul into an rgba32float texture for the subgroup kernel's "texture"
 * mode (see `matmul-subgroup.ts`): texel (x, p) holds op(B)[p, 4x .. 4x + 3], with zeros
 * past column n. The texture is ceil(n / 4) texels wide and k tall; a transposed B
 * ([n, k] in memory) is transposed while packing.
 *
 * Packing costs one read of B; the subgroup kernel then reads B ceil(m / 24) times (once
 * per 24-row block) through the texture unit, where each storage read would cost a loop
 * over the lanes. A B packed a second time in the same layout stays packed until its
 * storage is released (`packed.ts`), so repeated products with one weight skip the pass.
 * The texture may be larger than op(B) (the pool rounds sizes up, see
 * `textures.ts`); the kernel reads only texels within it.
 */
import type { MatmulSpec, Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import type { PooledTexture } from "../textures.ts"
import { elementwiseMain, elementwiseWorkgroup, type KernelContext, linearIndexWgsl } from "./context.ts"

/**
 * When a matmul reads B through a texture: "auto" where it pays (`texturePays`), "on"
 * wherever it can (for tests of small shapes), "off" never.
 */
export type TexturePolicy = "auto" | "on" | "off"

/** Rows of C from which reading B from a texture can pay (each subgroup row block reads B once). */
export const textureMinRows = 256

/** Multiply-adds (m·k·n) from which reading B from a texture can pay for the packing pass. */
export const textureMinWork = 2 ** 26

/**
 * True when packing op(B) pays for itself: at least `textureMinRows` rows and
 * `textureMinWork` multiply-adds. Measured on lavapipe (kernel plus packing, GPU
 * timestamps): 1024³ 25–40 % faster, 1000×784×128 (x·Wᵀ) and 512³ about 10–15 %,
 * 512×784×128 even, 384³ and 256×784×128 slower (the pass's fixed cost dominates).
 */
export const texturePays = (spec: MatmulSpec): boolean => spec.m >= textureMinRows && spec.m * spec.k * spec.n >= textureMinWork

/** True when op(B) of `spec` is not empty and fits a texture of the device (width ceil(n / 4), height k). */
export const fitsTexture = (spec: MatmulSpec, maxTextureDimension: number): boolean =>
  spec.k >= 1 && spec.n >= 1 && spec.k <= maxTextureDimension && Math.ceil(spec.n / 4) <= maxTextureDimension

/** Whether `policy` reads B of `spec` through a texture on a device with `maxTextureDimension`. */
export const textureWanted = (spec: MatmulSpec, policy: TexturePolicy, maxTextureDimension: number): boolean =>
  policy !== "off" && (policy === "on" || texturePays(spec)) && fitsTexture(spec, maxTextureDimension)

const specs = new Map<string, KernelSpec>()

/**
 * How a thread packs: "scalar" reads 4 values for its texel; "vecN" (B not transposed,
 * n % 4 = 0) reads its texel as one vec4; "vecK" (B transposed, k % 4 = 0) reads 4 vec4s
 * along k (4 columns × 4 steps) and writes 4 texels. lavapipe pays per load a lane issues.
 */
export type PackMode = "scalar" | "vecN" | "vecK"

/** The packing mode for `spec`'s B. */
export const packMode = (spec: MatmulSpec): PackMode => (spec.transB ? (spec.k % 4 === 0 ? "vecK" : "scalar") : spec.n % 4 === 0 ? "vecN" : "scalar")

/** Steps of k one thread packs in `mode`. */
const stepsPerThread = (mode: PackMode): number => (mode === "vecK" ? 4 : 1)

/** The packing kernel for B stored [k, n] (`transB` false) or [n, k] (true). Uniform words: k, n, width. */
export const packTextureSpec = (transB: boolean, mode: PackMode): KernelSpec => {
  const key = `matmul:pack-texture:${transB ? "T" : "N"}:${mode}`
  let spec = specs.get(key)
  if (spec === undefined) {
    let body: string
    if (mode === "vecN") {
      body = "textureStore(T, vec2<u32>(x, p), B[p * (u.n / 4u) + x]);"
    } else if (mode === "vecK") {
      // Columns 4x..4x+3 (0 past n) at steps p..p+3: c_j holds column 4x + j; texel p + i takes component i of each.
      const cols = [0, 1, 2, 3].map((j) => `let c${j} = select(vec4<f32>(0.0), B[min(4u * x + ${j}u, u.n - 1u) * (u.k / 4u) + p / 4u], 4u * x + ${j}u < u.n);`)
      const stores = [0, 1, 2, 3].map((i) => `textureStore(T, vec2<u32>(x, p + ${i}u), vec4<f32>(c0.${"xyzw"[i]}, c1.${"xyzw"[i]}, c2.${"xyzw"[i]}, c3.${"xyzw"[i]}));`)
      body = [...cols, ...stores].join("\n  ")
    } else {
      body = [0, 1, 2, 3].map((j) => `let v${j} = value(p, 4u * x + ${j}u);`).join("\n  ") + "\n  textureStore(T, vec2<u32>(x, p), vec4<f32>(v0, v1, v2, v3));"
    }
    const valueFn = mode === "scalar" ? `
fn value(p: u32, col: u32) -> f32 {
  if (col >= u.n) { return 0.0; }
  return B[${transB ? "col * u.k + p" : "p * u.n + col"}];
}` : ""
    const steps = stepsPerThread(mode)
    spec = {
      key,
      inputs: 1,
      outputs: 0,
      textures: ["write"],
      code: /* wgsl */ `
struct Params { k: u32, n: u32, width: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> B: array<${mode === "scalar" ? "f32" : "vec4<f32>"}>;
@group(0) @binding(2) var T: texture_storage_2d<rgba32float, write>;
${linearIndexWgsl}${valueFn}
${elementwiseMain} {
  let i = linearIndex(wid, lid, nwg);
  let x = i % u.width;
  let p = (i / u.width) * ${steps}u;
  if (p >= u.k) { return; }
  ${body}
}`
    }
    specs.set(key, spec)
  }
  return spec
}

/** What a packed texture of B depends on besides B's contents: the transpose and op(B)'s k × n. */
export const packLayout = (spec: MatmulSpec): string => `${spec.transB ? "T" : "N"}:${spec.k}x${spec.n}`

/** Encodes the packing of op(B) into a pooled texture; the caller releases it after its last use. */
export const packTexture = (ctx: KernelContext, b: Storage, spec: MatmulSpec): PooledTexture => {
  const width = Math.ceil(spec.n / 4)
  const texture = ctx.texture(width, spec.k)
  const texels = width * spec.k
  const mode = packMode(spec)
  const threads = texels / stepsPerThread(mode)
  ctx.dispatch(packTextureSpec(spec.transB, mode), [b], grid2d(Math.ceil(threads / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => {
    u.u32(0, spec.k)
    u.u32(1, spec.n)
    u.u32(2, width)
  }, texels * 4, [texture])
  return texture
}
