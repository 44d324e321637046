/**
 * GRU on every device against PyTorch's documented equations (tests/recurrent-reference.ts:
 * r, z, n gates with b_hn inside r ⊙ (W_hn h + b_hn), h' = (1 − z) ⊙ n + z ⊙ h), forward
 * and final state in every layout, with and without bias, 1 and 2 layers, zero and
 * explicit h₀; gradients of every parameter, the input and h₀ against float64 central
 * finite differences of the equations, and a float32 finite-difference check of the
 * device's own forward on sampled coordinates; PyTorch's names, shapes, counts, repr and
 * initialisation range.
 */
import type { ModelOf } from "@effect-nn/layers"
import { ConfigError, GRU, Mode, forward, forwardGRU, init, namedParameters } from "@effect-nn/layers"
import { ShapeError } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { add, fromArray, mul, sum, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { expectClose, run, runtimes } from "./harness.ts"
import type { HostConfig, HostParams } from "./recurrent-reference.ts"
import { dot, finiteDifference, hostRecurrent } from "./recurrent-reference.ts"

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

/** PyTorch's parameter shapes of a GRU configuration, in state-dict order. */
const shapesOf = (cfg: HostConfig): Record<string, ReadonlyArray<number>> => {
  const out: Record<string, ReadonlyArray<number>> = {}
  for (let l = 0; l < cfg.numLayers; l++) {
    out[`weight_ih_l${l}`] = [3 * cfg.hiddenSize, l === 0 ? cfg.inputSize : cfg.hiddenSize]
    out[`weight_hh_l${l}`] = [3 * cfg.hiddenSize, cfg.hiddenSize]
    if (cfg.bias) {
      out[`bias_ih_l${l}`] = [3 * cfg.hiddenSize]
      out[`bias_hh_l${l}`] = [3 * cfg.hiddenSize]
    }
  }
  return out
}

const hostParams = (shapes: Record<string, ReadonlyArray<number>>, seed: number): HostParams => {
  const p: HostParams = {}
  Object.entries(shapes).forEach(([k, s], i) => {
    p[k] = values(s.reduce((a, b) => a * b, 1), seed + i, 0.7)
  })
  return p
}

interface Scenario {
  readonly name: string
  readonly cfg: HostConfig
  readonly dims: readonly [number, number, number] | readonly [number, number]
  readonly withH0: boolean
}

const scenarios: ReadonlyArray<Scenario> = [
  { name: "1 layer, time-major [T, B, I], h₀ = 0", cfg: { kind: "GRU", inputSize: 3, hiddenSize: 4, numLayers: 1, batchFirst: false, bias: true }, dims: [4, 2, 3], withH0: false },
  { name: "2 layers, batch-first [B, T, I], explicit h₀", cfg: { kind: "GRU", inputSize: 3, hiddenSize: 4, numLayers: 2, batchFirst: true, bias: true }, dims: [2, 4, 3], withH0: true },
  { name: "no bias, unbatched [T, I], explicit h₀", cfg: { kind: "GRU", inputSize: 2, hiddenSize: 3, numLayers: 1, batchFirst: false, bias: false }, dims: [5, 2], withH0: true }
]

for (const [device, rt] of runtimes(4)) {
  describe(`GRU on ${device}`, () => {
    for (const sc of scenarios) {
      it(`${sc.name}: output and h_n match the equations; gradients of every parameter, x and h₀ match finite differences`, async () => {
        const { cfg, dims } = sc
        const gru = GRU(cfg.inputSize, cfg.hiddenSize, { numLayers: cfg.numLayers, batchFirst: cfg.batchFirst, bias: cfg.bias })
        const shapes = shapesOf(cfg)
        const host = hostParams(shapes, 21)
        const n = dims.reduce((a, b) => a * b, 1)
        const unbatched = dims.length === 2
        const B = unbatched ? 1 : cfg.batchFirst ? dims[0] : dims[1]
        const T = unbatched || !cfg.batchFirst ? dims[0] : dims[1]
        const H = cfg.hiddenSize
        const L = cfg.numLayers
        const stateDims = unbatched ? [L, H] : [L, B, H]
        const xHost = values(n, 3, 1)
        const h0Host = sc.withH0 ? values(L * B * H, 4, 0.8) : undefined
        const wo = values(T * B * H, 5, 1)
        const wh = values(L * B * H, 6, 1)
        const expected = hostRecurrent(cfg, host, xHost, dims, h0Host)
        const hostLoss = (p: HostParams, x: ArrayLike<number>, h0: ArrayLike<number> | undefined) => {
          const r = hostRecurrent(cfg, p, x, dims, h0)
          return dot(r.output, wo) + dot(r.hn, wh)
        }
        const got = await run(rt, Effect.gen(function*() {
          const params: Params = {}
          for (const [k, s] of Object.entries(shapes)) params[k] = yield* fromArray(s, host[k]!)
          const x = yield* fromArray(dims, xHost)
          const h0 = h0Host === undefined ? undefined : yield* fromArray(stateDims, h0Host)
          const wOut = yield* fromArray([...dims.slice(0, -1), H], wo)
          const wState = yield* fromArray(stateDims, wh)
          const model = { params, buffers: {} } as unknown as ModelOf<typeof gru>
          const loose = x as unknown as Tensor<[number, number, number]>
          const ev = yield* forwardGRU(gru, model, loose, Mode.eval, h0 as Tensor<[number, number, number]> | undefined)
          const lossOf = (p: { readonly params: Params; readonly x: Tensor<unknown>; readonly h0?: Tensor<unknown> }) =>
            Effect.map(
              forwardGRU(gru, { params: p.params, buffers: {} } as unknown as ModelOf<typeof gru>, p.x as Tensor<[number, number, number]>, Mode.train, p.h0 as Tensor<[number, number, number]> | undefined),
              (r) => add(sum(mul(r.output, wOut)), sum(mul(r.h_n, wState)))
            )
          const { grads } = yield* valueAndGrad(lossOf)(h0 === undefined ? { params, x } : { params, x, h0 })
          const g: Record<string, Float32Array> = {}
          for (const k of Object.keys(shapes)) g[k] = (yield* toArray(grads.params[k]!)) as Float32Array
          // The device's own float32 loss at a few perturbed coordinates of weight_hh_l0.
          const step = 1e-2
          const probe: Array<number> = []
          const w = host["weight_hh_l0"]!
          for (const i of [0, Math.floor(w.length / 2), w.length - 1]) {
            const at = (delta: number) =>
              Effect.gen(function*() {
                const moved = Float32Array.from(w)
                moved[i]! += delta
                const p = { ...params, weight_hh_l0: yield* fromArray(shapes["weight_hh_l0"]!, moved) }
                const r = yield* forwardGRU(gru, { params: p, buffers: {} } as unknown as ModelOf<typeof gru>, loose, Mode.eval, h0 as Tensor<[number, number, number]> | undefined)
                return (yield* toArray(add(sum(mul(r.output, wOut)), sum(mul(r.h_n, wState)))))[0]!
              })
            probe.push(((yield* at(step)) - (yield* at(-step))) / (2 * step))
          }
          return {
            output: yield* toArray(ev.output), hn: yield* toArray(ev.h_n), dims: [ev.output.dims, ev.h_n.dims],
            g, gx: yield* toArray(grads.x), gh: h0 === undefined ? undefined : yield* toArray((grads as { readonly h0: Tensor<unknown> }).h0), probe
          }
        }))
        expect(got.dims).toEqual([[...dims.slice(0, -1), H], stateDims])
        expectClose(got.output, expected.output, 1e-4, 1e-5, "output")
        expectClose(got.hn, expected.hn, 1e-4, 1e-5, "h_n")
        for (const k of Object.keys(shapes)) {
          const numeric = finiteDifference(host[k]!, (v) => hostLoss({ ...host, [k]: v }, xHost, h0Host))
          expectClose(got.g[k]!, numeric, 1e-3, 1e-4, `d/d${k}`)
        }
        expectClose(got.gx, finiteDifference(xHost, (v) => hostLoss(host, v, h0Host)), 1e-3, 1e-4, "d/dx")
        if (h0Host !== undefined) expectClose(got.gh!, finiteDifference(h0Host, (v) => hostLoss(host, xHost, v)), 1e-3, 1e-4, "d/dh0")
        const w = host["weight_hh_l0"]!
        const picks = [0, Math.floor(w.length / 2), w.length - 1]
        expectClose(got.probe, picks.map((i) => got.g["weight_hh_l0"]![i]!), 2e-2, 2e-3, "float32 finite differences on the device")
      })
    }

    it("PyTorch's parameter names, shapes and order; every parameter in U(−1/√H, 1/√H)", async () => {
      const gru = GRU(6, 9, { numLayers: 2 })
      const got = await run(rt, Effect.gen(function*() {
        const m = yield* init(gru)
        const out: Array<readonly [string, ReadonlyArray<number>, Float32Array]> = []
        for (const [k, t] of namedParameters(gru, m)) out.push([k, t.dims, (yield* toArray(t)) as Float32Array])
        return out
      }))
      expect(got.map(([k, d]) => `${k} [${d.join(", ")}]`)).toEqual([
        "weight_ih_l0 [27, 6]", "weight_hh_l0 [27, 9]", "bias_ih_l0 [27]", "bias_hh_l0 [27]",
        "weight_ih_l1 [27, 9]", "weight_hh_l1 [27, 9]", "bias_ih_l1 [27]", "bias_hh_l1 [27]"
      ])
      for (const [k, , v] of got) {
        let hi = 0
        for (const x of v) hi = Math.max(hi, Math.abs(x))
        expect(hi, k).toBeLessThanOrEqual(1 / 3)
        expect(hi, k).toBeGreaterThan(0.2)
      }
    })

    it("as a module: the output of forward equals forwardGRU's; a wrong input dim is a ShapeError naming the path", async () => {
      const gru = GRU(3, 5, { batchFirst: true })
      const [a, b, e] = await run(rt, Effect.gen(function*() {
        const model = yield* init(gru)
        const x = yield* fromArray([2, 4, 3], values(24, 9, 1))
        const y = yield* forward(gru, model, x, Mode.eval)
        const r = yield* forwardGRU(gru, model, x, Mode.eval)
        const bad = yield* fromArray([2, 4, 2], new Float32Array(16))
        const e = yield* Effect.flip(forward(gru, model, bad as unknown as Tensor<[2, 4, 3]>, Mode.eval))
        return [yield* toArray(y), yield* toArray(r.output), e] as const
      }))
      expectClose(a, b, 0, 0, "module output")
      expect(e).toBeInstanceOf(ShapeError)
      expect(e.message).toBe("GRU: GRU(3, 5) expects input [B, T, 3] or unbatched [T, 3] (input_size 3), got [2, 4, 2]")
    })
  })
}

describe("GRU description", () => {
  it("PyTorch's parameter counts and repr; options validated", () => {
    const gru = GRU(10, 20, { numLayers: 2, bias: false })
    expect(gru.label).toBe("GRU(10, 20, num_layers=2, bias=False)")
    // PyTorch: 3·20·(10 + 20) + 3·20·(20 + 20), no biases.
    expect(gru.parameterCount).toBe(1800 + 2400)
    expect(GRU(28, 128).parameterCount).toBe(3 * 128 * (28 + 128) + 2 * 3 * 128)
    expect(() => GRU(3, 1.5)).toThrow(ConfigError)
  })
})
