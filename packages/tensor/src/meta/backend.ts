/**
 * The meta backend: storages with a size and no contents. Every kernel returns a storage
 * of the right size and computes nothing, so running a program on it yields every shape
 * (and every shape error) at no cost — how summaries and output shapes of custom modules
 * are computed without a real device. Reads return zeros.
 */
import type { AdamHyper, Backend, MemoryStats, Storage } from "../backend.ts"
import type { DType } from "../dtype.ts"

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
}
