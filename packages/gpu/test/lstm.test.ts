/**
 * The fused LSTM sequence kernels (`lstmSequence`, `lstmSequenceBackward`) against the
 * CPU reference: both layouts (batch-first and time-major row orders), with and without an
 * initial state, odd sizes (hidden sizes that are not multiples of 4 or 8), and a large
 * pre-activation range so the activations saturate; every output of the forward and of
 * the backward (dxw, dW_hh, dbias, dh₀, dc₀), with and without a bias. Also: outputs are fresh storages and the inputs are
 * left unchanged.
 */
import { CpuBackend, type LstmSequenceSpec, type Storage } from "@effect-nn/tensor"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { WebGpuBackend } from "../src/index.ts"
import { expectClose, makeGpu, uniform } from "./helpers.ts"

let gpu: WebGpuBackend
const cpu = new CpuBackend()

beforeAll(async () => {
  gpu = await makeGpu()
}, 30_000)
afterAll(() => gpu?.destroy())

interface Case {
  readonly batch: number
  readonly steps: number
  readonly hidden: number
  readonly batchFirst: boolean
  readonly state: boolean
  /** With a bias (b_ih + b_hh) added in the cell. */
  readonly bias: boolean
  /** Pre-activations are drawn in [−range, range]. */
  readonly range: number
}

const cases: ReadonlyArray<Case> = [
  { batch: 3, steps: 5, hidden: 7, batchFirst: true, state: false, bias: true, range: 1 },
  { batch: 3, steps: 5, hidden: 7, batchFirst: false, state: true, bias: false, range: 1 },
  { batch: 1, steps: 1, hidden: 1, batchFirst: false, state: true, bias: true, range: 1 },
  { batch: 8, steps: 6, hidden: 33, batchFirst: true, state: true, bias: true, range: 12 },
  { batch: 17, steps: 9, hidden: 16, batchFirst: false, state: false, bias: false, range: 3 }
]

const read = (b: { read(s: Storage, d: "float32"): Promise<Float32Array | Int32Array> }, s: Storage) => b.read(s, "float32")

describe("lstmSequence and its backward match the CPU reference", () => {
  for (const c of cases) {
    const name = `B ${c.batch}, T ${c.steps}, H ${c.hidden}, ${c.batchFirst ? "batch-first" : "time-major"}, ${c.state ? "with" : "without"} (h₀, c₀), ${c.bias ? "with" : "without"} bias, pre-activations in ±${c.range}`
    it(name, async () => {
      const { batch: B, steps: T, hidden: H } = c
      const spec: LstmSequenceSpec = { batch: B, steps: T, hidden: H, batchStride: c.batchFirst ? T : 1, stepStride: c.batchFirst ? 1 : B }
      const rows = B * T
      const host = {
        xw: uniform(rows * 4 * H, -c.range, c.range, 1),
        whh: uniform(4 * H * H, -1 / Math.sqrt(H), 1 / Math.sqrt(H), 2),
        bias: uniform(4 * H, -1, 1, 6),
        h0: uniform(B * H, -1, 1, 3),
        c0: uniform(B * H, -2, 2, 4),
        dhc: uniform(rows * 2 * H, -1, 1, 5)
      }
      const run = async (backend: CpuBackend | WebGpuBackend) => {
        const xw = backend.upload(host.xw)
        const whh = backend.upload(host.whh)
        const bias = c.bias ? backend.upload(host.bias) : undefined
        const h0 = c.state ? backend.upload(host.h0) : undefined
        const c0 = c.state ? backend.upload(host.c0) : undefined
        const dhc = backend.upload(host.dhc)
        const [hc, gates] = backend.lstmSequence(xw, whh, bias, h0, c0, spec)
        const grads = backend.lstmSequenceBackward(dhc, whh, h0, c0, hc, gates, spec)
        const outputs = [hc, gates, ...grads]
        const inputs = [xw, whh, dhc, ...(h0 === undefined ? [] : [h0]), ...(c0 === undefined ? [] : [c0])]
        for (const o of outputs) for (const i of inputs) expect(o.id).not.toBe(i.id)
        const values = await Promise.all(outputs.map((s) => read(backend, s)))
        const after = await Promise.all([read(backend, xw), read(backend, whh), read(backend, dhc)])
        return { values, after }
      }
      const g = await run(gpu)
      const r = await run(cpu)
      const names = ["hc", "gates", "dxw", "dwhh", "dbias", "dh0", "dc0"]
      names.forEach((n, i) => {
        const got = g.values[i]!
        const want = r.values[i]!
        expect(got.length, n).toBe(want.length)
        expectClose(got, want, 1e-4, n === "dwhh" || n === "dbias" ? 1e-4 * Math.sqrt(rows) : 1e-5)
      })
      expectClose(g.after[0]!, host.xw, 0)
      expectClose(g.after[1]!, host.whh, 0)
      expectClose(g.after[2]!, host.dhc, 0)
    })
  }
})
