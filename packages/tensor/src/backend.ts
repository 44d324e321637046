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
 *   used again; work already encoded that reads it still sees its old contents.
 */
import type { DType } from "./dtype.ts"

/** A block of device memory: `numel` elements of 4 bytes. Backends extend it. */
export interface Storage {
  readonly id: number
  readonly numel: number
  released: boolean
}

/** Element-wise binary ops (with broadcasting through strides). */
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
  /** out = g where x > 0, else 0 (ReLU's backward; derivative at 0 is 0). */
  reluBackward(x: Storage, g: Storage, numel: number): Storage
  /** Sum over the middle axis of a tensor viewed as [outer, size, inner] → [outer, inner]. */
  reduceSum(a: Storage, outer: number, size: number, inner: number): Storage
  /** Max over the middle axis of [outer, size, inner] → [outer, inner]. */
  reduceMax(a: Storage, outer: number, size: number, inner: number): Storage
  /** Row-wise log-softmax of [rows, cols] (max-subtracted, finite for any finite input). */
  logSoftmax(a: Storage, rows: number, cols: number): Storage
  /** Backward of log-softmax: g − exp(y)·Σ_row g, with y the log-softmax output. */
  logSoftmaxBackward(y: Storage, g: Storage, rows: number, cols: number): Storage
  /** out[r] = a[r, index[r]] for float32 a [rows, cols] and int32 index [rows]. */
  pick(a: Storage, index: Storage, rows: number, cols: number): Storage
  /** Backward of `pick`: [rows, cols] zeros with out[r, index[r]] = g[r]. */
  pickBackward(g: Storage, index: Storage, rows: number, cols: number): Storage
  /** int32 out[r] = argmax over cols of a[r, :] (first index on ties). */
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
}
