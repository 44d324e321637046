/**
 * The buffer pool and command batching: constant live buffers over alloc/release cycles
 * and over 1,000 identical training steps, no submit per op, ordering of dependent
 * dispatches in one batch, uniform-ring overflow, and the upload-into-a-pending-buffer
 * hazard.
 */
import { type AdamHyper, type Backend, CpuBackend, type Storage } from "@effect-nn/tensor"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { GpuStorage, WebGpuBackend } from "../src/index.ts"
import { expectClose, makeGpu, rng, uniform } from "./helpers.ts"

let gpu: WebGpuBackend

beforeAll(async () => {
  gpu = await makeGpu()
}, 30_000)
afterAll(() => gpu?.destroy())

describe("pool", () => {
  it("alloc/release cycles keep liveBuffers constant", () => {
    const sizes = [1, 3, 127, 785, 100_000]
    const cycle = (): void => {
      const held = sizes.map((n) => gpu.alloc(n))
      for (const s of held) gpu.release(s)
    }
    cycle()
    const warm = gpu.stats()
    for (let i = 0; i < 100; i++) cycle()
    const after = gpu.stats()
    expect(after.liveBuffers).toBe(warm.liveBuffers)
    expect(after.liveBytes).toBe(warm.liveBytes)
    expect(after.inUse).toBe(warm.inUse)
  })

  it("release returns the same buffer for the next request of its size class", () => {
    const a = gpu.alloc(1000) as GpuStorage
    gpu.release(a)
    const b = gpu.alloc(1010) as GpuStorage
    expect(b.buffer.id).toBe(a.buffer.id)
    gpu.release(b)
  })

  it("trim destroys free buffers only", async () => {
    const keep = gpu.upload(new Float32Array([4, 5, 6]))
    gpu.release(gpu.alloc(12345))
    gpu.trim()
    const s = gpu.stats()
    expect(s.pooledBytes).toBe(0)
    expect(s.liveBuffers).toBe(s.inUse + 1) // + the uniform ring
    expect(Array.from(await gpu.read(keep, "float32"))).toEqual([4, 5, 6])
  })
})

describe("batching", () => {
  it("submits nothing per op; flush submits once, and only when work is pending", async () => {
    const x = gpu.upload(uniform(100, -1, 1, 1))
    gpu.flush()
    const before = gpu.stats()
    let y = x
    for (let i = 0; i < 50; i++) y = gpu.unary("scale", y, 100, 1.01)
    expect(gpu.stats().submits).toBe(before.submits)
    expect(gpu.stats().dispatches).toBe(before.dispatches + 50)
    gpu.flush()
    expect(gpu.stats().submits).toBe(before.submits + 1)
    gpu.flush()
    expect(gpu.stats().submits).toBe(before.submits + 1)
    await gpu.read(y, "float32")
  })

  it("dependent dispatches in one batch see earlier writes (400 chained axpy, one submit)", async () => {
    const n = 785
    const ones = gpu.fill(n, 1, "float32")
    let acc = gpu.fill(n, 0, "float32")
    const before = gpu.stats().submits
    for (let i = 0; i < 400; i++) {
      const next = gpu.axpy(acc, ones, n, 1)
      gpu.release(acc) // its buffer is reused by later outputs in the same batch
      acc = next
    }
    const out = await gpu.read(acc, "float32")
    expect(gpu.stats().submits).toBe(before + 1)
    expect(out.every((v) => v === 400)).toBe(true)
  })

  it("a full uniform ring submits early and stays correct (1500 dispatches)", async () => {
    const ones = gpu.fill(3, 1, "float32")
    let acc = gpu.fill(3, 0, "float32")
    gpu.flush()
    const before = gpu.stats().submits
    for (let i = 0; i < 1500; i++) {
      const next = gpu.axpy(acc, ones, 3, 1)
      gpu.release(acc)
      acc = next
    }
    expect(Array.from(await gpu.read(acc, "float32"))).toEqual([1500, 1500, 1500])
    expect(gpu.stats().submits).toBe(before + 2)
  })

  it("an upload into a buffer that pending work reads does not corrupt that work", async () => {
    gpu.trim() // no spare free buffers: the upload must get x's
    const a = uniform(1000, -1, 1, 5)
    const b = uniform(1000, -1, 1, 6)
    const x = gpu.upload(a) as GpuStorage
    gpu.flush()
    const y = gpu.unary("scale", x, 1000, 2) // pending: reads x
    gpu.release(x)
    const z = gpu.upload(b) as GpuStorage // reuses x's buffer
    expect(z.buffer.id).toBe(x.buffer.id)
    expectClose(await gpu.read(y, "float32"), a.map((v) => v * 2), 0)
    expectClose(await gpu.read(z, "float32"), b, 0)
  })

  it("an output reusing a released input's buffer in the same batch leaves earlier readers intact", async () => {
    gpu.trim()
    const a = uniform(1000, -1, 1, 7)
    const x = gpu.upload(a) as GpuStorage
    gpu.flush()
    const y = gpu.unary("neg", x, 1000, 0)
    gpu.release(x)
    const w = gpu.fill(1000, 7, "float32") as GpuStorage
    expect(w.buffer.id).toBe(x.buffer.id)
    expectClose(await gpu.read(y, "float32"), a.map((v) => -v), 0)
    expect((await gpu.read(w, "float32")).every((v) => v === 7)).toBe(true)
  })

  it("concurrent reads all resolve with their own data", async () => {
    const datas = [1, 3, 127, 785, 4096].map((n, i) => uniform(n, -1, 1, 100 + i))
    const storages = datas.map((d) => gpu.unary("scale", gpu.upload(d), d.length, 3))
    const results = await Promise.all(storages.map((s) => gpu.read(s, "float32")))
    results.forEach((r, i) => expectClose(r, datas[i]!.map((v) => v * 3), 0))
  })
})

/** Parameters and Adam moments of a 20 → 32 → 4 MLP. */
interface Mlp {
  readonly params: ReadonlyArray<Storage>
  readonly m: ReadonlyArray<Storage>
  readonly v: ReadonlyArray<Storage>
}

const B = 16
const IN = 20
const H = 32
const OUT = 4
const shapes = [H * IN, H, OUT * H, OUT]

const initMlp = (backend: Backend): Mlp => {
  const r = rng(42)
  const params = shapes.map((n) => backend.upload(Float32Array.from({ length: n }, () => (r() - 0.5) * 0.5)))
  return { params, m: shapes.map((n) => backend.fill(n, 0, "float32")), v: shapes.map((n) => backend.fill(n, 0, "float32")) }
}

/** One training step (forward, backward, Adam) written against `Backend`; releases every temporary. Returns the new state and the loss storage. */
const trainStep = (backend: Backend, s: Mlp, x: Storage, labels: Storage, t: number): [Mlp, Storage] => {
  const [w1, b1, w2, b2] = s.params as [Storage, Storage, Storage, Storage]
  const tmp: Array<Storage> = []
  const keep = <S extends Storage>(st: S): S => {
    tmp.push(st)
    return st
  }
  const pre1 = keep(backend.matmul(x, w1, { m: B, k: IN, n: H, transA: false, transB: true }))
  const pre = keep(backend.binary("add", pre1, b1, [B, H], [H, 1], [0, 1]))
  const h = keep(backend.unary("relu", pre, B * H, 0))
  const lo1 = keep(backend.matmul(h, w2, { m: B, k: H, n: OUT, transA: false, transB: true }))
  const logits = keep(backend.binary("add", lo1, b2, [B, OUT], [OUT, 1], [0, 1]))
  const y = keep(backend.logSoftmax(logits, B, OUT))
  const picked = keep(backend.pick(y, labels, B, OUT))
  const total = keep(backend.reduceSum(picked, 1, B, 1))
  const loss = backend.unary("scale", total, 1, -1 / B)
  // Backward
  const gPicked = keep(backend.fill(B, -1 / B, "float32"))
  const gY = keep(backend.pickBackward(gPicked, labels, B, OUT))
  const gLogits = keep(backend.logSoftmaxBackward(y, gY, B, OUT))
  const gW2 = keep(backend.matmul(gLogits, h, { m: OUT, k: B, n: H, transA: true, transB: false }))
  const gB2 = keep(backend.reduceSum(gLogits, 1, B, OUT))
  const gH = keep(backend.matmul(gLogits, w2, { m: B, k: OUT, n: H, transA: false, transB: false }))
  const gPre = keep(backend.reluBackward(pre, gH, B * H))
  const gW1 = keep(backend.matmul(gPre, x, { m: H, k: B, n: IN, transA: true, transB: false }))
  const gB1 = keep(backend.reduceSum(gPre, 1, B, H))
  const grads = [gW1, gB1, gW2, gB2]
  const hyper: AdamHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupledWeightDecay: 0.01, biasCorrection1: 1 - 0.9 ** t, biasCorrection2: 1 - 0.999 ** t }
  const next = shapes.map((n, i) => backend.adam(s.params[i]!, grads[i]!, s.m[i]!, s.v[i]!, n, hyper))
  for (const st of [...tmp, ...s.params, ...s.m, ...s.v]) backend.release(st)
  backend.flush()
  return [{ params: next.map((o) => o[0]), m: next.map((o) => o[1]), v: next.map((o) => o[2]) }, loss]
}

describe("training steps", () => {
  const r = rng(9)
  const xs = Float32Array.from({ length: B * IN }, () => r() * 2 - 1)
  const ls = Int32Array.from({ length: B }, (_, i) => i % OUT)

  it("the first 20 steps match the CPU reference", async () => {
    const cpu = new CpuBackend()
    let gs = initMlp(gpu)
    let cs = initMlp(cpu)
    const gx = gpu.upload(xs)
    const gl = gpu.upload(ls)
    const cx = cpu.upload(xs)
    const cl = cpu.upload(ls)
    for (let t = 1; t <= 20; t++) {
      const [g2, gLoss] = trainStep(gpu, gs, gx, gl, t)
      const [c2, cLoss] = trainStep(cpu, cs, cx, cl, t)
      gs = g2
      cs = c2
      expectClose(await gpu.read(gLoss, "float32"), await cpu.read(cLoss, "float32"), 1e-4)
      gpu.release(gLoss)
    }
    for (let i = 0; i < shapes.length; i++) expectClose(await gpu.read(gs.params[i]!, "float32"), await cpu.read(cs.params[i]!, "float32"), 1e-3, 1e-5)
    for (const st of [...gs.params, ...gs.m, ...gs.v, gx, gl]) gpu.release(st)
  })

  it("1,000 identical steps keep live buffers, bind groups and pipelines constant; the loss falls", async () => {
    let state = initMlp(gpu)
    const x = gpu.upload(xs)
    const labels = gpu.upload(ls)
    let first = Number.NaN
    let last = Number.NaN
    let warm: ReturnType<WebGpuBackend["stats"]> | undefined
    for (let t = 1; t <= 1000; t++) {
      const [next, loss] = trainStep(gpu, state, x, labels, t)
      state = next
      if (t === 1 || t % 100 === 0) {
        const value = (await gpu.read(loss, "float32"))[0]!
        if (t === 1) first = value
        last = value
      }
      gpu.release(loss)
      if (t === 50) warm = gpu.stats()
      if (t > 50 && t % 100 === 0) {
        const s = gpu.stats()
        expect(s.liveBuffers).toBe(warm!.liveBuffers)
        expect(s.liveBytes).toBe(warm!.liveBytes)
        expect(s.inUse).toBe(warm!.inUse)
        expect(s.bindGroups).toBe(warm!.bindGroups)
        expect(s.pipelines).toBe(warm!.pipelines)
      }
    }
    expect(last).toBeLessThan(first * 0.5)
    for (const st of [...state.params, ...state.m, ...state.v, x, labels]) gpu.release(st)
  }, 30_000)
})
