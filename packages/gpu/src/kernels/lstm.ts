/**
 * `lstmSequence` and `lstmSequenceBackward`: one LSTM layer over a batch of sequences
 * (see `Backend.lstmSequence` for the equations and `LstmSequenceSpec` for the row
 * layout). Per step the forward encodes two dispatches — the recurrent matmul
 * hₜ₋₁·W_hhᵀ (the device's matmul kernel) and a fused cell kernel that adds the input
 * projection, applies the gate activations, updates c and h and writes hₜ | cₜ and the
 * gates into the sequence buffers — and the backward two: a fused cell-backward kernel
 * (gate gradients, dc carried to the previous step) and the matmul dgatesₜ·W_hh that
 * carries dh back. dW_hh is one matmul over all steps at the end. The outputs are fresh
 * storages allocated by the op; the per-step temporaries are released as soon as their
 * last use is encoded. Source: PyTorch `nn.LSTM` (gate order i, f, g, o).
 */
import type { LstmSequenceSpec, Storage } from "@effect-nn/tensor"
import { grid2d } from "../limits.ts"
import type { KernelSpec } from "../pipelines.ts"
import { elementwiseMain, elementwiseWorkgroup, type GpuStorage, type KernelContext, linearIndexWgsl } from "./context.ts"
import { sliceColumns } from "./columns.ts"
import { matmul } from "./matmul.ts"
import { reduce } from "./reduce.ts"

/**
 * σ and tanh without overflow, as the unary kernels compute them (kernels/unary.ts): the
 * logistic function from e^(−|x|), tanh from an odd Taylor polynomial below 1/8 and from
 * e^(−2|x|) above.
 */
const activationsWgsl = /* wgsl */ `
fn sigmoidf(x: f32) -> f32 {
  let e = exp(-abs(x));
  let r = 1.0 / (1.0 + e);
  return select(e * r, r, x >= 0.0);
}
fn tanhf(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.125) {
    let x2 = x * x;
    return x * (1.0 + x2 * (-0.33333333333 + x2 * (0.13333333333 + x2 * (-0.05396825397 + x2 * 0.02186948854))));
  }
  let e = exp(-2.0 * a);
  return sign(x) * (1.0 - e) / (1.0 + e);
}
`

/**
 * One forward step t, one thread per (b, j): a = xw[r] (+ bias when hasBias, + hw[b] when
 * hasHw), the gates,
 * cₜ from cₜ₋₁ (the previous row of hc, c0, or 0), hₜ; writes gates[r], hc[r] and hₜ into
 * `hnext` [B, H] (the next step's matmul input).
 */
export const lstmCellSpec: KernelSpec = {
  key: "lstmCell",
  inputs: 4,
  outputs: 3,
  code: /* wgsl */ `
struct Params { batch: u32, hidden: u32, t: u32, batchStride: u32, stepStride: u32, hasHw: u32, hasC0: u32, hasBias: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> xw: array<f32>;
@group(0) @binding(2) var<storage, read> hw: array<f32>;
@group(0) @binding(3) var<storage, read> c0: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> hc: array<f32>;
@group(0) @binding(6) var<storage, read_write> gates: array<f32>;
@group(0) @binding(7) var<storage, read_write> hnext: array<f32>;
${activationsWgsl}
${linearIndexWgsl}
${elementwiseMain} {
  let idx = linearIndex(wid, lid, nwg);
  let H = u.hidden;
  if (idx >= u.batch * H) { return; }
  let b = idx / H;
  let j = idx - b * H;
  let r = b * u.batchStride + u.t * u.stepStride;
  let x4 = r * 4u * H + j;
  var ai = xw[x4];
  var af = xw[x4 + H];
  var ag = xw[x4 + 2u * H];
  var ao = xw[x4 + 3u * H];
  if (u.hasBias != 0u) {
    ai += bias[j];
    af += bias[H + j];
    ag += bias[2u * H + j];
    ao += bias[3u * H + j];
  }
  if (u.hasHw != 0u) {
    let h4 = b * 4u * H + j;
    ai += hw[h4];
    af += hw[h4 + H];
    ag += hw[h4 + 2u * H];
    ao += hw[h4 + 3u * H];
  }
  var cp = 0.0;
  if (u.t > 0u) {
    cp = hc[(r - u.stepStride) * 2u * H + H + j];
  } else if (u.hasC0 != 0u) {
    cp = c0[idx];
  }
  let i = sigmoidf(ai);
  let f = sigmoidf(af);
  let g = tanhf(ag);
  let o = sigmoidf(ao);
  let c = f * cp + i * g;
  let h = o * tanhf(c);
  gates[x4] = i;
  gates[x4 + H] = f;
  gates[x4 + 2u * H] = g;
  gates[x4 + 3u * H] = o;
  hc[r * 2u * H + j] = h;
  hc[r * 2u * H + H + j] = c;
  hnext[idx] = h;
}`
}

/**
 * One backward step t, one thread per (b, j): dh = dhc[r, j] + dhnext[b, j], dc = the
 * carry from step t+1 + dhc[r, H + j] + dh·o·(1 − tanh²c); writes the four gate-input
 * gradients into dxw[r] and into `dgt` [B, 4H] (the matmul input). `acc` holds, per
 * thread, the running sums over t of its four gate gradients (acc[b·4H + q], the bias
 * gradient before the sum over b) and then the carry dc·f (acc[B·4H + b·H + j]).
 */
export const lstmCellBackwardSpec: KernelSpec = {
  key: "lstmCellBackward",
  inputs: 5,
  outputs: 3,
  code: /* wgsl */ `
struct Params { batch: u32, hidden: u32, t: u32, batchStride: u32, stepStride: u32, hasDhNext: u32, hasC0: u32, last: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> dhc: array<f32>;
@group(0) @binding(2) var<storage, read> dhnext: array<f32>;
@group(0) @binding(3) var<storage, read> hc: array<f32>;
@group(0) @binding(4) var<storage, read> gates: array<f32>;
@group(0) @binding(5) var<storage, read> c0: array<f32>;
@group(0) @binding(6) var<storage, read_write> dxw: array<f32>;
@group(0) @binding(7) var<storage, read_write> dgt: array<f32>;
@group(0) @binding(8) var<storage, read_write> acc: array<f32>;
${activationsWgsl}
${linearIndexWgsl}
${elementwiseMain} {
  let idx = linearIndex(wid, lid, nwg);
  let H = u.hidden;
  if (idx >= u.batch * H) { return; }
  let b = idx / H;
  let j = idx - b * H;
  let r = b * u.batchStride + u.t * u.stepStride;
  let x4 = r * 4u * H + j;
  let i = gates[x4];
  let f = gates[x4 + H];
  let g = gates[x4 + 2u * H];
  let o = gates[x4 + 3u * H];
  let c = hc[r * 2u * H + H + j];
  var cp = 0.0;
  if (u.t > 0u) {
    cp = hc[(r - u.stepStride) * 2u * H + H + j];
  } else if (u.hasC0 != 0u) {
    cp = c0[idx];
  }
  let tc = tanhf(c);
  var dh = dhc[r * 2u * H + j];
  if (u.hasDhNext != 0u) { dh += dhnext[idx]; }
  let carryAt = u.batch * 4u * H + idx;
  var carry = 0.0;
  if (u.last == 0u) { carry = acc[carryAt]; }
  let dct = carry + dhc[r * 2u * H + H + j] + dh * o * (1.0 - tc * tc);
  let di = dct * g * i * (1.0 - i);
  let df = dct * cp * f * (1.0 - f);
  let dg = dct * i * (1.0 - g * g);
  let dO = dh * tc * o * (1.0 - o);
  dxw[x4] = di;
  dxw[x4 + H] = df;
  dxw[x4 + 2u * H] = dg;
  dxw[x4 + 3u * H] = dO;
  let d4 = b * 4u * H + j;
  dgt[d4] = di;
  dgt[d4 + H] = df;
  dgt[d4 + 2u * H] = dg;
  dgt[d4 + 3u * H] = dO;
  if (u.last != 0u) {
    acc[d4] = di;
    acc[d4 + H] = df;
    acc[d4 + 2u * H] = dg;
    acc[d4 + 3u * H] = dO;
  } else {
    acc[d4] += di;
    acc[d4 + H] += df;
    acc[d4 + 2u * H] += dg;
    acc[d4 + 3u * H] += dO;
  }
  acc[carryAt] = dct * f;
}`
}

/**
 * hₜ₋₁ for every (b, t) in the layout's rows: the h half of the previous row of hc, or h0
 * (or 0) at t = 0 — the right operand of dW_hh = dxwᵀ·hprev. One thread per element.
 */
export const lstmPreviousHiddenSpec: KernelSpec = {
  key: "lstmPreviousHidden",
  inputs: 2,
  outputs: 1,
  code: /* wgsl */ `
struct Params { batch: u32, steps: u32, hidden: u32, batchStride: u32, stepStride: u32, hasH0: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> hc: array<f32>;
@group(0) @binding(2) var<storage, read> h0: array<f32>;
@group(0) @binding(3) var<storage, read_write> hprev: array<f32>;
${linearIndexWgsl}
${elementwiseMain} {
  let idx = linearIndex(wid, lid, nwg);
  let H = u.hidden;
  if (idx >= u.batch * u.steps * H) { return; }
  let bt = idx / H;
  let k = idx - bt * H;
  let b = bt / u.steps;
  let t = bt - b * u.steps;
  let r = b * u.batchStride + t * u.stepStride;
  var v = 0.0;
  if (t > 0u) {
    v = hc[(r - u.stepStride) * 2u * H + k];
  } else if (u.hasH0 != 0u) {
    v = h0[b * H + k];
  }
  hprev[r * H + k] = v;
}`
}

/** What the LSTM kernels need besides encoding: releasing their temporaries. */
type Context = KernelContext & { release(storage: Storage): void }

const groupsFor = (ctx: KernelContext, threads: number) => grid2d(Math.ceil(threads / elementwiseWorkgroup), ctx.maxWorkgroupsPerDimension)

/** The forward: returns [hc [rows, 2H], gates [rows, 4H]]. */
export const lstmSequence = (
  ctx: Context,
  xw: Storage,
  whh: Storage,
  bias: Storage | undefined,
  h0: Storage | undefined,
  c0: Storage | undefined,
  spec: LstmSequenceSpec
): readonly [GpuStorage, GpuStorage] => {
  const { batch: B, steps: T, hidden: H } = spec
  const hc = ctx.output(B * T * 2 * H, "float32")
  const gates = ctx.output(B * T * 4 * H, "float32")
  let hPrev: Storage | undefined = h0
  let owned = false
  for (let t = 0; t < T; t++) {
    // hₜ₋₁·W_hhᵀ: [B, H]·[H, 4H] (W_hh is stored [4H, H]); nothing when hₜ₋₁ is zeros.
    const hw = hPrev === undefined ? undefined : matmul(ctx, hPrev, whh, { m: B, k: H, n: 4 * H, transA: false, transB: true })
    const hNext = ctx.output(B * H, "float32")
    ctx.dispatch(lstmCellSpec, [xw, hw ?? xw, c0 ?? xw, bias ?? xw, hc, gates, hNext], groupsFor(ctx, B * H), (u) => {
      u.u32(0, B)
      u.u32(1, H)
      u.u32(2, t)
      u.u32(3, spec.batchStride)
      u.u32(4, spec.stepStride)
      u.u32(5, hw === undefined ? 0 : 1)
      u.u32(6, c0 === undefined ? 0 : 1)
      u.u32(7, bias === undefined ? 0 : 1)
    }, B * H * 16)
    if (hw !== undefined) ctx.release(hw)
    if (owned && hPrev !== undefined) ctx.release(hPrev)
    hPrev = hNext
    owned = true
  }
  if (owned && hPrev !== undefined) ctx.release(hPrev)
  return [hc, gates]
}

/** The backward: returns [dxw [rows, 4H], dwhh [4H, H], dbias [4H], dh0 [B, H], dc0 [B, H]]. */
export const lstmSequenceBackward = (
  ctx: Context,
  dhc: Storage,
  whh: Storage,
  h0: Storage | undefined,
  c0: Storage | undefined,
  hc: Storage,
  gates: Storage,
  spec: LstmSequenceSpec
): readonly [GpuStorage, GpuStorage, GpuStorage, GpuStorage, GpuStorage] => {
  const { batch: B, steps: T, hidden: H } = spec
  const rows = B * T
  const dxw = ctx.output(rows * 4 * H, "float32")
  const dgt = ctx.output(B * 4 * H, "float32")
  const acc = ctx.output(B * 4 * H + B * H, "float32")
  let dhNext: GpuStorage | undefined
  for (let t = T - 1; t >= 0; t--) {
    ctx.dispatch(lstmCellBackwardSpec, [dhc, dhNext ?? dhc, hc, gates, c0 ?? hc, dxw, dgt, acc], groupsFor(ctx, B * H), (u) => {
      u.u32(0, B)
      u.u32(1, H)
      u.u32(2, t)
      u.u32(3, spec.batchStride)
      u.u32(4, spec.stepStride)
      u.u32(5, dhNext === undefined ? 0 : 1)
      u.u32(6, c0 === undefined ? 0 : 1)
      u.u32(7, t === T - 1 ? 1 : 0)
    }, B * H * 24)
    // dL/dhₜ₋₁ = dgatesₜ·W_hh: [B, 4H]·[4H, H] (after t = 0: dh₀).
    const next = matmul(ctx, dgt, whh, { m: B, k: 4 * H, n: H, transA: false, transB: false })
    if (dhNext !== undefined) ctx.release(dhNext)
    dhNext = next
  }
  ctx.release(dgt)
  const hPrev = ctx.output(rows * H, "float32")
  ctx.dispatch(lstmPreviousHiddenSpec, [hc, h0 ?? hc, hPrev], groupsFor(ctx, rows * H), (u) => {
    u.u32(0, B)
    u.u32(1, T)
    u.u32(2, H)
    u.u32(3, spec.batchStride)
    u.u32(4, spec.stepStride)
    u.u32(5, h0 === undefined ? 0 : 1)
  }, rows * H)
  // dW_hh = Σ_rows dxwᵀ·hprev: dxw [rows, 4H] used transposed, hprev [rows, H] → [4H, H].
  const dwhh = matmul(ctx, dxw, hPrev, { m: 4 * H, k: rows, n: H, transA: true, transB: false })
  ctx.release(hPrev)
  // dbias = Σ_b of the per-sequence sums; dc₀ is the final carry.
  const dbias = reduce(ctx, "sum", acc, 1, B, 4 * H)
  const dc0 = sliceColumns(ctx, acc, 1, B * 4 * H + B * H, B * 4 * H, B * H)
  ctx.release(acc)
  return [dxw, dwhh, dbias, dhNext!, dc0]
}
