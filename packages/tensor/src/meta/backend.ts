/**
 * The meta backend: storages with a size and no contents. Every kernel returns a storage
 * of the right size and computes nothing, so running a program on it yields every shape
 * (and every shape error) at no cost — how summaries and output shapes of custom modules
 * are computed without a real device. Reads return zeros.
 */
import type { AdamHyper, Backend, MatmulSpec, MemoryStats, Storage } from "../backend.ts"
import type { DType } from "../dtype.ts"
import type { BatchNormRunning, BatchNormSpec, BatchNormTrainResult, LinearSpec } from "../fused.ts"
import type { AvgPool2dSpec, Conv2dSpec, Pool2dSpec } from "../spatial.ts"
import type { LstmSequenceSpec } from "../recurrent-spec.ts"

let nextId = 0

export class MetaBackend implements Backend {
  readonly kind = "meta" as const
  readonly description = "meta (shapes only)"
  readonly maxBindingBytes = Number.MAX_SAFE_INTEGER
  private inUse = 0

  private make(numel: number): Storage {
    this.inUse++
    return { id: nextId++, numel, released: false }
  }
  alloc(numel: number): Storage {
    return this.make(numel)
  }
  upload(data: Float32Array | Int32Array): Storage {
    return this.make(data.length)
  }
  read(storage: Storage, dtype: DType): Promise<Float32Array | Int32Array> {
    return Promise.resolve(dtype === "int32" ? new Int32Array(storage.numel) : new Float32Array(storage.numel))
  }
  release(storage: Storage): void {
    if (!storage.released) {
      storage.released = true
      this.inUse--
    }
  }
  flush(): void {}
  stats(): MemoryStats {
    return { liveBuffers: this.inUse, inUse: this.inUse, liveBytes: 0, peakBytes: 0, submits: 0, dispatches: 0 }
  }
  destroy(): void {}
  fill(numel: number): Storage {
    return this.make(numel)
  }
  matmul(_a: Storage, _b: Storage, spec: { m: number; n: number }): Storage {
    return this.make(spec.m * spec.n)
  }
  binary(_op: string, _a: Storage, _b: Storage, outShape: ReadonlyArray<number>): Storage {
    return this.make(outShape.reduce((p, d) => p * d, 1))
  }
  unary(_op: string, _a: Storage, numel: number): Storage {
    return this.make(numel)
  }
  axpy(_a: Storage, _b: Storage, numel: number): Storage {
    return this.make(numel)
  }
  reluBackward(_x: Storage, _g: Storage, numel: number): Storage {
    return this.make(numel)
  }
  reduceSum(_a: Storage, outer: number, _size: number, inner: number): Storage {
    return this.make(outer * inner)
  }
  reduceMax(_a: Storage, outer: number, _size: number, inner: number): Storage {
    return this.make(outer * inner)
  }
  logSoftmax(_a: Storage, rows: number, cols: number): Storage {
    return this.make(rows * cols)
  }
  logSoftmaxBackward(_y: Storage, _g: Storage, rows: number, cols: number): Storage {
    return this.make(rows * cols)
  }
  pick(_a: Storage, _i: Storage, rows: number): Storage {
    return this.make(rows)
  }
  pickBackward(_g: Storage, _i: Storage, rows: number, cols: number): Storage {
    return this.make(rows * cols)
  }
  argmax(_a: Storage, rows: number): Storage {
    return this.make(rows)
  }
  cast(_a: Storage, numel: number): Storage {
    return this.make(numel)
  }
  concatColumns(_parts: ReadonlyArray<Storage>, rows: number, widths: ReadonlyArray<number>): Storage {
    return this.make(rows * widths.reduce((a, b) => a + b, 0))
  }
  sliceColumns(_a: Storage, rows: number, _cols: number, _start: number, width: number): Storage {
    return this.make(rows * width)
  }
  dropoutMask(numel: number): Storage {
    return this.make(numel)
  }
  bceWithLogits(_x: Storage, _y: Storage, numel: number): Storage {
    return this.make(numel)
  }
  adam(_p: Storage, _g: Storage, _m: Storage, _v: Storage, numel: number, _h: AdamHyper): readonly [Storage, Storage, Storage] {
    return [this.make(numel), this.make(numel), this.make(numel)]
  }
  adamMany(tensors: ReadonlyArray<readonly [Storage, Storage, Storage, Storage, number]>, hyper: AdamHyper): ReadonlyArray<readonly [Storage, Storage, Storage]> {
    return tensors.map(([p, g, m, v, n]) => this.adam(p, g, m, v, n, hyper))
  }
  linear(_x: Storage, _w: Storage, _b: Storage | undefined, spec: LinearSpec): Storage {
    return this.make(spec.rows * spec.outFeatures)
  }
  matmulRowSums(_a: Storage, _b: Storage, spec: MatmulSpec): readonly [Storage, Storage] {
    return [this.make(spec.m * spec.n), this.make(spec.m)]
  }
  crossEntropy(_x: Storage, _t: Storage, rows: number): readonly [Storage, Storage] {
    return [this.make(1), this.make(2 * rows + 1)]
  }
  crossEntropyBackward(_x: Storage, _l: Storage, _t: Storage, _g: Storage, rows: number, cols: number): Storage {
    return this.make(rows * cols)
  }
  batchNormTrain(_x: Storage, _w: Storage | undefined, _b: Storage | undefined, running: BatchNormRunning | undefined, spec: BatchNormSpec): BatchNormTrainResult {
    const base = { output: this.make(spec.rows * spec.cols), mean: this.make(spec.cols), invStd: this.make(spec.cols) }
    return running === undefined ? base : { ...base, running: { mean: this.make(spec.cols), variance: this.make(spec.cols), count: this.make(1) } }
  }
  batchNormBackward(_g: Storage, _x: Storage, _m: Storage, _s: Storage, weight: Storage | undefined, spec: BatchNormSpec): readonly [Storage, Storage | undefined, Storage | undefined] {
    return [this.make(spec.rows * spec.cols), weight === undefined ? undefined : this.make(spec.cols), weight === undefined ? undefined : this.make(spec.cols)]
  }
  batchNormEval(_x: Storage, _m: Storage, _v: Storage, _w: Storage | undefined, _b: Storage | undefined, spec: BatchNormSpec): Storage {
    return this.make(spec.rows * spec.cols)
  }
  dropoutApply(_a: Storage, numel: number): Storage {
    return this.make(numel)
  }
  gatherRows(_a: Storage, _i: Storage, rows: number, cols: number): Storage {
    return this.make(rows * cols)
  }
  gatherBytes(_d: Storage, _i: Storage, _t: Storage, rows: number, features: number): Storage {
    return this.make(rows * features)
  }

  // ---- spatial (NCHW) kernels: output sizes only ----
  conv2d(_x: Storage, _w: Storage, _b: Storage | undefined, spec: Conv2dSpec): Storage {
    return this.make(spec.batch * spec.outChannels * spec.outH * spec.outW)
  }
  conv2dBackwardInput(_g: Storage, _w: Storage, spec: Conv2dSpec): Storage {
    return this.make(spec.batch * spec.inChannels * spec.height * spec.width)
  }
  conv2dBackwardWeight(_g: Storage, _x: Storage, spec: Conv2dSpec): Storage {
    return this.make(spec.outChannels * (spec.inChannels / spec.groups) * spec.kernelH * spec.kernelW)
  }
  maxPool2d(_x: Storage, spec: Pool2dSpec): readonly [Storage, Storage] {
    return [this.make(spec.planes * spec.outH * spec.outW), this.make(spec.planes * spec.outH * spec.outW)]
  }
  maxPool2dBackward(_g: Storage, _i: Storage, spec: Pool2dSpec): Storage {
    return this.make(spec.planes * spec.height * spec.width)
  }
  avgPool2d(_x: Storage, spec: AvgPool2dSpec): Storage {
    return this.make(spec.planes * spec.outH * spec.outW)
  }
  avgPool2dBackward(_g: Storage, spec: AvgPool2dSpec): Storage {
    return this.make(spec.planes * spec.height * spec.width)
  }

  // ---- recurrent (sizes only) ----
  lstmSequence(_xw: Storage, _whh: Storage, _bias: Storage | undefined, _h0: Storage | undefined, _c0: Storage | undefined, spec: LstmSequenceSpec): readonly [Storage, Storage] {
    const rows = spec.batch * spec.steps
    return [this.make(rows * 2 * spec.hidden), this.make(rows * 4 * spec.hidden)]
  }
  lstmSequenceBackward(
    _dhc: Storage,
    _whh: Storage,
    _h0: Storage | undefined,
    _c0: Storage | undefined,
    _hc: Storage,
    _gates: Storage,
    spec: LstmSequenceSpec
  ): readonly [Storage, Storage, Storage, Storage, Storage] {
    const { batch: B, steps: T, hidden: H } = spec
    return [this.make(B * T * 4 * H), this.make(4 * H * H), this.make(4 * H), this.make(B * H), this.make(B * H)]
  }
}
