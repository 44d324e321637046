/**
 * Convolution as an implicit GEMM for devices with 8-wide subgroups (lavapipe): the three
 * passes of a convolution are matrix products whose one operand is gathered from the
 * image on the fly (no im2col buffer), computed with the register tiling of
 * `matmul-subgroup.ts` — each subgroup of 8 lanes owns a 16-row × 32-column block of the
 * result, each lane a 16 × vec4 register tile; per step of k a lane loads 2 values of the
 * gathered operand (its two rows, spread to the other lanes with `subgroupBroadcast`) and
 * one vec4 (or 4 scalars) of the dense operand: 64 FMAs for 3–6 loads. On lavapipe, where
 * every storage read is a per-lane load, that ratio is what sets the speed.
 *
 * | pass        | rows (gathered operand)    | columns (dense operand)             | k                       |
 * |-------------|----------------------------|-------------------------------------|-------------------------|
 * | forward     | output positions (n, y, x) | output channels, from Wᵀ (vec4)     | (c, i, j) in the group  |
 * | input grad  | input positions (n, h, w)  | input channels, from flip(W) (vec4) | (o, i, j) in the group  |
 * | weight grad | taps (c, i, j)             | output channels, from g in place    | (n, y, x), split over n |
 *
 * Padding is applied first, by a copy into a zero-padded buffer, so the gathers need no
 * bounds logic. The input gradient with stride 1 is the forward kernel itself, on the
 * output gradient padded by dilation·(K − 1) − padding with the kernel flipped; with a
 * larger stride a gather kernel tests each tap for the stride's divisibility. The weights
 * are rearranged so that a lane's 4 columns are one vec4 (when the column count is a
 * multiple of 4); the weight gradient reads the output gradient where it is (4 scalar
 * loads a step), which measured faster than transposing it first. Kernel sizes are
 * uniforms and the taps a loop: one pipeline serves every kernel size, and the loop ran
 * faster than unrolled taps. Rows and columns past the edge are clamped for loading and
 * skipped when storing. The weight gradient's long k (the whole batch) is split over
 * `splits` workgroups per tile, whose partial results are summed by `reduce`.
 */
import type { Conv2dSpec, Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import type { UniformWriter } from "../uniforms.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"
import { reduce } from "./reduce.ts"

/** Subgroup width the kernels are written for (the backend uses them only where it is exactly 8). */
const subgroupWidth = 8
const rowsPerSubgroup = 16
const colsPerSubgroup = subgroupWidth * 4

/** Subgroups per workgroup along rows (each 16 rows) and columns (each 32 columns). */
export interface ConvGemmConfig {
  readonly subgroupRows: number
  readonly subgroupCols: number
}

/** The largest configuration used: 2 subgroups along rows, 2 along columns (a 32 × 64 tile). */
export const convGemmConfig: ConvGemmConfig = { subgroupRows: 2, subgroupCols: 2 }

/**
 * The configuration for a GEMM of `rows` × `cols`: `base`, with fewer subgroups along a
 * dim that the tile would overhang — one column subgroup for 32 columns or fewer (a conv
 * with 32 channels), fewer row subgroups for few rows (a single-channel 3×3 kernel's weight
 * gradient has 9 rows). Measured on lavapipe for the cnn example's second layer: 2×2 for
 * 64 columns and 2×1 for 32 ran 1.3–1.6× faster than a fixed 4×1.
 */
export const configFor = (rows: number, cols: number, base: ConvGemmConfig = convGemmConfig): ConvGemmConfig => ({
  subgroupRows: Math.max(1, Math.min(base.subgroupRows, Math.ceil(rows / rowsPerSubgroup))),
  subgroupCols: Math.max(1, Math.min(base.subgroupCols, Math.ceil(cols / colsPerSubgroup)))
})

/** Workgroups the weight gradient aims for (tiles × splits), to keep every core busy. */
const weightGradWorkgroups = 48

const specs = new Map<string, KernelSpec>()
const cached = (key: string, make: () => KernelSpec): KernelSpec => {
  let spec = specs.get(key)
  if (spec === undefined) {
    spec = make()
    specs.set(key, spec)
  }
  return spec
}

/** Uniform struct of the GEMM kernels: the geometry, then the tiling. */
const paramsWgsl = /* wgsl */ `
struct Params {
  N: u32, C: u32, H: u32, W: u32, OC: u32, KH: u32, KW: u32,
  sH: u32, sW: u32, pH: u32, pW: u32, dH: u32, dW: u32,
  Cg: u32, OCg: u32, OH: u32, OW: u32, groups: u32,
  tilesN: u32, tilesPerGroup: u32, tilesTotal: u32, chunk: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
`

interface Tiling {
  readonly tilesN: number
  readonly tilesPerGroup: number
  readonly tilesTotal: number
  readonly chunk: number
}

const writeParams = (w: UniformWriter, spec: Conv2dSpec, tiling: Tiling): void => {
  const words = [
    spec.batch, spec.inChannels, spec.height, spec.width, spec.outChannels, spec.kernelH, spec.kernelW,
    spec.strideH, spec.strideW, spec.padH, spec.padW, spec.dilationH, spec.dilationW,
    spec.inChannels / spec.groups, spec.outChannels / spec.groups, spec.outH, spec.outW, spec.groups,
    tiling.tilesN, tiling.tilesPerGroup, tiling.tilesTotal, tiling.chunk
  ]
  words.forEach((v, i) => w.u32(i, v))
}

const tileM = (c: ConvGemmConfig) => rowsPerSubgroup * c.subgroupRows
const tileN = (c: ConvGemmConfig) => colsPerSubgroup * c.subgroupCols

/**
 * WGSL prologue of `main`: finds this workgroup's tile (split s, group g, tile row and
 * column), this subgroup's first row `row0` and this lane's first column `col0`.
 */
const prologue = (c: ConvGemmConfig) => /* wgsl */ `
@compute @workgroup_size(${subgroupWidth * c.subgroupRows * c.subgroupCols})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let tile = wid.y * nwg.x + wid.x;
  if (tile >= u.tilesTotal) { return; }
  let s = tile / (u.tilesPerGroup * u.groups);
  let sg = tile - s * u.tilesPerGroup * u.groups;
  let g = sg / u.tilesPerGroup;
  let t = sg - g * u.tilesPerGroup;
  let tileRow = t / u.tilesN;
  let sub = tid / ${subgroupWidth}u;
  let row0 = tileRow * ${tileM(c)}u + (sub / ${c.subgroupCols}u) * ${rowsPerSubgroup}u;
  let col0 = (t - tileRow * u.tilesN) * ${tileN(c)}u + (sub % ${c.subgroupCols}u) * ${colsPerSubgroup}u + lane * 4u;
  let HW = u.H * u.W;
  let L = u.OH * u.OW;
`

/** Declarations of the 16 accumulators. */
const accumulators = (): string => Array.from({ length: rowsPerSubgroup }, (_, i) => `  var acc${i} = vec4<f32>(0.0);`).join("\n")

/** One step: the 16 rows' values (lane i/2 holds row i in a{i%2}) times this lane's columns `b`. */
const fmas = (indent: string): string =>
  Array.from({ length: rowsPerSubgroup }, (_, i) => `${indent}acc${i} += subgroupBroadcast(a${i % 2}, ${i >> 1}u) * b;`).join("\n")

/**
 * The dense operand: how `b` is loaded at the running index `kb` and how far `kb` moves per
 * step of k. Vec mode reads `Bv` (array<vec4<f32>>, `kb` in vec4 units), scalar mode `Bs`.
 */
const denseOperand = (vec: boolean, binding: number, cols: string) => ({
  decl: vec
    ? `@group(0) @binding(${binding}) var<storage, read> Bv: array<vec4<f32>>;`
    : `@group(0) @binding(${binding}) var<storage, read> Bs: array<f32>;`,
  /** Column offsets of this lane, clamped to the last column (added to `kb`). */
  setup: vec
    ? `  let colv = min(col0, ${cols} - 4u) / 4u;`
    : [0, 1, 2, 3].map((q) => `  let c${q} = min(col0 + ${q}u, ${cols} - 1u);`).join("\n"),
  load: vec ? "Bv[kb + colv]" : "vec4<f32>(Bs[kb + c0], Bs[kb + c1], Bs[kb + c2], Bs[kb + c3])",
  /** Converts an element offset (a multiple of 4 in vec mode) to `kb` units. */
  units: (elements: string) => (vec ? `(${elements}) / 4u` : elements)
})

/** The stores of the 16 × 4 results; `index(row, col)` is the output index (WGSL), `rows` the row count. */
const stores = (rows: string, cols: string, index: (row: string, col: string) => string, rowSetup: (row: string) => string, add: (q: number) => string): string => {
  const lines: Array<string> = []
  for (let i = 0; i < rowsPerSubgroup; i++) {
    lines.push(`  if (row0 + ${i}u < ${rows}) {`)
    lines.push(`    let r = row0 + ${i}u;`)
    lines.push(rowSetup("r"))
    for (let q = 0; q < 4; q++) {
      lines.push(`    if (col0 + ${q}u < ${cols}) { out[${index("r", `col0 + ${q}u`)}] = acc${i}.${"xyzw"[q]}${add(q)}; }`)
    }
    lines.push("  }")
  }
  return lines.join("\n")
}

/**
 * Forward on an unpadded input (`conv2dGemm` pads first): rows = output positions, columns
 * = output channels of group g, k = (c, i, j). Every tap of a valid output position lies
 * inside the input, so the gathers need no bounds logic.
 */
const forwardSpec = (vec: boolean, bias: boolean, c: ConvGemmConfig): KernelSpec => {
  const key = `conv2d:gemm:${vec ? "vec" : "scalar"}:${bias ? "bias" : "nobias"}:${c.subgroupRows}x${c.subgroupCols}`
  return cached(key, () => {
    const dense = denseOperand(vec, 2, "u.OCg")
    const setup: Array<string> = []
    for (let r = 0; r < 2; r++) {
      setup.push(`  let p${r} = min(row0 + ${2}u * lane + ${r}u, u.N * L - 1u);`)
      setup.push(`  let n${r} = p${r} / L;`)
      setup.push(`  let oy${r} = (p${r} - n${r} * L) / u.OW;`)
      setup.push(`  let ox${r} = p${r} - n${r} * L - oy${r} * u.OW;`)
      setup.push(`  let base${r} = (n${r} * u.C + g * u.Cg) * HW + oy${r} * u.sH * u.W + ox${r} * u.sW;`)
    }
    const outBinding = bias ? 4 : 3
    return {
      key,
      inputs: bias ? 3 : 2,
      outputs: 1,
      code: /* wgsl */ `
enable subgroups;
${paramsWgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
${dense.decl}
${bias ? "@group(0) @binding(3) var<storage, read> bias: array<f32>;" : ""}
@group(0) @binding(${outBinding}) var<storage, read_write> out: array<f32>;
${prologue(c)}
${setup.join("\n")}
${dense.setup}
${bias ? `  let bq = vec4<f32>(${[0, 1, 2, 3].map((q) => `bias[g * u.OCg + min(col0 + ${q}u, u.OCg - 1u)]`).join(", ")});` : ""}
${accumulators()}
  // The dense operand is [groups, K, OCg], K = Cg·KH·KW, row k = (c·KH + i)·KW + j.
  var kb = ${dense.units("g * u.Cg * u.KH * u.KW * u.OCg")};
  let kstep = ${dense.units("u.OCg")};
  let rowStep = u.dH * u.W;
  for (var c = 0u; c < u.Cg; c++) {
    var b0 = base0 + c * HW;
    var b1 = base1 + c * HW;
    for (var i = 0u; i < u.KH; i++) {
      for (var j = 0u; j < u.KW; j++) {
        let a0 = X[b0 + j * u.dW];
        let a1 = X[b1 + j * u.dW];
        let b = ${dense.load};
        kb += kstep;
${fmas("        ")}
      }
      b0 += rowStep;
      b1 += rowStep;
    }
  }
${stores("u.N * L", "u.OCg", (_r, col) => `(on * u.OC + g * u.OCg + ${col}) * L + ol`, (r) => `    let on = ${r} / L;\n    let ol = ${r} - on * L;`, (q) => (bias ? ` + bq.${"xyzw"[q]}` : ""))}
}`
    }
  })
}

/**
 * Input gradient by gathering (stride > 1; `conv2dGemmBackwardInput` uses the forward
 * kernel when the stride is 1): rows = input positions, columns = input channels of group
 * g, k = (o, i, j). Output row y taps input row h through tap i when h + pH − i·dH = y·sH,
 * so each tap is tested for the stride's divisibility and the output's bounds.
 */
const backwardInputSpec = (vec: boolean, c: ConvGemmConfig): KernelSpec => {
  const key = `conv2dBackwardInput:gemm:${vec ? "vec" : "scalar"}:${c.subgroupRows}x${c.subgroupCols}`
  return cached(key, () => {
    const dense = denseOperand(vec, 2, "u.Cg")
    const setup: Array<string> = []
    for (let r = 0; r < 2; r++) {
      setup.push(`  let p${r} = min(row0 + ${2}u * lane + ${r}u, u.N * HW - 1u);`)
      setup.push(`  let n${r} = p${r} / HW;`)
      setup.push(`  let h${r} = (p${r} - n${r} * HW) / u.W;`)
      setup.push(`  let w${r} = p${r} - n${r} * HW - h${r} * u.W;`)
      setup.push(`  let base${r} = (n${r} * u.OC + g * u.OCg) * L;`)
    }
    const tapRows: Array<string> = []
    const tapCols: Array<string> = []
    for (let r = 0; r < 2; r++) {
      tapRows.push(`      let ty${r} = i32(h${r} + u.pH) - i32(i * u.dH);`)
      tapRows.push(`      let okh${r} = ty${r} >= 0 && u32(ty${r}) % u.sH == 0u && u32(ty${r}) / u.sH < u.OH;`)
      tapRows.push(`      let yo${r} = oo + (u32(max(ty${r}, 0)) / u.sH) * u.OW;`)
      tapCols.push(`        let tx${r} = i32(w${r} + u.pW) - i32(j * u.dW);`)
      tapCols.push(`        let ok${r} = okh${r} && tx${r} >= 0 && u32(tx${r}) % u.sW == 0u && u32(tx${r}) / u.sW < u.OW;`)
      tapCols.push(`        let a${r} = select(0.0, G[select(0u, base${r} + yo${r} + u32(max(tx${r}, 0)) / u.sW, ok${r})], ok${r});`)
    }
    return {
      key,
      inputs: 2,
      outputs: 1,
      code: /* wgsl */ `
enable subgroups;
${paramsWgsl}
@group(0) @binding(1) var<storage, read> G: array<f32>;
${dense.decl}
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${prologue(c)}
${setup.join("\n")}
${dense.setup}
${accumulators()}
  // W rearranged to [OC, KH·KW, Cg]: row k = ((g·OCg + o)·KH + i)·KW + j.
  var kb = ${dense.units("g * u.OCg * u.KH * u.KW * u.Cg")};
  let kstep = ${dense.units("u.Cg")};
  for (var o = 0u; o < u.OCg; o++) {
    let oo = o * L;
    for (var i = 0u; i < u.KH; i++) {
${tapRows.join("\n")}
      for (var j = 0u; j < u.KW; j++) {
${tapCols.join("\n")}
        let b = ${dense.load};
        kb += kstep;
${fmas("        ")}
      }
    }
  }
${stores("u.N * HW", "u.Cg", (_r, col) => `(on * u.C + g * u.Cg + ${col}) * HW + ol`, (r) => `    let on = ${r} / HW;\n    let ol = ${r} - on * HW;`, () => "")}
}`
    }
  })
}

/**
 * Weight gradient on an unpadded input (`conv2dGemmBackwardWeight` pads first): rows =
 * taps (c, i, j) of group g, columns = output channels of group g, k = (n, y, x) over the
 * images [s·chunk, (s + 1)·chunk) of split s. Writes split s's partial sums at s·OC·K
 * (K = Cg·KH·KW) in the weight's layout [OC, Cg, KH, KW].
 */
const backwardWeightSpec = (c: ConvGemmConfig): KernelSpec => {
  const key = `conv2dBackwardWeight:gemm:${c.subgroupRows}x${c.subgroupCols}`
  return cached(key, () => {
    const setup: Array<string> = []
    for (let r = 0; r < 2; r++) {
      setup.push(`  let p${r} = min(row0 + ${2}u * lane + ${r}u, K - 1u);`)
      setup.push(`  let c${r}_ = p${r} / KK;`)
      setup.push(`  let i${r} = (p${r} - c${r}_ * KK) / u.KW;`)
      setup.push(`  let j${r} = p${r} - c${r}_ * KK - i${r} * u.KW;`)
      setup.push(`  let base${r} = (g * u.Cg + c${r}_) * HW + i${r} * u.dH * u.W + j${r} * u.dW;`)
    }
    return {
      key,
      inputs: 2,
      outputs: 1,
      code: /* wgsl */ `
enable subgroups;
${paramsWgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${prologue(c)}
  let KK = u.KH * u.KW;
  let K = u.Cg * KK;
${setup.join("\n")}
${[0, 1, 2, 3].map((q) => `  let go${q} = (g * u.OCg + min(col0 + ${q}u, u.OCg - 1u)) * L;`).join("\n")}
${accumulators()}
  let n0 = s * u.chunk;
  let n1 = min(u.N, n0 + u.chunk);
  // g is read where it is, [N, OC, OH·OW]: a lane's 4 channels are L apart; k = n·L + y·OW + x.
  for (var n = n0; n < n1; n++) {
    var kb = n * u.OC * L;
    for (var y = 0u; y < u.OH; y++) {
      let rb0 = n * u.C * HW + base0 + y * u.sH * u.W;
      let rb1 = n * u.C * HW + base1 + y * u.sH * u.W;
      for (var x = 0u; x < u.OW; x++) {
        let a0 = X[rb0 + x * u.sW];
        let a1 = X[rb1 + x * u.sW];
        let b = vec4<f32>(G[kb + go0], G[kb + go1], G[kb + go2], G[kb + go3]);
        kb += 1u;
${fmas("        ")}
      }
    }
  }
${stores("K", "u.OCg", (r, col) => `(s * u.OC + g * u.OCg + ${col}) * K + ${r}`, () => "", () => "")}
}`
    }
  })
}

/**
 * WGSL of the zero padding: [planes, H, W] → [planes, H + 2·pH, W + 2·pW], the input in the
 * middle. H, W, pH, pW are constants of the pipeline; the uniform word is the output count.
 */
export const padSpec = (h: number, w: number, padH: number, padW: number): KernelSpec => cached(`conv2d:pad:${h}x${w}:${padH}x${padW}`, (): KernelSpec => ({
  key: `conv2d:pad:${h}x${w}:${padH}x${padW}`,
  inputs: 1,
  outputs: 1,
  code: /* wgsl */ `
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
const H = ${h}u;
const W = ${w}u;
const PH = ${padH}u;
const PW = ${padW}u;
${linearIndexWgsl}
${elementwiseMain} {
  let o = linearIndex(wid, lid, nwg);
  if (o >= u.count) { return; }
  let x = o % (W + 2u * PW);
  let t = o / (W + 2u * PW);
  let y = t % (H + 2u * PH);
  let p = t / (H + 2u * PH);
  let h = y - PH;
  let w = x - PW;
  let inside = y >= PH && h < H && x >= PW && w < W;
  dst[o] = select(0.0, src[select(0u, (p * H + h) * W + w, inside)], inside);
}`
}))

/** A zero-padded copy of [planes, H, W] (or the storage itself when there is no padding). */
const padPlanes = (ctx: KernelContext, a: Storage, planes: number, h: number, w: number, padH: number, padW: number): Storage => {
  if (padH === 0 && padW === 0) return a
  const count = planes * (h + 2 * padH) * (w + 2 * padW)
  const out = ctx.output(count, "float32")
  ctx.dispatch(padSpec(h, w, padH, padW), [a, out], grid2d(Math.ceil(count / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => u.u32(0, count), count)
  return out
}

/**
 * WGSL of the weight rearrangement for the input gradient as a forward convolution:
 * W [OC, Cg, KH, KW] → [OC, (i, j), Cg] with the kernel flipped, element
 * W[o, c, KH − 1 − i, KW − 1 − j] (Cg, KH, KW constants; the uniform word is the count).
 */
export const flipTransposeSpec = (cg: number, kh: number, kw: number): KernelSpec => cached(`conv2d:flipTranspose:${cg}:${kh}x${kw}`, (): KernelSpec => ({
  key: `conv2d:flipTranspose:${cg}:${kh}x${kw}`,
  inputs: 1,
  outputs: 1,
  code: /* wgsl */ `
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
const CG = ${cg}u;
const KH = ${kh}u;
const KW = ${kw}u;
${linearIndexWgsl}
${elementwiseMain} {
  let o = linearIndex(wid, lid, nwg);
  if (o >= u.count) { return; }
  let c = o % CG;
  var t = o / CG;
  let j = t % KW;
  t = t / KW;
  let i = t % KH;
  let oc = t / KH;
  dst[o] = src[((oc * CG + c) * KH + (KH - 1u - i)) * KW + (KW - 1u - j)];
}`
}))

/**
 * WGSL of a batched transpose: [batches, R, C] → [batches, C, R] (32-bit patterns), a
 * thread per element (used for weights, which are small). R and C are constants of the
 * pipeline (divisions by constants are cheap; by uniforms, a scalar loop per lane on
 * lavapipe); the uniform word is the element count. (A 16 × 16 tiled transpose through
 * workgroup memory measured slower on lavapipe, whose workgroup barriers are costly.)
 */
export const transposeSpec = (rows: number, cols: number): KernelSpec => cached(`conv2d:transpose:${rows}x${cols}`, () => ({
  key: `conv2d:transpose:${rows}x${cols}`,
  inputs: 1,
  outputs: 1,
  code: /* wgsl */ `
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
const R = ${rows}u;
const C = ${cols}u;
${linearIndexWgsl}
${elementwiseMain} {
  let o = linearIndex(wid, lid, nwg);
  if (o >= u.count) { return; }
  let r = o % R;
  let t = o / R;
  let c = t % C;
  let b = t / C;
  dst[o] = src[(b * R + r) * C + c];
}`
}))

/** [batches, rows, cols] → [batches, cols, rows] as a fresh storage. */
export const transposeBatched = (ctx: KernelContext, a: Storage, batches: number, rows: number, cols: number): GpuStorage => {
  const count = batches * rows * cols
  const out = ctx.output(count, "float32")
  if (count > 0) {
    ctx.dispatch(transposeSpec(rows, cols), [a, out], grid2d(Math.ceil(count / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => u.u32(0, count), count)
  }
  return out
}

const macs = (spec: Conv2dSpec): number =>
  spec.batch * spec.outChannels * spec.outH * spec.outW * (spec.inChannels / spec.groups) * spec.kernelH * spec.kernelW

/**
 * The forward GEMM on an unpadded input `x` with the dense operand `dense` already
 * arranged as [groups, Cg·KH·KW, OCg] (`spec.padH`/`padW` must be 0).
 */
const forwardCore = (ctx: KernelContext, x: Storage, dense: Storage, bias: Storage | undefined, spec: Conv2dSpec, base: ConvGemmConfig): GpuStorage => {
  const OCg = spec.outChannels / spec.groups
  const M = spec.batch * spec.outH * spec.outW
  const config = configFor(M, OCg, base)
  const out = ctx.output(M * spec.outChannels, "float32")
  const tilesN = Math.ceil(OCg / tileN(config))
  const tilesPerGroup = Math.ceil(M / tileM(config)) * tilesN
  const tiling: Tiling = { tilesN, tilesPerGroup, tilesTotal: tilesPerGroup * spec.groups, chunk: 0 }
  const storages = bias === undefined ? [x, dense, out] : [x, dense, bias, out]
  const kernel = forwardSpec(OCg % 4 === 0, bias !== undefined, config)
  ctx.dispatch(kernel, storages, grid2d(tiling.tilesTotal, ctx.maxWorkgroupsPerDimension), (u) => writeParams(u, spec, tiling), macs(spec))
  return out
}

/** `spec` on the zero-padded input: the same output, no padding left. */
const unpadded = (spec: Conv2dSpec): Conv2dSpec => ({
  ...spec,
  height: spec.height + 2 * spec.padH,
  width: spec.width + 2 * spec.padW,
  padH: 0,
  padW: 0
})

/** Forward: pad the input (when padded), arrange Wᵀ, then the GEMM (see the module comment). */
export const conv2dGemm = (ctx: KernelContext, x: Storage, weight: Storage, bias: Storage | undefined, spec: Conv2dSpec, base = convGemmConfig): GpuStorage => {
  const Cg = spec.inChannels / spec.groups
  const OCg = spec.outChannels / spec.groups
  const xp = padPlanes(ctx, x, spec.batch * spec.inChannels, spec.height, spec.width, spec.padH, spec.padW)
  const wt = transposeBatched(ctx, weight, spec.groups, OCg, Cg * spec.kernelH * spec.kernelW) // [groups, K, OCg]
  const out = forwardCore(ctx, xp, wt, bias, unpadded(spec), base)
  ctx.release(wt)
  if (xp !== x) ctx.release(xp)
  return out
}

/**
 * Input gradient. With stride 1 it is a forward convolution of the output gradient, padded
 * by dilation·(K − 1) − padding on each side, with the flipped kernel and the roles of the
 * channels swapped (dx = g ⋆ flip(W)ᵀ); otherwise (stride > 1, or padding beyond the
 * kernel span) the gather kernel, which tests each tap for the stride's divisibility.
 */
export const conv2dGemmBackwardInput = (ctx: KernelContext, g: Storage, weight: Storage, spec: Conv2dSpec, base = convGemmConfig): GpuStorage => {
  const Cg = spec.inChannels / spec.groups
  const OCg = spec.outChannels / spec.groups
  const KK = spec.kernelH * spec.kernelW
  const fullH = spec.dilationH * (spec.kernelH - 1) - spec.padH
  const fullW = spec.dilationW * (spec.kernelW - 1) - spec.padW
  if (spec.strideH === 1 && spec.strideW === 1 && fullH >= 0 && fullW >= 0) {
    const gp = padPlanes(ctx, g, spec.batch * spec.outChannels, spec.outH, spec.outW, fullH, fullW)
    const count = spec.outChannels * KK * Cg
    const wf = ctx.output(count, "float32") // [groups, (o, i, j), Cg], flipped
    ctx.dispatch(flipTransposeSpec(Cg, spec.kernelH, spec.kernelW), [weight, wf], grid2d(Math.ceil(count / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension), (u) => u.u32(0, count), count)
    const transposed: Conv2dSpec = {
      batch: spec.batch, inChannels: spec.outChannels, height: spec.outH + 2 * fullH, width: spec.outW + 2 * fullW,
      outChannels: spec.inChannels, kernelH: spec.kernelH, kernelW: spec.kernelW, strideH: 1, strideW: 1, padH: 0, padW: 0,
      dilationH: spec.dilationH, dilationW: spec.dilationW, groups: spec.groups, outH: spec.height, outW: spec.width
    }
    const out = forwardCore(ctx, gp, wf, undefined, transposed, base)
    ctx.release(wf)
    if (gp !== g) ctx.release(gp)
    return out
  }
  const M = spec.batch * spec.height * spec.width
  const config = configFor(M, Cg, base)
  const out = ctx.output(M * spec.inChannels, "float32")
  const wt = transposeBatched(ctx, weight, spec.outChannels, Cg, KK) // [OC, KK, Cg]
  const tilesN = Math.ceil(Cg / tileN(config))
  const tilesPerGroup = Math.ceil(M / tileM(config)) * tilesN
  const tiling: Tiling = { tilesN, tilesPerGroup, tilesTotal: tilesPerGroup * spec.groups, chunk: 0 }
  ctx.dispatch(backwardInputSpec(Cg % 4 === 0, config), [g, wt, out], grid2d(tiling.tilesTotal, ctx.maxWorkgroupsPerDimension), (u) => writeParams(u, spec, tiling), macs(spec))
  ctx.release(wt)
  return out
}

/** Weight gradient: pad the input (when padded), the GEMM split over the batch, then the sum of the splits. */
export const conv2dGemmBackwardWeight = (ctx: KernelContext, g: Storage, x: Storage, spec: Conv2dSpec, base = convGemmConfig): GpuStorage => {
  const Cg = spec.inChannels / spec.groups
  const OCg = spec.outChannels / spec.groups
  const K = Cg * spec.kernelH * spec.kernelW
  const config = configFor(K, OCg, base)
  const size = spec.outChannels * K
  const xp = padPlanes(ctx, x, spec.batch * spec.inChannels, spec.height, spec.width, spec.padH, spec.padW)
  const tilesN = Math.ceil(OCg / tileN(config))
  const tilesPerGroup = Math.ceil(K / tileM(config)) * tilesN
  const tiles = tilesPerGroup * spec.groups
  const wanted = Math.min(spec.batch, Math.max(1, Math.ceil(weightGradWorkgroups / tiles)))
  const chunk = Math.ceil(spec.batch / wanted)
  const splits = Math.ceil(spec.batch / chunk)
  const partial = ctx.output(splits * size, "float32")
  const tiling: Tiling = { tilesN, tilesPerGroup, tilesTotal: tiles * splits, chunk }
  const kernel = backwardWeightSpec(config)
  ctx.dispatch(kernel, [xp, g, partial], grid2d(tiling.tilesTotal, ctx.maxWorkgroupsPerDimension), (u) => writeParams(u, unpadded(spec), tiling), macs(spec))
  if (xp !== x) ctx.release(xp)
  if (splits === 1) return partial
  const out = reduce(ctx, "sum", partial, 1, splits, size)
  ctx.release(partial)
  return out
}
