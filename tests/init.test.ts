/**
 * Initialisation schemes against PyTorch's formulas (../shared/reference/08_init.json) on
 * every device: for each rule, a 512×512 weight (the bias rule: 512 values) drawn through
 * `Linear(512, 512, { weightInit })` and read back, its empirical mean, std, min and max
 * checked against the formula with tolerances from the sampling error of each estimate;
 * orthogonal matrices (W·Wᵀ or Wᵀ·W = gain²·I); `calculateGain`; and `reinitialize`
 * (PyTorch's `model.apply(init_fn)`) across nested modules.
 */
import type { InitScheme } from "@effect-nn/layers"
import {
  BatchNorm1d,
  Linear,
  ReLU,
  calculateGain,
  constant,
  init,
  kaimingNormal,
  kaimingUniform,
  linearDefaultBias,
  linearDefaultWeight,
  module,
  named,
  normal,
  ones,
  orthogonal,
  reinitialize,
  repeat,
  residual,
  sequential,
  uniform,
  xavierNormal,
  xavierUniform,
  zeros
} from "@effect-nn/layers"
import type { Sym, Tensor } from "@effect-nn/tensor"
import { freezeTensor, makeRandomSource, relu, tensorsOf, toArray } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { reference, run, runtimes } from "./harness.ts"

interface InitRule {
  readonly name: string
  readonly distribution: "uniform" | "normal"
  readonly expected: { readonly bound?: number; readonly mean: number; readonly std: number }
  readonly n?: number
}
interface OrthogonalCase {
  readonly shape: [number, number]
  readonly gain: number
  readonly max_abs_deviation_from_gain2_I: number
}
interface InitFile {
  readonly gains: Record<string, number>
  readonly inits: ReadonlyArray<InitRule>
  readonly orthogonal: ReadonlyArray<OrthogonalCase>
  readonly fan_in: number
  readonly fan_out: number
}

const ref = reference<InitFile>("08_init.json")

/** Which parameter of `Linear(512, 512, options)` each reference rule describes. */
const rules: Record<string, { readonly param: "weight" | "bias"; readonly weightInit?: InitScheme }> = {
  "nn.Linear default weight": { param: "weight" },
  "nn.Linear default bias": { param: "bias" },
  "xavier_uniform_": { param: "weight", weightInit: xavierUniform({ gain: 1 }) },
  "xavier_normal_": { param: "weight", weightInit: xavierNormal({ gain: 1 }) },
  "kaiming_uniform_relu": { param: "weight", weightInit: kaimingUniform({ a: 0, mode: "fan_in", nonlinearity: "relu" }) },
  "kaiming_uniform_relu_fan_out": { param: "weight", weightInit: kaimingUniform({ mode: "fan_out", nonlinearity: "relu" }) },
  "kaiming_normal_relu": { param: "weight", weightInit: kaimingNormal({ a: 0, mode: "fan_in", nonlinearity: "relu" }) }
}

/** mean, population std, min, max in float64. */
const stats = (v: ArrayLike<number>) => {
  let s = 0
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < v.length; i++) {
    s += v[i]!
    min = Math.min(min, v[i]!)
    max = Math.max(max, v[i]!)
  }
  const mean = s / v.length
  let ss = 0
  for (let i = 0; i < v.length; i++) ss += (v[i]! - mean) ** 2
  return { mean, std: Math.sqrt(ss / v.length), min, max }
}

/**
 * Checks samples against a uniform U(−b, b) or normal N(0, σ²) with tolerances from the
 * sampling error of each estimate (n samples, failure probability about 1e-6 or less):
 * - mean: standard error σ/√n; |mean| < 5σ/√n.
 * - std: standard error σ·√((κ − 1)/(4n)) with κ the kurtosis (9/5 uniform, 3 normal),
 *   i.e. 0.447σ/√n and 0.707σ/√n; |s − σ| < 5 standard errors.
 * - uniform extremes: all values in [−b, b]; P(max < b(1 − δ)) = (1 − δ/2)ⁿ ≈ e^(−nδ/2),
 *   so with δ = 28/n the max exceeds b(1 − δ) (and the min the mirror) but for e^(−14).
 * - normal extremes: P(max < 3.8σ) = Φ(3.8)ⁿ < e^(−18) for n = 262144, and
 *   P(max > 7σ) < n·1.3e-12; for small n only the upper bound applies.
 */
const checkDistribution = (values: ArrayLike<number>, rule: InitRule, what: string) => {
  const n = values.length
  const { mean, std, min, max } = stats(values)
  const sigma = rule.expected.std
  expect(Math.abs(mean - rule.expected.mean), `${what}: mean ${mean}`).toBeLessThan((5 * sigma) / Math.sqrt(n))
  const kurtosis = rule.distribution === "uniform" ? 9 / 5 : 3
  const stdError = sigma * Math.sqrt((kurtosis - 1) / (4 * n))
  expect(Math.abs(std - sigma), `${what}: std ${std} vs ${sigma}`).toBeLessThan(5 * stdError)
  if (rule.distribution === "uniform") {
    const b = rule.expected.bound!
    expect(min, `${what}: min`).toBeGreaterThanOrEqual(-Math.fround(b))
    expect(max, `${what}: max`).toBeLessThanOrEqual(Math.fround(b))
    const delta = 28 / n
    expect(min, `${what}: min`).toBeLessThan(-b * (1 - delta))
    expect(max, `${what}: max`).toBeGreaterThan(b * (1 - delta))
  } else {
    expect(Math.max(-min, max), `${what}: extreme`).toBeLessThan(7 * sigma)
    if (n >= 100_000) {
      expect(max, `${what}: max`).toBeGreaterThan(3.8 * sigma)
      expect(min, `${what}: min`).toBeLessThan(-3.8 * sigma)
    }
  }
}

/** max |P − gain²·I| with P = W·Wᵀ (rows ≤ cols) or Wᵀ·W (rows > cols), in float64. */
const orthogonalityDeviation = (w: ArrayLike<number>, rows: number, cols: number, gain: number) => {
  const wide = rows <= cols
  const k = wide ? rows : cols
  const at = (i: number, p: number) => (wide ? w[i * cols + p]! : w[p * cols + i]!)
  const len = wide ? cols : rows
  let worst = 0
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let dot = 0
      for (let p = 0; p < len; p++) dot += at(i, p) * at(j, p)
      worst = Math.max(worst, Math.abs(dot - (i === j ? gain * gain : 0)))
    }
  }
  return worst
}

describe("calculateGain (PyTorch 1.13 calculate_gain)", () => {
  it("matches the reference gains and PyTorch's selu and conv values", () => {
    const mine: Record<string, number> = {
      linear: calculateGain("linear"),
      sigmoid: calculateGain("sigmoid"),
      tanh: calculateGain("tanh"),
      relu: calculateGain("relu"),
      "leaky_relu(0.01)": calculateGain("leaky_relu"),
      "leaky_relu(sqrt(5))": calculateGain("leaky_relu", Math.sqrt(5))
    }
    for (const [key, value] of Object.entries(ref.gains)) {
      expect(mine[key], key).toBeDefined()
      expect(mine[key]!, key).toBeCloseTo(value, 14)
    }
    expect(calculateGain("selu")).toBe(0.75)
    for (const conv of ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"] as const) {
      expect(calculateGain(conv), conv).toBe(1)
    }
  })
})

describe("init schemes on the host", () => {
  const fans = { fanIn: 4, fanOut: 3, shape: [3, 4] }
  it("constant, zeros, ones, uniform({ low, high }), normal({ mean, std })", () => {
    const rng = makeRandomSource(1)
    expect(Array.from(constant(2.5)(rng, 3, fans))).toEqual([2.5, 2.5, 2.5])
    expect(Array.from(zeros(rng, 2, fans))).toEqual([0, 0])
    expect(Array.from(ones(rng, 2, fans))).toEqual([1, 1])
    const u = stats(uniform({ low: 2, high: 3 })(rng, 100_000, fans))
    expect(u.min).toBeGreaterThanOrEqual(2)
    expect(u.max).toBeLessThanOrEqual(3)
    expect(Math.abs(u.mean - 2.5)).toBeLessThan((5 * 0.2887) / Math.sqrt(100_000))
    const g = stats(normal({ mean: -1, std: 0.5 })(rng, 100_000, fans))
    expect(Math.abs(g.mean + 1)).toBeLessThan((5 * 0.5) / Math.sqrt(100_000))
    expect(Math.abs(g.std - 0.5)).toBeLessThan(5 * 0.5 * Math.sqrt(2 / (4 * 100_000)))
  })
  it("orthogonal is deterministic for a seed and sign-corrected (uniform over O(n)): diagonal signs vary", () => {
    const a = orthogonal()(makeRandomSource(7), 16, { fanIn: 4, fanOut: 4, shape: [4, 4] })
    const b = orthogonal()(makeRandomSource(7), 16, { fanIn: 4, fanOut: 4, shape: [4, 4] })
    expect(Array.from(a)).toEqual(Array.from(b))
    // With the sign correction, W[0][0] is positive or negative with probability 1/2 each.
    const rng = makeRandomSource(11)
    let positive = 0
    for (let i = 0; i < 400; i++) if (orthogonal()(rng, 9, { fanIn: 3, fanOut: 3, shape: [3, 3] })[0]! > 0) positive++
    expect(positive).toBeGreaterThan(200 - 5 * 10)
    expect(positive).toBeLessThan(200 + 5 * 10)
  })
})

for (const [device, rt] of runtimes(2024)) {
  describe(`init on ${device}`, () => {
    it("the reference lists only rules this test knows (a new rule needs a scheme here)", () => {
      for (const rule of ref.inits) expect(rules[rule.name], rule.name).toBeDefined()
    })

    for (const rule of ref.inits) {
      it(`${rule.name}: empirical mean/std/min/max of a ${ref.fan_out}×${ref.fan_in} Linear ${rules[rule.name]?.param ?? "?"} against the formula`, async () => {
        const r = rules[rule.name]!
        const values = await run(rt, Effect.gen(function*() {
          const layer = Linear(ref.fan_in, ref.fan_out, r.weightInit === undefined ? {} : { weightInit: r.weightInit })
          const model = yield* init(layer)
          return yield* toArray<unknown, "float32">(r.param === "weight" ? model.params.weight : model.params.bias)
        }))
        expect(values.length).toBe(r.param === "weight" ? ref.fan_in * ref.fan_out : (rule.n ?? ref.fan_out))
        checkDistribution(values, rule, rule.name)
      })
    }

    for (const c of ref.orthogonal) {
      for (const gain of [c.gain, 2]) {
        const [rows, cols] = c.shape
        it(`orthogonal(gain ${gain}) ${rows}×${cols}: ${rows <= cols ? "W·Wᵀ" : "Wᵀ·W"} = gain²·I within ${c.max_abs_deviation_from_gain2_I}·gain²`, async () => {
          const w = await run(rt, Effect.gen(function*() {
            const model = yield* init(Linear(cols, rows, { weightInit: orthogonal({ gain }) }))
            return yield* toArray(model.params.weight)
          }))
          expect(orthogonalityDeviation(w, rows, cols, gain)).toBeLessThanOrEqual(c.max_abs_deviation_from_gain2_I * gain * gain)
        })
      }
    }

    it("orthogonal 512×512 and 300×700: rows orthonormal to float32 precision", async () => {
      const [square, wide] = await run(rt, Effect.gen(function*() {
        const a = yield* init(Linear(512, 512, { weightInit: orthogonal() }))
        const b = yield* init(Linear(700, 300, { weightInit: orthogonal() }))
        return [yield* toArray(a.params.weight), yield* toArray(b.params.weight)] as const
      }))
      // float32 rounding of Q (relative 2⁻²⁴ per entry) moves each product by at most
      // about 2·2⁻²⁴·Σ|q_i||q_j| ≤ 1.2e-7; sums of 512 such errors stay far below 1e-6.
      expect(orthogonalityDeviation(square, 512, 512, 1)).toBeLessThan(1e-6)
      expect(orthogonalityDeviation(wide, 300, 700, 1)).toBeLessThan(1e-6)
    }, 60_000)

    describe("reinitialize (PyTorch's model.apply(init_fn))", () => {
      const mlp = () => sequential(named("fc1", Linear(8, 16)), ReLU(), named("fc2", Linear(16, 4)))

      it("redraws every Linear weight and bias; keys, shapes and buffers are kept", async () => {
        const r = await run(rt, Effect.gen(function*() {
          const net = mlp()
          const model = yield* init(net)
          const fresh = yield* reinitialize(net, model, { Linear: { weight: constant(0.5), bias: zeros } })
          return {
            before: tensorsOf(model.params).map(([k, t]) => [k, t.dims] as const),
            after: yield* Effect.forEach(tensorsOf(fresh.params), ([k, t]) => Effect.map(toArray(t), (v) => [k, t.dims, Array.from(new Set(v))] as const)),
            sameBuffers: fresh.buffers === model.buffers
          }
        }))
        expect(r.after.map(([k, d]) => [k, d])).toEqual(r.before)
        expect(r.after).toEqual([
          ["fc1.weight", [16, 8], [0.5]],
          ["fc1.bias", [16], [0]],
          ["fc2.weight", [4, 16], [0.5]],
          ["fc2.bias", [4], [0]]
        ])
        expect(r.sameBuffers).toBe(true)
      })

      it("parameters not named in the spec stay the very same tensors; frozen ones stay frozen", async () => {
        const r = await run(rt, Effect.gen(function*() {
          const net = mlp()
          const model = yield* init(net)
          const frozen = { ...model, params: { ...model.params, fc2: { ...model.params.fc2, bias: freezeTensor(model.params.fc2.bias) } } }
          const fresh = yield* reinitialize(net, frozen, { Linear: { bias: constant(3) } })
          return {
            weightsKept: fresh.params.fc1.weight === model.params.fc1.weight && fresh.params.fc2.weight === model.params.fc2.weight,
            biasNew: fresh.params.fc1.bias !== model.params.fc1.bias,
            stillFrozen: fresh.params.fc2.bias.frozen,
            bias: Array.from(yield* toArray(fresh.params.fc2.bias))
          }
        }))
        expect(r).toEqual({ weightsKept: true, biasNew: true, stillFrozen: true, bias: [3, 3, 3, 3] })
      })

      it("schemes see PyTorch's fans: fan_in = in, fan_out = out, shape [out, in]; a bias gets its layer's", async () => {
        const seen: Array<readonly [number, number, number, ReadonlyArray<number>]> = []
        const spy: InitScheme = (_rng, n, fans) => {
          seen.push([n, fans.fanIn, fans.fanOut, fans.shape])
          return new Float32Array(n)
        }
        await run(rt, Effect.gen(function*() {
          const net = mlp()
          yield* reinitialize(net, yield* init(net), { Linear: { weight: spy, bias: spy } })
        }))
        expect(seen).toEqual([
          [128, 8, 16, [16, 8]],
          [16, 8, 16, [16, 8]],
          [64, 16, 4, [4, 16]],
          [4, 16, 4, [4, 16]]
        ])
      })

      it("walks residual, repeat, custom modules and batch norm; kaiming_uniform(relu) bounds hold", async () => {
        const block = () => residual(sequential(named("fc1", Linear(8, 8)), named("bn1", BatchNorm1d(8)), ReLU()))
        const net = module("Net", {
          input_layer: Linear(4, 8),
          blocks: repeat(2, block),
          output_layer: Linear(8, 3)
        }).forward<[Sym<"B">, 4], [Sym<"B">, 3]>((m, x) =>
          Effect.gen(function*() {
            const h = yield* m.input_layer(x)
            const b = yield* m.blocks(relu(h))
            return yield* m.output_layer(b)
          })
        )
        const r = await run(rt, Effect.gen(function*() {
          const model = yield* init(net)
          const fresh = yield* reinitialize(net, model, {
            Linear: { weight: kaimingUniform({ nonlinearity: "relu" }), bias: zeros },
            BatchNorm1d: { weight: constant(2) }
          })
          const out: Array<readonly [string, number, number, boolean]> = []
          const before = new Map(tensorsOf(model.params).map(([k, t]) => [k, t] as const))
          for (const [key, t] of tensorsOf(fresh.params)) {
            const v = yield* toArray(t as Tensor<unknown>)
            const s = stats(v)
            out.push([key, s.min, s.max, before.get(key) === t])
          }
          return { params: out, buffersKept: fresh.buffers === model.buffers }
        }))
        expect(r.buffersKept).toBe(true)
        const byKey = new Map(r.params.map(([k, min, max, same]) => [k, { min, max, same }] as const))
        expect([...byKey.keys()]).toEqual([
          "input_layer.weight", "input_layer.bias",
          "blocks.0.fc1.weight", "blocks.0.fc1.bias", "blocks.0.bn1.weight", "blocks.0.bn1.bias",
          "blocks.1.fc1.weight", "blocks.1.fc1.bias", "blocks.1.bn1.weight", "blocks.1.bn1.bias",
          "output_layer.weight", "output_layer.bias"
        ])
        for (const [key, { min, max, same }] of byKey) {
          const fanIn = key.startsWith("input_layer") ? 4 : 8
          if (key.endsWith("fc1.weight") || key.endsWith("layer.weight")) {
            const bound = Math.sqrt(6 / fanIn)
            expect(min, key).toBeGreaterThanOrEqual(-bound)
            expect(max, key).toBeLessThanOrEqual(bound)
            expect(same, key).toBe(false)
          } else if (key.endsWith("fc1.bias") || key.endsWith("layer.bias")) {
            expect([min, max], key).toEqual([0, 0])
          } else if (key.endsWith("bn1.weight")) {
            expect([min, max], key).toEqual([2, 2])
          } else {
            expect(same, `${key} is not in the spec and stays the same tensor`).toBe(true)
          }
        }
      })

      it("orthogonal through reinitialize on a 6×4 weight: Wᵀ·W = I", async () => {
        const w = await run(rt, Effect.gen(function*() {
          const net = sequential(named("fc", Linear(4, 6)))
          const fresh = yield* reinitialize(net, yield* init(net), { Linear: { weight: orthogonal() } })
          return yield* toArray(fresh.params.fc.weight)
        }))
        expect(orthogonalityDeviation(w, 6, 4, 1)).toBeLessThan(3e-7)
      })

      it("the spec is typed: unknown module tags and parameter names do not compile", () => {
        const net = mlp()
        const program = Effect.gen(function*() {
          const model = yield* init(net)
          // @ts-expect-error — no module tagged "Linaer" in the network
          yield* reinitialize(net, model, { Linaer: { weight: zeros } })
          // @ts-expect-error — a Linear has no parameter "weigth"
          yield* reinitialize(net, model, { Linear: { weigth: zeros } })
          // @ts-expect-error — ReLU has no parameters
          yield* reinitialize(net, model, { ReLU: { weight: zeros } })
          return yield* reinitialize(net, model, { Linear: { weight: linearDefaultWeight, bias: linearDefaultBias } })
        })
        const withBn = repeat(2, () => residual(sequential(named("fc", Linear(4, 4)), named("bn", BatchNorm1d(4)))))
        const program2 = Effect.gen(function*() {
          const model = yield* init(withBn)
          // @ts-expect-error — running_mean is a buffer, not a parameter
          yield* reinitialize(withBn, model, { BatchNorm1d: { running_mean: zeros } })
          // @ts-expect-error — no Dropout inside
          yield* reinitialize(withBn, model, { Dropout: {} })
          return yield* reinitialize(withBn, model, { BatchNorm1d: { weight: ones, bias: zeros }, Linear: { weight: orthogonal() } })
        })
        expect(Effect.isEffect(program)).toBe(true)
        expect(Effect.isEffect(program2)).toBe(true)
      })
    })
  })
}
