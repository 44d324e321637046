/**
 * The CPU reference backend: plain loops over typed arrays, written for clarity. It is
 * the oracle every GPU kernel is tested against, and the fallback device.
 * Contract: see `../backend.ts`. Float32 storage; accumulations in float64 where a
 * reduction could lose precision (sums, dot products), rounded to float32 on store.
 */
import type { AdamHyper, Backend, BinaryOp, MatmulSpec, MemoryStats, Storage, UnaryOp } from "../backend.ts"
import { DeviceError } from "../errors.ts"
import type { DType } from "../dtype.ts"
import type { BatchNormRunning, BatchNormSpec, BatchNormTrainResult, LinearSpec } from "../fused.ts"
import { dropoutUniform, hashU32 } from "../dropout-hash.ts"
import type { AvgPool2dSpec, Conv2dSpec, Pool2dSpec } from "../spatial.ts"
import { avgPoolDivisor } from "../spatial.ts"
import type { LstmSequenceSpec } from "../recurrent-spec.ts"
import { lstmRow } from "../recurrent-spec.ts"

/** A CPU storage: the values in a typed array (float32 or int32 share the bytes). */
export interface CpuStorage extends Storage {
  readonly f32: Float32Array
  readonly i32: Int32Array
}

let nextId = 0

const binaryFn: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  max: (a, b) => Math.max(a, b),
  min: (a, b) => Math.min(a, b)
}

const unaryFn: Record<UnaryOp, (x: number, alpha: number) => number> = {
  neg: (x) => -x,
  exp: (x) => Math.exp(x),
  log: (x) => Math.log(x),
  sqrt: (x) => Math.sqrt(x),
  // x ≤ 0 (not !(x > 0)) so that NaN stays NaN and −0 gives +0, as torch.relu.
  relu: (x) => (x <= 0 ? 0 : x),
  step: (x) => (x > 0 ? 1 : 0),
  abs: (x) => Math.abs(x),
  square: (x) => x * x,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  tanh: (x) => Math.tanh(x),
  scale: (x, a) => x * a,
  addScalar: (x, a) => x + a,
  pow: (x, a) => Math.pow(x, a),
  clampMin: (x, a) => Math.max(x, a)
}

export class CpuBackend implements Backend {
  readonly kind = "cpu" as const
  readonly description = "CPU (reference)"
  readonly maxBindingBytes = 2 ** 31 - 1
  private live = 0
  private inUse = 0
  private liveBytes = 0
  private peakBytes = 0
  private dispatches = 0

  private make(numel: number): CpuStorage {
    const buffer = new ArrayBuffer(numel * 4)
    this.live++
    this.inUse++
    this.liveBytes += numel * 4
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes)
    this.dispatches++
    return { id: nextId++, numel, released: false, f32: new Float32Array(buffer), i32: new Int32Array(buffer) }
  }

  /** `storage` as a CPU storage; `DeviceError` when it was released (as the WebGPU backend). */
  private s(storage: Storage): CpuStorage {
    if (storage.released) throw new DeviceError({ reason: `storage ${storage.id} was already released` })
    return storage as CpuStorage
  }

  alloc(numel: number): Storage {
    return this.make(numel)
  }
  upload(data: Float32Array | Int32Array): Storage {
    const out = this.make(data.length)
    if (data instanceof Int32Array) out.i32.set(data)
    else out.f32.set(data)
    return out
  }
  read(storage: Storage, dtype: DType): Promise<Float32Array | Int32Array> {
    try {
      const s = this.s(storage)
      return Promise.resolve(dtype === "int32" ? s.i32.slice() : s.f32.slice())
    } catch (error) {
      return Promise.reject(error)
    }
  }
  release(storage: Storage): void {
    if (storage.released) return
    storage.released = true
    this.live--
    this.inUse--
    this.liveBytes -= storage.numel * 4
  }
  flush(): void {}
  stats(): MemoryStats {
    return { liveBuffers: this.live, inUse: this.inUse, liveBytes: this.liveBytes, peakBytes: this.peakBytes, submits: 0, dispatches: this.dispatches }
  }
  destroy(): void {}

  fill(numel: number, value: number, dtype: DType): Storage {
    const out = this.make(numel)
    if (dtype === "int32") out.i32.fill(value)
    else out.f32.fill(value)
    return out
  }

  matmul(a: Storage, b: Storage, spec: MatmulSpec): Storage {
    const { m, k, n, transA, transB } = spec
    const A = this.s(a).f32
    const B = this.s(b).f32
    const out = this.make(m * n)
    const C = out.f32
    if (transB) {
      // Row of op(A) · row of B: both walks are contiguous when A is not transposed.
      const row = new Float64Array(k)
      for (let i = 0; i < m; i++) {
        for (let p = 0; p < k; p++) row[p] = transA ? A[p * m + i]! : A[i * k + p]!
        for (let j = 0; j < n; j++) {
          let acc = 0
          const base = j * k
          for (let p = 0; p < k; p++) acc += row[p]! * B[base + p]!
          C[i * n + j] = acc
        }
      }
      return out
    }
    // C[i, :] += op(A)[i, p] · B[p, :], accumulated in float64.
    const acc = new Float64Array(m * n)
    for (let p = 0; p < k; p++) {
      const bRow = p * n
      for (let i = 0; i < m; i++) {
        const av = transA ? A[p * m + i]! : A[i * k + p]!
        if (av === 0) continue
        const cRow = i * n
        for (let j = 0; j < n; j++) acc[cRow + j]! += av * B[bRow + j]!
      }
    }
    C.set(acc)
    return out
  }

  binary(op: BinaryOp, a: Storage, b: Storage, outShape: ReadonlyArray<number>, aStrides: ReadonlyArray<number>, bStrides: ReadonlyArray<number>): Storage {
    const A = this.s(a).f32
    const B = this.s(b).f32
    const total = outShape.reduce((p, d) => p * d, 1)
    const out = this.make(total)
    const f = binaryFn[op]
    const rank = outShape.length
    const idx = new Array<number>(rank).fill(0)
    for (let i = 0; i < total; i++) {
      let ia = 0
      let ib = 0
      for (let d = 0; d < rank; d++) {
        ia += idx[d]! * aStrides[d]!
        ib += idx[d]! * bStrides[d]!
      }
      out.f32[i] = f(A[ia]!, B[ib]!)
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]!++
        if (idx[d]! < outShape[d]!) break
        idx[d] = 0
      }
    }
    return out
  }

  unary(op: UnaryOp, a: Storage, numel: number, alpha: number): Storage {
    const A = this.s(a).f32
    const out = this.make(numel)
    const f = unaryFn[op]
    for (let i = 0; i < numel; i++) out.f32[i] = f(A[i]!, alpha)
    return out
  }

  axpy(a: Storage, b: Storage, numel: number, alpha: number): Storage {
    const A = this.s(a).f32
    const B = this.s(b).f32
    const out = this.make(numel)
    for (let i = 0; i < numel; i++) out.f32[i] = A[i]! + alpha * B[i]!
    return out
  }

  reluBackward(x: Storage, g: Storage, numel: number): Storage {
    const X = this.s(x).f32
    const G = this.s(g).f32
    const out = this.make(numel)
    for (let i = 0; i < numel; i++) out.f32[i] = X[i]! > 0 ? G[i]! : 0
    return out
  }

  private reduce(a: Storage, outer: number, size: number, inner: number, init: number, f: (acc: number, v: number) => number): Storage {
    const A = this.s(a).f32
    const out = this.make(outer * inner)
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let acc = init
        for (let r = 0; r < size; r++) acc = f(acc, A[(o * size + r) * inner + i]!)
        out.f32[o * inner + i] = acc
      }
    }
    return out
  }
  reduceSum(a: Storage, outer: number, size: number, inner: number): Storage {
    return this.reduce(a, outer, size, inner, 0, (acc, v) => acc + v)
  }
  reduceMax(a: Storage, outer: number, size: number, inner: number): Storage {
    // NaN wins, as torch.amax.
    return this.reduce(a, outer, size, inner, -Infinity, (acc, v) => (v > acc || Number.isNaN(v) ? v : acc))
  }

  logSoftmax(a: Storage, rows: number, cols: number): Storage {
    const A = this.s(a).f32
    const out = this.make(rows * cols)
    for (let r = 0; r < rows; r++) {
      let max = -Infinity
      for (let c = 0; c < cols; c++) max = Math.max(max, A[r * cols + c]!)
      let s = 0
      for (let c = 0; c < cols; c++) s += Math.exp(A[r * cols + c]! - max)
      const lse = Math.log(s)
      for (let c = 0; c < cols; c++) out.f32[r * cols + c] = A[r * cols + c]! - max - lse
    }
    return out
  }

  logSoftmaxBackward(y: Storage, g: Storage, rows: number, cols: number): Storage {
    const Y = this.s(y).f32
    const G = this.s(g).f32
    const out = this.make(rows * cols)
    for (let r = 0; r < rows; r++) {
      let s = 0
      for (let c = 0; c < cols; c++) s += G[r * cols + c]!
      for (let c = 0; c < cols; c++) out.f32[r * cols + c] = G[r * cols + c]! - Math.exp(Y[r * cols + c]!) * s
    }
    return out
  }

  pick(a: Storage, index: Storage, rows: number, cols: number): Storage {
    const A = this.s(a).f32
    const I = this.s(index).i32
    const out = this.make(rows)
    for (let r = 0; r < rows; r++) {
      const c = I[r]!
      out.f32[r] = c >= 0 && c < cols ? A[r * cols + c]! : 0
    }
    return out
  }

  pickBackward(g: Storage, index: Storage, rows: number, cols: number): Storage {
    const G = this.s(g).f32
    const I = this.s(index).i32
    const out = this.make(rows * cols)
    for (let r = 0; r < rows; r++) {
      const c = I[r]!
      if (c >= 0 && c < cols) out.f32[r * cols + c] = G[r]!
    }
    return out
  }

  argmax(a: Storage, rows: number, cols: number): Storage {
    const A = this.s(a).f32
    const out = this.make(rows)
    for (let r = 0; r < rows; r++) {
      let best = 0
      // The first NaN wins, else the first maximum (torch.argmax).
      for (let c = 1; c < cols; c++) {
        const v = A[r * cols + c]!
        const cur = A[r * cols + best]!
        if (Number.isNaN(cur)) break
        if (v > cur || Number.isNaN(v)) best = c
      }
      out.i32[r] = best
    }
    return out
  }

  cast(a: Storage, numel: number, toInt: boolean): Storage {
    const s = this.s(a)
    const out = this.make(numel)
    for (let i = 0; i < numel; i++) {
      if (toInt) out.i32[i] = Math.trunc(s.f32[i]!)
      else out.f32[i] = s.i32[i]!
    }
    return out
  }

  concatColumns(parts: ReadonlyArray<Storage>, rows: number, widths: ReadonlyArray<number>): Storage {
    const total = widths.reduce((a, b) => a + b, 0)
    const out = this.make(rows * total)
    let offset = 0
    parts.forEach((part, i) => {
      const w = widths[i]!
      const src = this.s(part).f32
      for (let r = 0; r < rows; r++) out.f32.set(src.subarray(r * w, r * w + w), r * total + offset)
      offset += w
    })
    return out
  }

  sliceColumns(a: Storage, rows: number, cols: number, start: number, width: number): Storage {
    const src = this.s(a).f32
    const out = this.make(rows * width)
    for (let r = 0; r < rows; r++) out.f32.set(src.subarray(r * cols + start, r * cols + start + width), r * width)
    return out
  }

  dropoutMask(numel: number, p: number, seed: number): Storage {
    const out = this.make(numel)
    const scale = p >= 1 ? 0 : 1 / (1 - p)
    const s = hashU32(seed >>> 0)
    for (let i = 0; i < numel; i++) out.f32[i] = dropoutUniform(s, i) >= p ? scale : 0
    return out
  }

  bceWithLogits(x: Storage, y: Storage, numel: number): Storage {
    const X = this.s(x).f32
    const Y = this.s(y).f32
    const out = this.make(numel)
    const softplus = (z: number) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)))
    for (let i = 0; i < numel; i++) {
      const xi = X[i]!
      const yi = Y[i]!
      out.f32[i] = (yi !== 0 ? yi * softplus(-xi) : 0) + (yi !== 1 ? (1 - yi) * softplus(xi) : 0)
    }
    return out
  }

  adam(param: Storage, grad: Storage, m: Storage, v: Storage, numel: number, h: AdamHyper): readonly [Storage, Storage, Storage] {
    const P = this.s(param).f32
    const G = this.s(grad).f32
    const M = this.s(m).f32
    const V = this.s(v).f32
    const p2 = this.make(numel)
    const m2 = this.make(numel)
    const v2 = this.make(numel)
    const stepSize = h.lr / h.biasCorrection1
    const sqrtBc2 = Math.sqrt(h.biasCorrection2)
    for (let i = 0; i < numel; i++) {
      let p = P[i]!
      const g = G[i]! + h.weightDecay * p
      p = p * (1 - h.lr * h.decoupledWeightDecay)
      const mi = Math.fround(h.beta1 * M[i]! + (1 - h.beta1) * g)
      const vi = Math.fround(h.beta2 * V[i]! + (1 - h.beta2) * g * g)
      m2.f32[i] = mi
      v2.f32[i] = vi
      p2.f32[i] = p - stepSize * mi / (Math.sqrt(vi) / sqrtBc2 + h.eps)
    }
    return [p2, m2, v2]
  }

  adamMany(tensors: ReadonlyArray<readonly [Storage, Storage, Storage, Storage, number]>, hyper: AdamHyper): ReadonlyArray<readonly [Storage, Storage, Storage]> {
    return tensors.map(([p, g, m, v, n]) => this.adam(p, g, m, v, n, hyper))
  }

  // ---- fused kernels (`../fused.ts`) ----

  linear(x: Storage, weight: Storage, bias: Storage | undefined, spec: LinearSpec): Storage {
    const { rows, inFeatures: k, outFeatures: n, relu } = spec
    const X = this.s(x).f32
    const W = this.s(weight).f32
    const B = bias === undefined ? undefined : this.s(bias).f32
    const out = this.make(rows * n)
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < n; o++) {
        let acc = 0
        for (let p = 0; p < k; p++) acc += X[r * k + p]! * W[o * k + p]!
        // Round the product first, as the unfused matmul + bias add do.
        let y = Math.fround(acc)
        if (B !== undefined) y = Math.fround(y + B[o]!)
        out.f32[r * n + o] = relu && y <= 0 ? 0 : y // NaN stays NaN, as torch.relu
      }
    }
    return out
  }

  matmulRowSums(a: Storage, b: Storage, spec: MatmulSpec): readonly [Storage, Storage] {
    const c = this.matmul(a, b, spec)
    const A = this.s(a).f32
    const sums = this.make(spec.m)
    for (let i = 0; i < spec.m; i++) {
      let acc = 0
      for (let p = 0; p < spec.k; p++) acc += spec.transA ? A[p * spec.m + i]! : A[i * spec.k + p]!
      sums.f32[i] = acc
    }
    return [c, sums]
  }

  crossEntropy(logits: Storage, targets: Storage, rows: number, cols: number): readonly [Storage, Storage] {
    const X = this.s(logits).f32
    const T = this.s(targets).i32
    const loss = this.make(1)
    const stats = this.make(2 * rows + 1)
    let total = 0
    let valid = 0
    for (let r = 0; r < rows; r++) {
      let max = -Infinity
      for (let c = 0; c < cols; c++) max = Math.max(max, X[r * cols + c]!)
      let sum = 0
      for (let c = 0; c < cols; c++) sum += Math.exp(X[r * cols + c]! - max)
      const logSum = Math.log(sum)
      stats.f32[2 * r] = max
      stats.f32[2 * r + 1] = logSum
      const t = T[r]!
      if (t >= 0 && t < cols) {
        total += logSum - (X[r * cols + t]! - max)
        valid++
      }
    }
    stats.f32[2 * rows] = valid
    // Ignored rows (index outside [0, cols)) count for nothing; none valid: 0 / 0 = NaN, as PyTorch.
    loss.f32[0] = total / valid
    return [loss, stats]
  }

  crossEntropyBackward(logits: Storage, stats: Storage, targets: Storage, g: Storage, rows: number, cols: number): Storage {
    const X = this.s(logits).f32
    const L = this.s(stats).f32
    const T = this.s(targets).i32
    const scale = this.s(g).f32[0]! / L[2 * rows]!
    const out = this.make(rows * cols)
    for (let r = 0; r < rows; r++) {
      const t = T[r]!
      if (!(t >= 0 && t < cols)) continue // a row that adds 0 to the loss has gradient 0
      for (let c = 0; c < cols; c++) out.f32[r * cols + c] = (Math.exp(X[r * cols + c]! - L[2 * r]! - L[2 * r + 1]!) - (c === t ? 1 : 0)) * scale
    }
    return out
  }

  batchNormTrain(x: Storage, weight: Storage | undefined, bias: Storage | undefined, running: BatchNormRunning | undefined, spec: BatchNormSpec): BatchNormTrainResult {
    const { rows, cols, eps } = spec
    const X = this.s(x).f32
    const Wt = weight === undefined ? undefined : this.s(weight).f32
    const B = bias === undefined ? undefined : this.s(bias).f32
    const out = this.make(rows * cols)
    const mean = this.make(cols)
    const invStd = this.make(cols)
    const variances = new Float64Array(cols)
    for (let c = 0; c < cols; c++) {
      let sum = 0
      for (let r = 0; r < rows; r++) sum += X[r * cols + c]!
      const mu = sum / rows
      let sq = 0
      for (let r = 0; r < rows; r++) sq += (X[r * cols + c]! - mu) ** 2
      const variance = sq / rows
      variances[c] = variance
      const s = 1 / Math.sqrt(variance + eps)
      mean.f32[c] = mu
      invStd.f32[c] = s
      const scale = s * (Wt === undefined ? 1 : Wt[c]!)
      const shift = B === undefined ? 0 : B[c]!
      for (let r = 0; r < rows; r++) out.f32[r * cols + c] = (X[r * cols + c]! - mu) * scale + shift
    }
    if (running === undefined) return { output: out, mean, invStd }
    const RM = this.s(running.mean).f32
    const RV = this.s(running.variance).f32
    const m = running.momentum
    const rm = this.make(cols)
    const rv = this.make(cols)
    const count = this.make(1)
    for (let c = 0; c < cols; c++) {
      rm.f32[c] = (1 - m) * RM[c]! + m * mean.f32[c]!
      rv.f32[c] = (1 - m) * RV[c]! + m * variances[c]! * rows / (rows - 1)
    }
    count.i32[0] = this.s(running.count).i32[0]! + 1
    return { output: out, mean, invStd, running: { mean: rm, variance: rv, count } }
  }

  batchNormBackward(g: Storage, x: Storage, mean: Storage, invStd: Storage, weight: Storage | undefined, spec: BatchNormSpec): readonly [Storage, Storage | undefined, Storage | undefined] {
    const { rows, cols } = spec
    const G = this.s(g).f32
    const X = this.s(x).f32
    const M = this.s(mean).f32
    const S = this.s(invStd).f32
    const Wt = weight === undefined ? undefined : this.s(weight).f32
    const dx = this.make(rows * cols)
    const dw = weight === undefined ? undefined : this.make(cols)
    const db = weight === undefined ? undefined : this.make(cols)
    for (let c = 0; c < cols; c++) {
      const mu = M[c]!
      const s = S[c]!
      let sg = 0
      let sgx = 0
      for (let r = 0; r < rows; r++) {
        const gi = G[r * cols + c]!
        sg += gi
        sgx += gi * (X[r * cols + c]! - mu) * s
      }
      if (dw !== undefined && db !== undefined) {
        dw.f32[c] = sgx
        db.f32[c] = sg
      }
      const k = (Wt === undefined ? 1 : Wt[c]!) * s / rows
      for (let r = 0; r < rows; r++) {
        const xhat = (X[r * cols + c]! - mu) * s
        dx.f32[r * cols + c] = k * (rows * G[r * cols + c]! - sg - xhat * sgx)
      }
    }
    return [dx, dw, db]
  }

  batchNormEval(x: Storage, mean: Storage, variance: Storage, weight: Storage | undefined, bias: Storage | undefined, spec: BatchNormSpec): Storage {
    const { rows, cols, eps } = spec
    const X = this.s(x).f32
    const M = this.s(mean).f32
    const V = this.s(variance).f32
    const Wt = weight === undefined ? undefined : this.s(weight).f32
    const B = bias === undefined ? undefined : this.s(bias).f32
    const out = this.make(rows * cols)
    for (let c = 0; c < cols; c++) {
      const std = Math.sqrt(V[c]! + eps)
      const w = Wt === undefined ? 1 : Wt[c]!
      const b = B === undefined ? 0 : B[c]!
      for (let r = 0; r < rows; r++) out.f32[r * cols + c] = (X[r * cols + c]! - M[c]!) / std * w + b
    }
    return out
  }

  dropoutApply(a: Storage, numel: number, p: number, seed: number): Storage {
    const A = this.s(a).f32
    const out = this.make(numel)
    // The mask value as `dropoutMask` stores it (float32), so a·m rounds as the composed ops did.
    const scale = Math.fround(p >= 1 ? 0 : 1 / (1 - p))
    const s = hashU32(seed >>> 0)
    for (let i = 0; i < numel; i++) out.f32[i] = A[i]! * (dropoutUniform(s, i) >= p ? scale : 0)
    return out
  }

  gatherRows(a: Storage, index: Storage, rows: number, cols: number): Storage {
    const A = this.s(a).i32
    const I = this.s(index).i32
    const out = this.make(rows * cols)
    for (let r = 0; r < rows; r++) out.i32.set(A.subarray(I[r]! * cols, I[r]! * cols + cols), r * cols)
    return out
  }

  gatherBytes(data: Storage, index: Storage, table: Storage, rows: number, features: number): Storage {
    const D = this.s(data).i32
    const I = this.s(index).i32
    const T = this.s(table).f32
    const out = this.make(rows * features)
    for (let r = 0; r < rows; r++) {
      const base = I[r]! * features
      for (let j = 0; j < features; j++) {
        const k = base + j
        out.f32[r * features + j] = T[(D[k >>> 2]! >>> ((k & 3) * 8)) & 255]!
      }
    }
    return out
  }

  // ---- spatial (NCHW) kernels: direct loops over the formulas of `../spatial.ts` ----

  conv2d(x: Storage, weight: Storage, bias: Storage | undefined, spec: Conv2dSpec): Storage {
    const X = this.s(x).f32
    const Wt = this.s(weight).f32
    const B = bias === undefined ? undefined : this.s(bias).f32
    const { batch, inChannels: C, height: H, width: W, outChannels: OC, kernelH: KH, kernelW: KW, groups, outH: OH, outW: OW } = spec
    const Cg = C / groups
    const OCg = OC / groups
    const out = this.make(batch * OC * OH * OW)
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < OC; o++) {
        const g = Math.floor(o / OCg)
        for (let y = 0; y < OH; y++) {
          for (let xo = 0; xo < OW; xo++) {
            let acc = B === undefined ? 0 : B[o]!
            for (let c = 0; c < Cg; c++) {
              const plane = (n * C + g * Cg + c) * H * W
              for (let i = 0; i < KH; i++) {
                const h = y * spec.strideH - spec.padH + i * spec.dilationH
                if (h < 0 || h >= H) continue
                for (let j = 0; j < KW; j++) {
                  const w = xo * spec.strideW - spec.padW + j * spec.dilationW
                  if (w < 0 || w >= W) continue
                  acc += Wt[((o * Cg + c) * KH + i) * KW + j]! * X[plane + h * W + w]!
                }
              }
            }
            out.f32[((n * OC + o) * OH + y) * OW + xo] = acc
          }
        }
      }
    }
    return out
  }

  conv2dBackwardInput(g: Storage, weight: Storage, spec: Conv2dSpec): Storage {
    const G = this.s(g).f32
    const Wt = this.s(weight).f32
    const { batch, inChannels: C, height: H, width: W, outChannels: OC, kernelH: KH, kernelW: KW, groups, outH: OH, outW: OW } = spec
    const Cg = C / groups
    const OCg = OC / groups
    // Scatter each output gradient back along the taps it was computed from (float64 sums).
    const acc = new Float64Array(batch * C * H * W)
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < OC; o++) {
        const grp = Math.floor(o / OCg)
        for (let y = 0; y < OH; y++) {
          for (let xo = 0; xo < OW; xo++) {
            const gv = G[((n * OC + o) * OH + y) * OW + xo]!
            if (gv === 0) continue
            for (let c = 0; c < Cg; c++) {
              const plane = (n * C + grp * Cg + c) * H * W
              for (let i = 0; i < KH; i++) {
                const h = y * spec.strideH - spec.padH + i * spec.dilationH
                if (h < 0 || h >= H) continue
                for (let j = 0; j < KW; j++) {
                  const w = xo * spec.strideW - spec.padW + j * spec.dilationW
                  if (w < 0 || w >= W) continue
                  acc[plane + h * W + w]! += Wt[((o * Cg + c) * KH + i) * KW + j]! * gv
                }
              }
            }
          }
        }
      }
    }
    const out = this.make(acc.length)
    out.f32.set(acc)
    return out
  }

  conv2dBackwardWeight(g: Storage, x: Storage, spec: Conv2dSpec): Storage {
    const G = this.s(g).f32
    const X = this.s(x).f32
    const { batch, inChannels: C, height: H, width: W, outChannels: OC, kernelH: KH, kernelW: KW, groups, outH: OH, outW: OW } = spec
    const Cg = C / groups
    const OCg = OC / groups
    const out = this.make(OC * Cg * KH * KW)
    for (let o = 0; o < OC; o++) {
      const grp = Math.floor(o / OCg)
      for (let c = 0; c < Cg; c++) {
        for (let i = 0; i < KH; i++) {
          for (let j = 0; j < KW; j++) {
            let acc = 0
            for (let n = 0; n < batch; n++) {
              const plane = (n * C + grp * Cg + c) * H * W
              for (let y = 0; y < OH; y++) {
                const h = y * spec.strideH - spec.padH + i * spec.dilationH
                if (h < 0 || h >= H) continue
                for (let xo = 0; xo < OW; xo++) {
                  const w = xo * spec.strideW - spec.padW + j * spec.dilationW
                  if (w < 0 || w >= W) continue
                  acc += G[((n * OC + o) * OH + y) * OW + xo]! * X[plane + h * W + w]!
                }
              }
            }
            out.f32[((o * Cg + c) * KH + i) * KW + j] = acc
          }
        }
      }
    }
    return out
  }

  maxPool2d(x: Storage, spec: Pool2dSpec): readonly [Storage, Storage] {
    const X = this.s(x).f32
    const { planes, height: H, width: W, outH: OH, outW: OW } = spec
    const values = this.make(planes * OH * OW)
    const indices = this.make(planes * OH * OW)
    for (let p = 0; p < planes; p++) {
      for (let y = 0; y < OH; y++) {
        for (let xo = 0; xo < OW; xo++) {
          let best = -Infinity
          let at = -1
          for (let i = 0; i < spec.kernelH; i++) {
            const h = y * spec.strideH - spec.padH + i * spec.dilationH
            if (h < 0 || h >= H) continue
            for (let j = 0; j < spec.kernelW; j++) {
              const w = xo * spec.strideW - spec.padW + j * spec.dilationW
              if (w < 0 || w >= W) continue
              const v = X[(p * H + h) * W + w]!
              // Strictly greater keeps the first maximum; a NaN always wins (PyTorch's CPU rule).
              if (at < 0 || v > best || Number.isNaN(v)) {
                best = v
                at = h * W + w
              }
            }
          }
          const o = (p * OH + y) * OW + xo
          values.f32[o] = best
          indices.i32[o] = at
        }
      }
    }
    return [values, indices]
  }

  maxPool2dBackward(g: Storage, indices: Storage, spec: Pool2dSpec): Storage {
    const G = this.s(g).f32
    const I = this.s(indices).i32
    const { planes, height: H, width: W, outH: OH, outW: OW } = spec
    const acc = new Float64Array(planes * H * W)
    for (let p = 0; p < planes; p++) {
      for (let o = 0; o < OH * OW; o++) {
        const at = I[p * OH * OW + o]!
        if (at >= 0) acc[p * H * W + at]! += G[p * OH * OW + o]!
      }
    }
    const out = this.make(acc.length)
    out.f32.set(acc)
    return out
  }

  avgPool2d(x: Storage, spec: AvgPool2dSpec): Storage {
    const X = this.s(x).f32
    const { planes, height: H, width: W, outH: OH, outW: OW } = spec
    const out = this.make(planes * OH * OW)
    for (let p = 0; p < planes; p++) {
      for (let y = 0; y < OH; y++) {
        for (let xo = 0; xo < OW; xo++) {
          let acc = 0
          for (let i = 0; i < spec.kernelH; i++) {
            const h = y * spec.strideH - spec.padH + i
            if (h < 0 || h >= H) continue
            for (let j = 0; j < spec.kernelW; j++) {
              const w = xo * spec.strideW - spec.padW + j
              if (w >= 0 && w < W) acc += X[(p * H + h) * W + w]!
            }
          }
          out.f32[(p * OH + y) * OW + xo] = acc / avgPoolDivisor(spec, y, xo)
        }
      }
    }
    return out
  }

  avgPool2dBackward(g: Storage, spec: AvgPool2dSpec): Storage {
    const G = this.s(g).f32
    const { planes, height: H, width: W, outH: OH, outW: OW } = spec
    const acc = new Float64Array(planes * H * W)
    for (let p = 0; p < planes; p++) {
      for (let y = 0; y < OH; y++) {
        for (let xo = 0; xo < OW; xo++) {
          const share = G[(p * OH + y) * OW + xo]! / avgPoolDivisor(spec, y, xo)
          for (let i = 0; i < spec.kernelH; i++) {
            const h = y * spec.strideH - spec.padH + i
            if (h < 0 || h >= H) continue
            for (let j = 0; j < spec.kernelW; j++) {
              const w = xo * spec.strideW - spec.padW + j
              if (w >= 0 && w < W) acc[(p * H + h) * W + w]! += share
            }
          }
        }
      }
    }
    const out = this.make(acc.length)
    out.f32.set(acc)
    return out
  }

  // ---- recurrent: the LSTM recurrence over a whole sequence (see `Backend.lstmSequence`) ----
  lstmSequence(xw: Storage, whh: Storage, bias: Storage | undefined, h0: Storage | undefined, c0: Storage | undefined, spec: LstmSequenceSpec): readonly [Storage, Storage] {
    const { batch: B, steps: T, hidden: H } = spec
    const XW = this.s(xw).f32
    const BIAS = bias === undefined ? undefined : this.s(bias).f32
    const W = this.s(whh).f32
    const H0 = h0 === undefined ? undefined : this.s(h0).f32
    const C0 = c0 === undefined ? undefined : this.s(c0).f32
    const hc = this.make(B * T * 2 * H)
    const gates = this.make(B * T * 4 * H)
    const HC = hc.f32
    const GA = gates.f32
    const a = new Float64Array(4 * H)
    const sigmoid = unaryFn.sigmoid
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const r = lstmRow(spec, b, t)
        const rp = t === 0 ? -1 : lstmRow(spec, b, t - 1)
        // hₜ₋₁ and cₜ₋₁: the previous step's row of hc, or the initial state (zeros if none).
        const hPrev = (k: number): number => (rp >= 0 ? HC[rp * 2 * H + k]! : H0 === undefined ? 0 : H0[b * H + k]!)
        const cPrev = (k: number): number => (rp >= 0 ? HC[rp * 2 * H + H + k]! : C0 === undefined ? 0 : C0[b * H + k]!)
        // a = xw[r] + bias + W_hh·hₜ₋₁, accumulated in float64.
        for (let q = 0; q < 4 * H; q++) {
          let acc = XW[r * 4 * H + q]! + (BIAS === undefined ? 0 : BIAS[q]!)
          for (let k = 0; k < H; k++) acc += W[q * H + k]! * hPrev(k)
          a[q] = acc
        }
        for (let j = 0; j < H; j++) {
          const i = Math.fround(sigmoid(a[j]!, 0))
          const f = Math.fround(sigmoid(a[H + j]!, 0))
          const g = Math.fround(Math.tanh(a[2 * H + j]!))
          const o = Math.fround(sigmoid(a[3 * H + j]!, 0))
          const c = Math.fround(f * cPrev(j) + i * g)
          GA[r * 4 * H + j] = i
          GA[r * 4 * H + H + j] = f
          GA[r * 4 * H + 2 * H + j] = g
          GA[r * 4 * H + 3 * H + j] = o
          HC[r * 2 * H + H + j] = c
          HC[r * 2 * H + j] = o * Math.tanh(c)
        }
      }
    }
    return [hc, gates]
  }

  lstmSequenceBackward(
    dhc: Storage,
    whh: Storage,
    h0: Storage | undefined,
    c0: Storage | undefined,
    hc: Storage,
    gates: Storage,
    spec: LstmSequenceSpec
  ): readonly [Storage, Storage, Storage, Storage, Storage] {
    const { batch: B, steps: T, hidden: H } = spec
    const DHC = this.s(dhc).f32
    const W = this.s(whh).f32
    const H0 = h0 === undefined ? undefined : this.s(h0).f32
    const C0 = c0 === undefined ? undefined : this.s(c0).f32
    const HC = this.s(hc).f32
    const GA = this.s(gates).f32
    const dxw = this.make(B * T * 4 * H)
    const DXW = dxw.f32
    // dL/dhₜ through the recurrence (W_hhᵀ·dgatesₜ₊₁) and dL/dcₜ through cₜ₊₁ = f·cₜ + …
    let dhNext = new Float64Array(B * H)
    const dc = new Float64Array(B * H)
    for (let t = T - 1; t >= 0; t--) {
      for (let b = 0; b < B; b++) {
        const r = lstmRow(spec, b, t)
        const rp = t === 0 ? -1 : lstmRow(spec, b, t - 1)
        for (let j = 0; j < H; j++) {
          const i = GA[r * 4 * H + j]!
          const f = GA[r * 4 * H + H + j]!
          const g = GA[r * 4 * H + 2 * H + j]!
          const o = GA[r * 4 * H + 3 * H + j]!
          const c = HC[r * 2 * H + H + j]!
          const cPrev = rp >= 0 ? HC[rp * 2 * H + H + j]! : C0 === undefined ? 0 : C0[b * H + j]!
          const tc = Math.tanh(c)
          const dh = DHC[r * 2 * H + j]! + dhNext[b * H + j]!
          // hₜ = o·tanh(cₜ): dcₜ gets dh·o·(1 − tanh²cₜ) besides what flows into cₜ directly.
          const dct = dc[b * H + j]! + DHC[r * 2 * H + H + j]! + dh * o * (1 - tc * tc)
          DXW[r * 4 * H + j] = dct * g * i * (1 - i)
          DXW[r * 4 * H + H + j] = dct * cPrev * f * (1 - f)
          DXW[r * 4 * H + 2 * H + j] = dct * i * (1 - g * g)
          DXW[r * 4 * H + 3 * H + j] = dh * tc * o * (1 - o)
          dc[b * H + j] = dct * f
        }
      }
      // dL/dhₜ₋₁ = W_hhᵀ·dgatesₜ (float64 sums of the float32 gate gradients).
      const next = new Float64Array(B * H)
      for (let b = 0; b < B; b++) {
        const r = lstmRow(spec, b, t)
        for (let q = 0; q < 4 * H; q++) {
          const d = DXW[r * 4 * H + q]!
          if (d === 0) continue
          for (let k = 0; k < H; k++) next[b * H + k]! += d * W[q * H + k]!
        }
      }
      dhNext = next
    }
    // dW_hh = Σ_{b,t} dgatesₜᵀ·hₜ₋₁ (hₜ₋₁ from hc, or h₀ at t = 0).
    const acc = new Float64Array(4 * H * H)
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const r = lstmRow(spec, b, t)
        const rp = t === 0 ? -1 : lstmRow(spec, b, t - 1)
        if (rp < 0 && H0 === undefined) continue
        for (let q = 0; q < 4 * H; q++) {
          const d = DXW[r * 4 * H + q]!
          if (d === 0) continue
          for (let k = 0; k < H; k++) acc[q * H + k]! += d * (rp >= 0 ? HC[rp * 2 * H + k]! : H0![b * H + k]!)
        }
      }
    }
    const dwhh = this.make(4 * H * H)
    dwhh.f32.set(acc)
    // dbias = Σ_rows dxw.
    const dbAcc = new Float64Array(4 * H)
    for (let r = 0; r < B * T; r++) for (let q = 0; q < 4 * H; q++) dbAcc[q]! += DXW[r * 4 * H + q]!
    const dbias = this.make(4 * H)
    dbias.f32.set(dbAcc)
    const dh0 = this.make(B * H)
    dh0.f32.set(dhNext)
    const dc0 = this.make(B * H)
    dc0.f32.set(dc)
    return [dxw, dwhh, dbias, dh0, dc0]
  }
}
