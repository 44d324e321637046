/**
 * The CPU reference backend: plain loops over typed arrays, written for clarity. It is
 * the oracle every GPU kernel is tested against, and the fallback device.
 * Contract: see `../backend.ts`. Float32 storage; accumulations in float64 where a
 * reduction could lose precision (sums, dot products), rounded to float32 on store.
 */
import type { AdamHyper, Backend, BinaryOp, MatmulSpec, MemoryStats, Storage, UnaryOp } from "../backend.ts"
import type { DType } from "../dtype.ts"
import { dropoutUniform, hashU32 } from "../dropout-hash.ts"

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
  relu: (x) => (x > 0 ? x : 0),
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

  private s(storage: Storage): CpuStorage {
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
    const s = this.s(storage)
    return Promise.resolve(dtype === "int32" ? s.i32.slice() : s.f32.slice())
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
    return this.reduce(a, outer, size, inner, -Infinity, (acc, v) => (v > acc ? v : acc))
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
      for (let c = 1; c < cols; c++) if (A[r * cols + c]! > A[r * cols + best]!) best = c
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
}
