/**
 * LSTM on every device: PyTorch's reference case (../shared/reference/10_conv_pool_lstm.json,
 * `lstm_cases`: output, h_n, c_n and the gradients of x and every weight for
 * `output.backward(grad_output)`); a 2-layer batch-first LSTM with an explicit initial
 * state against the documented equations (tests/recurrent-reference.ts), with gradients of
 * every parameter, the input and (h₀, c₀) against float64 finite differences of those
 * equations; layouts (time-major, batch-first, unbatched) agreeing; PyTorch's parameter
 * names, shapes, counts, repr and initialisation range; orthogonal recurrent weights;
 * run-time shape errors naming the layer path.
 */
import type { ModelOf } from "@effect-nn/layers"
import { ConfigError, LSTM, Linear, Mode, blockwise, forward, forwardLSTM, init, module, namedParameters, orthogonal, run as runOp } from "@effect-nn/layers"
import { ShapeError } from "@effect-nn/shape"
import type { Sym, Tensor } from "@effect-nn/tensor"
import { add, fromArray, mul, select, sum, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { RefTensor } from "./harness.ts"
import { SequenceLSTM } from "../packages/examples/src/models/sequence-lstm.ts"
import { expectClose, reference, run, runtimes } from "./harness.ts"
import type { HostConfig, HostParams } from "./recurrent-reference.ts"
import { dot, finiteDifference, hostRecurrent } from "./recurrent-reference.ts"

interface LstmCase {
  readonly name: string
  readonly config: { readonly input_size: number; readonly hidden_size: number; readonly num_layers: number; readonly bias: boolean; readonly batch_first: boolean }
  readonly params: Record<string, RefTensor>
  readonly inputs: { readonly x: RefTensor; readonly grad_output: RefTensor }
  readonly expected: { readonly output: RefTensor; readonly h_n: RefTensor; readonly c_n: RefTensor }
  readonly expected_grads: Record<string, RefTensor>
  readonly tolerance: { readonly rtol: number; readonly atol: number }
}

const ref = reference<{ readonly lstm_cases: ReadonlyArray<LstmCase> }>("10_conv_pool_lstm.json")

type Params = Record<string, Tensor<unknown>>

/** Deterministic values in [−a, a]. */
const values = (n: number, seed: number, a = 0.5): Float32Array => {
  const out = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = ((s / 2 ** 32) * 2 - 1) * a
  }
  return out
}

const paramsFromHost = (host: HostParams, shapes: Record<string, ReadonlyArray<number>>) =>
  Effect.gen(function*() {
    const p: Params = {}
    for (const [k, s] of Object.entries(shapes)) p[k] = yield* fromArray(s, host[k]!)
    return p
  })

for (const [device, rt] of runtimes(3)) {
  describe(`LSTM on ${device}`, () => {
    for (const c of ref.lstm_cases) {
      it(`${c.name}: output, h_n, c_n and the gradients of x and every weight match PyTorch`, async () => {
        const { rtol, atol } = c.tolerance
        const lstm = LSTM(c.config.input_size, c.config.hidden_size, { numLayers: c.config.num_layers, bias: c.config.bias, batchFirst: c.config.batch_first })
        await run(rt, Effect.gen(function*() {
          const params: Params = {}
          for (const [k, t] of Object.entries(c.params)) params[k] = yield* fromArray(t.shape, t.data)
          const x = yield* fromArray(c.inputs.x.shape, c.inputs.x.data)
          const gradOut = yield* fromArray(c.inputs.grad_output.shape, c.inputs.grad_output.data)
          const model = { params, buffers: {} } as unknown as ModelOf<typeof lstm>
          const evaluated = yield* forwardLSTM(lstm, model, x as Tensor<[number, number, number]>, Mode.eval)
          expectClose(yield* toArray(evaluated.output), c.expected.output.data, rtol, atol, "output")
          expectClose(yield* toArray(evaluated.h_n), c.expected.h_n.data, rtol, atol, "h_n")
          expectClose(yield* toArray(evaluated.c_n), c.expected.c_n.data, rtol, atol, "c_n")
          expect(evaluated.output.dims).toEqual(c.expected.output.shape)
          expect(evaluated.h_n.dims).toEqual(c.expected.h_n.shape)
          // output.backward(grad_output): the loss Σ output ⊙ grad_output; h_n, c_n get no gradient.
          const { grads } = yield* valueAndGrad((p: { readonly x: Tensor<unknown>; readonly params: Params }) =>
            Effect.map(
              forward(lstm, { params: p.params, buffers: {} } as unknown as ModelOf<typeof lstm>, p.x as Tensor<[number, number, number]>, Mode.train),
              (r) => sum(mul(r.output, gradOut))
            ))({ x, params })
          expectClose(yield* toArray(grads.x), c.expected_grads["x"]!.data, rtol, atol, "grad x")
          for (const k of Object.keys(c.params)) {
            expectClose(yield* toArray(grads.params[k]!), c.expected_grads[k]!.data, rtol, atol, `grad ${k}`)
          }
        }))
      })
    }

    it("2 layers, batch-first, explicit (h₀, c₀): output and (h_n, c_n) match the equations; gradients of every parameter, x, h₀ and c₀ match finite differences", async () => {
      const cfg: HostConfig = { kind: "LSTM", inputSize: 3, hiddenSize: 4, numLayers: 2, batchFirst: true, bias: true }
      const lstm = LSTM(3, 4, { numLayers: 2, batchFirst: true })
      const [B, T, H, L] = [2, 5, 4, 2] as const
      const shapes: Record<string, ReadonlyArray<number>> = {
        weight_ih_l0: [16, 3], weight_hh_l0: [16, 4], bias_ih_l0: [16], bias_hh_l0: [16],
        weight_ih_l1: [16, 4], weight_hh_l1: [16, 4], bias_ih_l1: [16], bias_hh_l1: [16]
      }
      const host: HostParams = {}
      Object.entries(shapes).forEach(([k, s], i) => {
        host[k] = values(s.reduce((a, b) => a * b, 1), 11 + i, 0.6)
      })
      const xHost = values(B * T * 3, 5, 1)
      const h0Host = values(L * B * H, 6, 0.5)
      const c0Host = values(L * B * H, 7, 0.5)
      // Weights of the loss: Σ output·wo + Σ h_n·wh + Σ c_n·wc (h_n and c_n get gradients too).
      const wo = values(B * T * H, 8, 1)
      const wh = values(L * B * H, 9, 1)
      const wc = values(L * B * H, 10, 1)
      const expected = hostRecurrent(cfg, host, xHost, [B, T, 3], h0Host, c0Host)
      const hostLoss = (p: HostParams, x: ArrayLike<number>, h0: ArrayLike<number>, c0: ArrayLike<number>) => {
        const r = hostRecurrent(cfg, p, x, [B, T, 3], h0, c0)
        return dot(r.output, wo) + dot(r.hn, wh) + dot(r.cn!, wc)
      }
      const got = await run(rt, Effect.gen(function*() {
        const params = yield* paramsFromHost(host, shapes)
        const x = yield* fromArray([B, T, 3], xHost)
        const h = yield* fromArray([L, B, H], h0Host)
        const c = yield* fromArray([L, B, H], c0Host)
        const weights = { o: yield* fromArray([B, T, H], wo), h: yield* fromArray([L, B, H], wh), c: yield* fromArray([L, B, H], wc) }
        const model = { params, buffers: {} } as unknown as ModelOf<typeof lstm>
        const ev = yield* forwardLSTM(lstm, model, x, Mode.eval, { h, c })
        const { grads } = yield* valueAndGrad((p: { readonly params: Params; readonly x: Tensor<[2, 5, 3]>; readonly h: Tensor<[2, 2, 4]>; readonly c: Tensor<[2, 2, 4]> }) =>
          Effect.map(
            forwardLSTM(lstm, { params: p.params, buffers: {} } as unknown as ModelOf<typeof lstm>, p.x, Mode.train, { h: p.h, c: p.c }),
            (r) => add(add(sum(mul(r.output, weights.o)), sum(mul(r.h_n, weights.h))), sum(mul(r.c_n, weights.c)))
          ))({ params, x, h, c })
        const g: Record<string, Float32Array> = {}
        for (const k of Object.keys(shapes)) g[k] = (yield* toArray(grads.params[k]!)) as Float32Array
        return {
          output: yield* toArray(ev.output), hn: yield* toArray(ev.h_n), cn: yield* toArray(ev.c_n), dims: [ev.output.dims, ev.h_n.dims, ev.c_n.dims],
          g, gx: yield* toArray(grads.x), gh: yield* toArray(grads.h), gc: yield* toArray(grads.c)
        }
      }))
      expect(got.dims).toEqual([[B, T, H], [L, B, H], [L, B, H]])
      expectClose(got.output, expected.output, 1e-4, 1e-5, "output")
      expectClose(got.hn, expected.hn, 1e-4, 1e-5, "h_n")
      expectClose(got.cn, expected.cn!, 1e-4, 1e-5, "c_n")
      for (const k of Object.keys(shapes)) {
        const numeric = finiteDifference(host[k]!, (v) => hostLoss({ ...host, [k]: v }, xHost, h0Host, c0Host))
        expectClose(got.g[k]!, numeric, 1e-3, 1e-4, `d/d${k}`)
      }
      expectClose(got.gx, finiteDifference(xHost, (v) => hostLoss(host, v, h0Host, c0Host)), 1e-3, 1e-4, "d/dx")
      expectClose(got.gh, finiteDifference(h0Host, (v) => hostLoss(host, xHost, v, c0Host)), 1e-3, 1e-4, "d/dh0")
      expectClose(got.gc, finiteDifference(c0Host, (v) => hostLoss(host, xHost, h0Host, v)), 1e-3, 1e-4, "d/dc0")
    })

    it("layouts agree: time-major [T, B, I], batch-first [B, T, I] and unbatched [T, I]; no bias matches the equations", async () => {
      const [T, B] = [4, 3]
      const tm = LSTM(2, 3, { bias: false })
      const bf = LSTM(2, 3, { bias: false, batchFirst: true })
      const host: HostParams = { weight_ih_l0: values(24, 1, 0.7), weight_hh_l0: values(36, 2, 0.7) }
      const xTm = values(T * B * 2, 3, 1)
      const xBf = new Float32Array(T * B * 2)
      for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let i = 0; i < 2; i++) xBf[(b * T + t) * 2 + i] = xTm[(t * B + b) * 2 + i]!
      const expected = hostRecurrent({ kind: "LSTM", inputSize: 2, hiddenSize: 3, numLayers: 1, batchFirst: false, bias: false }, host, xTm, [T, B, 2])
      const got = await run(rt, Effect.gen(function*() {
        const params = yield* paramsFromHost(host, { weight_ih_l0: [12, 2], weight_hh_l0: [12, 3] })
        const m = { params, buffers: {} } as unknown as ModelOf<typeof tm>
        const x = yield* fromArray([T, B, 2], xTm)
        const a = yield* forwardLSTM(tm, m, x, Mode.eval)
        const b = yield* forwardLSTM(bf, m, yield* fromArray([B, T, 2], xBf), Mode.eval)
        // Batch element 1 alone, unbatched: [T, 2].
        const x1 = yield* runOp(() => select(x, 1, 1))
        const u = yield* forwardLSTM(tm, m, x1, Mode.eval)
        return { a: yield* toArray(a.output), ahn: yield* toArray(a.h_n), b: yield* toArray(b.output), bhn: yield* toArray(b.h_n), u: yield* toArray(u.output), uhn: yield* toArray(u.h_n), udims: [u.output.dims, u.h_n.dims, u.c_n.dims] }
      }))
      expectClose(got.a, expected.output, 1e-4, 1e-5, "time-major output")
      expectClose(got.ahn, expected.hn, 1e-4, 1e-5, "time-major h_n")
      expectClose(got.bhn, expected.hn, 1e-4, 1e-5, "batch-first h_n")
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          for (let j = 0; j < 3; j++) expect(got.b[(b * T + t) * 3 + j]).toBeCloseTo(got.a[(t * B + b) * 3 + j]!, 6)
        }
        for (let j = 0; j < 3; j++) expect(got.u[t * 3 + j]).toBeCloseTo(got.a[(t * B + 1) * 3 + j]!, 6)
      }
      expect(got.udims).toEqual([[T, 3], [1, 3], [1, 3]])
    })

    it("in a custom module: the last step's output through a Linear head, batch-first [B, 28, 28]", async () => {
      const net = module("SeqNet", { lstm: LSTM(28, 8, { batchFirst: true }), head: Linear(8, 10) })
        .forward<[Sym<"B">, Sym<"T">, 28], [Sym<"B">, 10]>((m, x) =>
          Effect.gen(function*() {
            const out = yield* m.lstm(x)
            const last = yield* runOp(() => select(out, 1, out.dims[1]! - 1))
            return yield* m.head(last)
          })
        )
      const dims = await run(rt, Effect.gen(function*() {
        const model = yield* init(net)
        const x = yield* fromArray([2, 28, 28], values(2 * 28 * 28, 4, 1))
        const y = yield* forward(net, model, x as unknown as Tensor<[Sym<"B">, Sym<"T">, 28]>, Mode.eval)
        const keys = namedParameters(net, model).map(([k, t]) => `${k} [${t.dims.join(", ")}]`)
        return { y: y.dims, keys }
      }))
      expect(dims.y).toEqual([2, 10])
      expect(dims.keys).toEqual(["lstm.weight_ih_l0 [32, 28]", "lstm.weight_hh_l0 [32, 8]", "lstm.bias_ih_l0 [32]", "lstm.bias_hh_l0 [32]", "head.weight [10, 8]", "head.bias [10]"])
    })

    it("the `train --model lstm` network: [B, 784] → 28 rows of 28 → LSTM(28, 128) → last step → [B, 10]; PyTorch's keys; every parameter gets a gradient", async () => {
      const net = SequenceLSTM()
      const got = await run(rt, Effect.gen(function*() {
        const model = yield* init(net)
        const x = yield* fromArray([3, 784], values(3 * 784, 12, 1))
        const y = yield* forward(net, model, x as unknown as Tensor<[Sym<"B">, 784]>, Mode.eval)
        const { grads } = yield* valueAndGrad((params: typeof model.params) =>
          Effect.map(forward(net, { params, buffers: model.buffers }, x as unknown as Tensor<[Sym<"B">, 784]>, Mode.train), (r) => sum(mul(r.output, r.output)))
        )(model.params)
        const norms: Array<number> = []
        for (const [, g] of namedParameters(net, { params: grads, buffers: model.buffers })) {
          norms.push(Array.from(yield* toArray(g)).reduce((a, v) => a + v * v, 0))
        }
        return { dims: y.dims, keys: namedParameters(net, model).map(([k, t]) => `${k} [${t.dims.join(", ")}]`), norms }
      }))
      expect(got.dims).toEqual([3, 10])
      expect(got.keys).toEqual(["lstm.weight_ih_l0 [512, 28]", "lstm.weight_hh_l0 [512, 128]", "lstm.bias_ih_l0 [512]", "lstm.bias_hh_l0 [512]", "fc.weight [10, 128]", "fc.bias [10]"])
      for (const n of got.norms) expect(n).toBeGreaterThan(0)
    })

    it("shape errors name the layer path, the expected input and the state shape", async () => {
      const net = module("Net", { rnn: LSTM(28, 8, { batchFirst: true }) }).forward<[Sym<"B">, Sym<"T">, number], [Sym<"B">, Sym<"T">, 8]>((m, x) => m.rnn(x as Tensor<[Sym<"B">, Sym<"T">, 28]>))
      const lstm = LSTM(3, 4)
      const [e1, e2] = await run(rt, Effect.gen(function*() {
        const model = yield* init(net)
        const bad = yield* fromArray([2, 5, 27], new Float32Array(270))
        const e1 = yield* Effect.flip(forward(net, model, bad as unknown as Tensor<[Sym<"B">, Sym<"T">, number]>, Mode.eval))
        const m2 = yield* init(lstm)
        const x = yield* fromArray([5, 2, 3], new Float32Array(30))
        const h = yield* fromArray([1, 3, 4], new Float32Array(12))
        const e2 = yield* Effect.flip(forwardLSTM(lstm, m2, x, Mode.eval, { h: h as unknown as Tensor<[1, 2, 4]>, c: h as unknown as Tensor<[1, 2, 4]> }))
        return [e1, e2] as const
      }))
      expect(e1).toBeInstanceOf(ShapeError)
      expect(e1.message).toBe("rnn: LSTM(28, 8) expects input [B, T, 28] or unbatched [T, 28] (input_size 28), got [2, 5, 27]")
      expect(e2).toBeInstanceOf(ShapeError)
      expect(e2.message).toBe("LSTM: LSTM h0 must be [1, 2, 4] (num_layers, batch, hidden_size) for input [5, 2, 3], got [1, 3, 4]")
    })
  })
}

describe("LSTM description", () => {
  it("PyTorch's parameter names, shapes and order, counts and repr; options validated", async () => {
    const lstm = LSTM(28, 128, { numLayers: 2, batchFirst: true })
    expect(lstm.label).toBe("LSTM(28, 128, num_layers=2, batch_first=True)")
    expect(LSTM(10, 20).label).toBe("LSTM(10, 20)")
    expect(LSTM(10, 20, { bias: false }).label).toBe("LSTM(10, 20, bias=False)")
    // PyTorch: 4·128·(28 + 128) + 2·4·128 for layer 0, 4·128·(128 + 128) + 2·4·128 for layer 1.
    expect(lstm.parameterCount).toBe(80896 + 132096)
    expect(LSTM(28, 128).parameterCount).toBe(80896)
    expect(() => LSTM(0, 4)).toThrow(ConfigError)
    expect(() => LSTM(3, 4, { numLayers: 0 })).toThrow("LSTM: numLayers must be a positive integer, got 0")
  })
})

for (const [device, rt] of runtimes(5)) {
  describe(`LSTM initialisation on ${device}`, () => {
    it("every parameter in U(−1/√H, 1/√H), spread over the range; orthogonal recurrent weights per gate or whole", async () => {
      const H = 16
      const lstm = LSTM(8, H, { numLayers: 2 })
      const orth = LSTM(8, H, { recurrentInit: blockwise(4, orthogonal()) })
      const whole = LSTM(8, H, { recurrentInit: orthogonal() })
      const got = await run(rt, Effect.gen(function*() {
        const m = yield* init(lstm)
        const entries = namedParameters(lstm, m)
        const vals: Record<string, Float32Array> = {}
        for (const [k, t] of entries) vals[k] = (yield* toArray(t)) as Float32Array
        const o = yield* init(orth)
        const w = yield* init(whole)
        return { keys: entries.map(([k, t]) => `${k} [${t.dims.join(", ")}]`), vals, orth: (yield* toArray(o.params.weight_hh_l0)) as Float32Array, whole: (yield* toArray(w.params.weight_hh_l0)) as Float32Array }
      }))
      expect(got.keys).toEqual([
        "weight_ih_l0 [64, 8]", "weight_hh_l0 [64, 16]", "bias_ih_l0 [64]", "bias_hh_l0 [64]",
        "weight_ih_l1 [64, 16]", "weight_hh_l1 [64, 16]", "bias_ih_l1 [64]", "bias_hh_l1 [64]"
      ])
      const k = 1 / Math.sqrt(H)
      for (const [name, v] of Object.entries(got.vals)) {
        let lo = Infinity
        let hi = -Infinity
        for (const x of v) {
          lo = Math.min(lo, x)
          hi = Math.max(hi, x)
        }
        expect(lo, name).toBeGreaterThanOrEqual(-k)
        expect(hi, name).toBeLessThanOrEqual(k)
        expect(hi - lo, name).toBeGreaterThan(1.5 * k)
      }
      // Each gate block [H, H] of weight_hh is orthogonal: Wᵀ·W = I.
      for (let g = 0; g < 4; g++) {
        for (let a = 0; a < H; a++) {
          for (let b = 0; b < H; b++) {
            let s = 0
            for (let r = 0; r < H; r++) s += got.orth[(g * H + r) * H + a]! * got.orth[(g * H + r) * H + b]!
            expect(s).toBeCloseTo(a === b ? 1 : 0, 4)
          }
        }
      }
      // The whole [4H, H] matrix has orthonormal columns.
      for (let a = 0; a < H; a++) {
        for (let b = 0; b < H; b++) {
          let s = 0
          for (let r = 0; r < 4 * H; r++) s += got.whole[r * H + a]! * got.whole[r * H + b]!
          expect(s).toBeCloseTo(a === b ? 1 : 0, 4)
        }
      }
    })
  })
}
