/**
 * The contract a device implements. Every op of `@effect-nn/tensor` is written against
 * this interface; `CpuBackend` (the reference oracle) and the WebGPU backend in
 * `@effect-nn/gpu` implement it.
 *
 * Contract:
 * - Storages are flat, row-major, 4 bytes an element (`float32` or `int32`); shapes live in
 *   `Tensor`, not here. Every kernel writes a fresh output storage obtained from `alloc`
 *   and never mutates its inputs.
 * - Kernels are synchronous from the caller's view: a GPU backend only encodes work;
 *   it is submitted at `flush` or at a readback. Work is executed in call order.
 * - A request a device cannot serve (too large for a binding, lost device) throws a
 *   `DeviceError`; bad shapes never reach a backend (ops check them first).
 * - `release` returns a storage to the backend's pool. A released storage must not be
 *   used again (both backends throw `DeviceError` when it is); work already encoded that
 *   reads it still sees its old contents.
 */
import type { DType } from "./dtype.ts"
import type { BatchNormRunning, BatchNormSpec, BatchNormTrainResult, LinearSpec } from "./fused.ts"
import type { AvgPool2dSpec, Conv2dSpec, Pool2dSpec } from "./spatial.ts"
import type { LstmSequenceSpec } from "./recurrent-spec.ts"

/** A block of device memory: `numel` elements of 4 bytes. Backends extend it. */
export interface Storage {
  readonly id: number
  readonly numel: number
  released: boolean
}

/** Element-wise binary ops (with broadcasting through strides); `max` and `min` give NaN when either operand is NaN (`torch.maximum`, `torch.minimum`). */
export type BinaryOp = "add" | "sub" | "mul" | "div" | "max" | "min"

/**
 * Element-wise unary ops. `alpha` is a scalar parameter for `scale` (x·α), `addScalar`
 * (x+α), `pow` (x^α) and `clampMin` (max(x, α)).
 */
export type UnaryOp =
  | "neg" | "exp" | "log" | "sqrt" | "relu" | "step" | "abs" | "square" | "sigmoid" | "tanh"
  | "scale" | "addScalar" | "pow" | "clampMin"

/** Matmul geometry: C[m, n] = op(A) · op(B), with op = transpose when the flag is set. */
export interface MatmulSpec {
  readonly m: number
  readonly k: number
  readonly n: number
  /** A is stored as [k, m] and used transposed. */
  readonly transA: boolean
  /** B is stored as [n, k] and used transposed. */
  readonly transB: boolean
}

/** Hyperparameters of one fused Adam/AdamW update (PyTorch's `torch.optim.Adam(W)`). */
export interface AdamHyper {
  readonly lr: number
  readonly beta1: number
  readonly beta2: number
  readonly eps: number
  /** L2 weight decay added to the gradient (Adam) — 0 for none. */
  readonly weightDecay: number
  /** Decoupled weight decay p ← p·(1 − lr·λ) before the update (AdamW) — 0 for none. */
  readonly decoupledWeightDecay: number
  /** 1 − beta1^t */
  readonly biasCorrection1: number
  /** 1 − beta2^t */
  readonly biasCorrection2: number
}

/** Counters of a backend's memory, for leak tests and benchmarks. */
export interface MemoryStats {
  /** Device allocations that exist now (in use or pooled). */
  readonly liveBuffers: number
  /** Storages handed out and not yet released. */
  readonly inUse: number
  /** Bytes of all live allocations. */
  readonly liveBytes: number
  /** Highest `liveBytes` seen. */
  readonly peakBytes: number
  /** Command buffers submitted so far (0 on the CPU). */
  readonly submits: number
  /** Kernels dispatched so far. */
  readonly dispatches: number
}

export interface Backend {
  /** `"cpu"`, `"webgpu"`, or `"meta"` (shapes only). */
  readonly kind: "cpu" | "webgpu" | "meta"
  /** A human-readable description of the adapter/device. */
  readonly description: string
  /** Largest storage, in bytes, one kernel may bind. */
  readonly maxBindingBytes: number

  /** A new storage of `numel` elements (contents unspecified). Throws `DeviceError` over the limit. */
  alloc(numel: number): Storage
  /** A new storage holding a copy of `data`. */
  upload(data: Float32Array | Int32Array): Storage
  /** Copies a storage back to the host (submits pending work first). */
  read(storage: Storage, dtype: DType): Promise<Float32Array | Int32Array>
  /** Returns a storage to the pool. */
  release(storage: Storage): void
  /** Submits pending work (no-op on the CPU). */
  flush(): void
  /** Memory and work counters. */
  stats(): MemoryStats
  /** Frees pooled memory and the device; the backend is unusable afterwards. */
  destroy(): void

  /** out = value (float32 or int32 bit pattern by dtype). */
  fill(numel: number, value: number, dtype: DType): Storage
  /** C = op(A)·op(B) for float32 A, B. */
  matmul(a: Storage, b: Storage, spec: MatmulSpec): Storage
  /**
   * out[i] = a[ia] ∘ b[ib] over `outShape`, where ia, ib come from row-major indices of
   * `outShape` dotted with `aStrides`/`bStrides` (0 for a broadcast dim). float32.
   */
  binary(op: BinaryOp, a: Storage, b: Storage, outShape: ReadonlyArray<number>, aStrides: ReadonlyArray<number>, bStrides: ReadonlyArray<number>): Storage
  /** out = f(a) element-wise over `numel` float32 values. */
  unary(op: UnaryOp, a: Storage, numel: number, alpha: number): Storage
  /** out = a + alpha·b element-wise (same numel). */
  axpy(a: Storage, b: Storage, numel: number, alpha: number): Storage
  /** out = g where x > 0, else 0 (ReLU's backward; derivative at 0 is 0, and 0 at NaN). */
  reluBackward(x: Storage, g: Storage, numel: number): Storage
  /** Sum over the middle axis of a tensor viewed as [outer, size, inner] → [outer, inner]. */
  reduceSum(a: Storage, outer: number, size: number, inner: number): Storage
  /** Max over the middle axis of [outer, size, inner] → [outer, inner]; NaN where a NaN is reduced (`torch.amax`). */
  reduceMax(a: Storage, outer: number, size: number, inner: number): Storage
  /** Row-wise log-softmax of [rows, cols] (max-subtracted, finite for any finite input). */
  logSoftmax(a: Storage, rows: number, cols: number): Storage
  /** Backward of log-softmax: g − exp(y)·Σ_row g, with y the log-softmax output. */
  logSoftmaxBackward(y: Storage, g: Storage, rows: number, cols: number): Storage
  /** out[r] = a[r, index[r]] for float32 a [rows, cols] and int32 index [rows]. */
  pick(a: Storage, index: Storage, rows: number, cols: number): Storage
  /** Backward of `pick`: [rows, cols] zeros with out[r, index[r]] = g[r]. */
  pickBackward(g: Storage, index: Storage, rows: number, cols: number): Storage
  /** int32 out[r] = argmax over cols of a[r, :] (first index on ties; the first NaN when the row has one, as `torch.argmax`). */
  argmax(a: Storage, rows: number, cols: number): Storage
  /** int32 → float32 conversion (and float32 → int32 by truncation when `toInt`). */
  cast(a: Storage, numel: number, toInt: boolean): Storage
  /**
   * Dropout mask of `numel` float32 values: 1/(1−p) where the unit is kept, 0 where it is
   * dropped (all 0 when p = 1). Unit i is kept when u(seed, i) ≥ p, with u the hash in
   * `dropout-hash.ts` — the same function on every backend, so a seed gives the same
   * mask on the CPU and on the GPU.
   */
  dropoutMask(numel: number, p: number, seed: number): Storage
  /**
   * Element-wise binary cross-entropy with logits, ℓ = y·softplus(−x) + (1−y)·softplus(x),
   * a term skipped when its coefficient is 0 so that ±Infinity logits give 0 or +Infinity,
   * never NaN. softplus(z) = max(z, 0) + log(1 + e^(−|z|)). Source: PyTorch
   * `BCEWithLogitsLoss` (reduction "none").
   */
  bceWithLogits(x: Storage, y: Storage, numel: number): Storage
  /**
   * Concatenates row-major [rows, widths[i]] storages along the last dim → [rows, Σ widths].
   */
  concatColumns(parts: ReadonlyArray<Storage>, rows: number, widths: ReadonlyArray<number>): Storage
  /** Columns [start, start + width) of a [rows, cols] storage → [rows, width]. */
  sliceColumns(a: Storage, rows: number, cols: number, start: number, width: number): Storage
  /** One fused Adam/AdamW step; returns the new [param, m, v]. */
  adam(param: Storage, grad: Storage, m: Storage, v: Storage, numel: number, hyper: AdamHyper): readonly [Storage, Storage, Storage]
  /**
   * `adam` for many parameters at once (as few dispatches as the device's bindings allow):
   * `tensors[i]` = [param, grad, m, v, numel]; returns the new [param, m, v] of each, in order.
   */
  adamMany(tensors: ReadonlyArray<readonly [Storage, Storage, Storage, Storage, number]>, hyper: AdamHyper): ReadonlyArray<readonly [Storage, Storage, Storage]>

  // ---- fused kernels (`fused.ts`): one pass where the composed ops take several ----
  /**
   * A linear layer in one kernel: y = x·Wᵀ + b for x [rows, in], W [out, in] and bias
   * [out] when given, then max(y, 0) when `spec.relu` (NaN stays NaN) → [rows, out].
   * Source: PyTorch `F.linear` (and `F.relu`).
   */
  linear(x: Storage, weight: Storage, bias: Storage | undefined, spec: LinearSpec): Storage
  /**
   * `matmul` plus the row sums of op(A): [C, s] with s[i] = Σ_p op(A)[i, p]. With A the
   * output gradient g [rows, out] used transposed and B the input x, this is a linear
   * layer's dW = gᵀ·x and db = Σ_rows g in one pass.
   */
  matmulRowSums(a: Storage, b: Storage, spec: MatmulSpec): readonly [Storage, Storage]
  /**
   * Mean cross-entropy of logits [rows, cols] against int32 class indices [rows]:
   * [loss, stats] with loss (1 value) = (1/V)·Σ_r∈valid (log s_r − (x[r, t_r] − m_r)), m_r
   * the row's max, s_r = Σ_c exp(x[r, c] − m_r), valid the rows whose index is in
   * [0, cols) and V their count (NaN when V = 0), and stats [2·rows + 1] = (m_r, log s_r)
   * per row, then V, for the backward (kept apart so that [[1e8, 1e8]] still gives ln 2).
   * A row whose index is outside [0, cols) is ignored, as PyTorch ignores `ignore_index`
   * (−100 by default). Source: PyTorch `F.cross_entropy` (reduction "mean").
   */
  crossEntropy(logits: Storage, targets: Storage, rows: number, cols: number): readonly [Storage, Storage]
  /**
   * Gradient of `crossEntropy` with respect to the logits: (exp(x − m − log s) −
   * onehot(t))·g[0]/V with `stats` = (m, log s) per row and V as `crossEntropy` wrote
   * them, g the loss's gradient (1 value on the device) → [rows, cols]; 0 on ignored rows.
   */
  crossEntropyBackward(logits: Storage, stats: Storage, targets: Storage, g: Storage, rows: number, cols: number): Storage
  /**
   * Train-mode batch norm of x [rows, cols] per column: μ, the biased σ², and y = (x − μ)·γ/√(σ² + eps) + β
   * (γ, β [cols] when given, else 1 and 0); with `running`, also the new running_mean
   * (1 − m)·rm + m·μ, running_var (1 − m)·rv + m·σ²·rows/(rows − 1) and num_batches_tracked + 1.
   * Source: PyTorch `F.batch_norm(training=True)`.
   */
  batchNormTrain(x: Storage, weight: Storage | undefined, bias: Storage | undefined, running: BatchNormRunning | undefined, spec: BatchNormSpec): BatchNormTrainResult
  /**
   * Gradient of `batchNormTrain` (through the batch statistics): with x̂ = (x − μ)·s
   * (s = invStd), dβ = Σ_r g, dγ = Σ_r g·x̂, dx = γ·s/rows·(rows·g − dβ − x̂·dγ) →
   * [dx, dγ, dβ] (dγ and dβ undefined without `weight`).
   */
  batchNormBackward(g: Storage, x: Storage, mean: Storage, invStd: Storage, weight: Storage | undefined, spec: BatchNormSpec): readonly [Storage, Storage | undefined, Storage | undefined]
  /** Batch norm with given statistics (eval mode): y = (x − mean)/√(variance + eps)·γ + β per column. */
  batchNormEval(x: Storage, mean: Storage, variance: Storage, weight: Storage | undefined, bias: Storage | undefined, spec: BatchNormSpec): Storage
  /**
   * Inverted dropout in one pass: out[i] = a[i]·m(i) with m the `dropoutMask` of the same
   * `numel`, `p` and `seed` (1/(1−p) where kept, 0 where dropped; a dropped unit gives 0
   * even for an infinite a[i]). Its own backward: the same op applied to the gradient.
   */
  dropoutApply(a: Storage, numel: number, p: number, seed: number): Storage
  /** out[r, :] = a[index[r], :] for 32-bit rows of `cols` values (float32 or int32) → [rows, cols]. */
  gatherRows(a: Storage, index: Storage, rows: number, cols: number): Storage
  /**
   * A batch from bytes resident on the device: `data` holds samples of `features` bytes
   * each, packed 4 to a 32-bit word (little-endian); out[r, j] = table[byte j of sample
   * index[r]] (float32; `table` [256] maps a byte to its normalised value) → [rows, features].
   */
  gatherBytes(data: Storage, index: Storage, table: Storage, rows: number, features: number): Storage

  // ---- spatial (NCHW) kernels: convolution and pooling; geometry in `spatial.ts` ----
  /**
   * 2-D convolution (cross-correlation, zero padding, groups) of x [N, C, H, W] with
   * weight [OC, C/groups, KH, KW], plus bias [OC] when given → [N, OC, OH, OW]
   * (`Conv2dSpec` has the formula). Source: PyTorch `F.conv2d`.
   */
  conv2d(x: Storage, weight: Storage, bias: Storage | undefined, spec: Conv2dSpec): Storage
  /**
   * Gradient of `conv2d` with respect to its input: g [N, OC, OH, OW] and the weight →
   * [N, C, H, W], dx[n, c, h, w] = Σ over (o, i, j) with h = y·sH − pH + i·dH and
   * w = x·sW − pW + j·dW of w[o, c − g·Cg, i, j]·g[n, o, y, x] (a transposed convolution).
   */
  conv2dBackwardInput(g: Storage, weight: Storage, spec: Conv2dSpec): Storage
  /**
   * Gradient of `conv2d` with respect to its weight: g [N, OC, OH, OW] and x →
   * [OC, C/groups, KH, KW], dw[o, c, i, j] = Σ_{n, y, x} g[n, o, y, x]·in[n, g·Cg + c,
   * y·sH − pH + i·dH, x·sW − pW + j·dW] (zero outside the input).
   */
  conv2dBackwardWeight(g: Storage, x: Storage, spec: Conv2dSpec): Storage
  /**
   * Max pooling of [planes, H, W] → the window maxima [planes, OH, OW] and, as int32, the
   * position of each maximum in its plane (h·W + w; PyTorch's `return_indices`). Padding
   * never wins (implicit −∞); ties go to the first maximum in row-major window order; a
   * NaN in a window is its maximum on the CPU (as PyTorch), unspecified on the GPU.
   */
  maxPool2d(x: Storage, spec: Pool2dSpec): readonly [Storage, Storage]
  /** Gradient of `maxPool2d`: each g[p, y, x] added at its window's argmax → [planes, H, W]. */
  maxPool2dBackward(g: Storage, indices: Storage, spec: Pool2dSpec): Storage
  /** Average pooling of [planes, H, W] → [planes, OH, OW] (divisor: `avgPoolDivisor`). */
  avgPool2d(x: Storage, spec: AvgPool2dSpec): Storage
  /** Gradient of `avgPool2d`: each g[p, y, x]/divisor spread over its window's input positions. */
  avgPool2dBackward(g: Storage, spec: AvgPool2dSpec): Storage

  // ---- recurrent: the LSTM recurrence over a whole sequence; geometry in `recurrent-spec.ts` ----
  /**
   * The LSTM recurrence of one layer over B sequences of T steps (PyTorch's `nn.LSTM`,
   * gate order i, f, g, o). With r(b, t) the row of (b, t) (`LstmSequenceSpec`),
   * xw [rows, 4H] the input projections xₜ·W_ihᵀ, bias [4H] (b_ih + b_hh; none when
   * undefined), whh [4H, H], and h₀, c₀ [B, H] (zeros when undefined), for t = 0 … T−1
   * and every b:
   *   a = xw[r(b, t)] + bias + W_hh·hₜ₋₁;  i, f, o = σ(a_i, a_f, a_o);  g = tanh(a_g)
   *   cₜ = f·cₜ₋₁ + i·g;  hₜ = o·tanh(cₜ)
   * Returns hc [rows, 2H] (row r(b, t) = hₜ | cₜ) and gates [rows, 4H] (i, f, g, o after
   * their activations, kept for the backward).
   */
  lstmSequence(xw: Storage, whh: Storage, bias: Storage | undefined, h0: Storage | undefined, c0: Storage | undefined, spec: LstmSequenceSpec): readonly [Storage, Storage]
  /**
   * Backpropagation through time for `lstmSequence`, given dhc [rows, 2H] (the gradient
   * of its hc output: of every hₜ and every cₜ) and what the forward returned. Returns
   * dxw [rows, 4H] (the gradient of the gate pre-activations, which is xw's), dwhh
   * [4H, H] = Σ_{b,t} dxw[r(b, t)]ᵀ·hₜ₋₁, dbias [4H] = Σ_rows dxw, and dh₀, dc₀ [B, H]
   * (of the initial state, zeros taken where it was undefined).
   */
  lstmSequenceBackward(
    dhc: Storage,
    whh: Storage,
    h0: Storage | undefined,
    c0: Storage | undefined,
    hc: Storage,
    gates: Storage,
    spec: LstmSequenceSpec
  ): readonly [Storage, Storage, Storage, Storage, Storage]
}
