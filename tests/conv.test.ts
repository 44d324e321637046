/**
 * Conv2d, MaxPool2d, AvgPool2d, Flatten and BatchNorm2d on every device:
 * - PyTorch's reference cases (../shared/reference/10_conv_pool_lstm.json): a Conv2d alone
 *   (output, grads of x, weight and bias under grad_output) and the chain Conv2d → MaxPool2d
 *   → Flatten (every intermediate output, and the gradients at the pool output, the conv
 *   output and x);
 * - BatchNorm2d against its formula computed on the host (train output, running
 *   statistics with the unbiased variance, eval output), and equal to BatchNorm1d on
 *   [N, C, 1, 1];
 * - the field case Conv2d(1, 10, 3) → Flatten() → Linear(49, 10) on [2, 1, 9, 9] with sizes
 *   known only at run time: a ShapeError naming the layer's path, [2, 490] against
 *   in_features 49, and that 490 came from flattening [2, 10, 7, 7];
 * - module details: PyTorch's reprs, parameter counts and keys, the default initialisation's
 *   bounds, construction errors;
 * - the `cnn` example: [B, 784] → [B, 10], PyTorch's keys, and the same logits and
 *   gradients on the CPU and on WebGPU for the same weights.
 */
import type { Shape } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { avgPool2d, conv2d, fromArray, maxPool2d, mul, reshape, sum, toArray, valueAndGrad } from "@effect-nn/tensor"
import { AvgPool2d, BatchNorm1d, BatchNorm2d, ConfigError, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Mode, ReLU, forward, kaimingNormal, module, printModule, reinitialize, sequential, stateEntries, summary, zeros } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/tensor"
import { CNN } from "../packages/examples/src/models/cnn.ts"
import type { TrainState } from "../packages/examples/src/training/step.ts"
import { trainStep } from "../packages/examples/src/training/step.ts"
import type { AdamState } from "@effect-nn/optim"
import { adam } from "@effect-nn/optim"
import type { Rng } from "@effect-nn/tensor"
import { Device, dispose, disposeReplaced, item } from "@effect-nn/tensor"
import type { ModelOf } from "@effect-nn/layers"
import { namedParameters } from "@effect-nn/layers"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { RefTensor } from "./harness.ts"
import { expectClose, reference, run, runtimes } from "./harness.ts"

interface ConvCase {
  readonly name: string
  readonly params: { readonly "conv.weight": RefTensor; readonly "conv.bias": RefTensor }
  readonly conv_only: {
    readonly inputs: { readonly x: RefTensor; readonly grad_output: RefTensor }
    readonly expected: { readonly output: RefTensor }
    readonly expected_grads: { readonly x: RefTensor; readonly weight: RefTensor; readonly bias: RefTensor }
  }
  readonly chain: {
    readonly inputs: { readonly x: RefTensor; readonly grad_output_of_flatten: RefTensor }
    readonly expected: { readonly conv_output: RefTensor; readonly pool_output: RefTensor; readonly flatten_output: RefTensor }
    readonly expected_grads: { readonly pool_output: RefTensor; readonly conv_output: RefTensor; readonly x: RefTensor }
  }
  readonly tolerance: { readonly rtol: number; readonly atol: number }
}

const ref = reference<{ conv_cases: ReadonlyArray<ConvCase> }>("10_conv_pool_lstm.json")
const f32 = (t: RefTensor) => fromArray(t.shape, t.data)
const host = (t: Tensor<unknown>) => Effect.map(toArray(t), (a) => Array.from(a))

/** Σ output·g: its gradient with respect to the output is g (PyTorch's `backward(grad_output)`). */
const weighted = (output: Tensor<unknown>, g: Tensor<unknown>) => sum(mul(output, g))

for (const [device, rt] of runtimes()) {
  describe(`spatial layers on ${device}: PyTorch reference cases`, () => {
    for (const c of ref.conv_cases) {
      const { rtol, atol } = c.tolerance
      const conv = Conv2d(1, 4, 3, { padding: 1 })
      const pool = MaxPool2d(2, { stride: 2 })
      const flatten = Flatten(1, -1)

      it(`${c.name}: Conv2d alone — output and the grads of x, weight and bias`, async () => {
        const r = await run(rt, Effect.gen(function*() {
          const params = { weight: (yield* f32(c.params["conv.weight"])) as Tensor<[4, 1, 3, 3]>, bias: (yield* f32(c.params["conv.bias"])) as Tensor<[4]> }
          const x = (yield* f32(c.conv_only.inputs.x)) as Tensor<[1, 1, 5, 5]>
          const g = yield* f32(c.conv_only.inputs.grad_output)
          const output = yield* forward(conv, { params, buffers: {} }, x, Mode.eval)
          const { grads } = yield* valueAndGrad((p: typeof params & { x: typeof x }) =>
            Effect.map(forward(conv, { params: { weight: p.weight, bias: p.bias }, buffers: {} }, p.x, Mode.train), (t) => weighted(t.output, g))
          )({ ...params, x })
          return { output: yield* host(output), dx: yield* host(grads.x), dw: yield* host(grads.weight), db: yield* host(grads.bias) }
        }))
        expectClose(r.output, c.conv_only.expected.output.data, rtol, atol, "output")
        expectClose(r.dx, c.conv_only.expected_grads.x.data, rtol, atol, "grad x")
        expectClose(r.dw, c.conv_only.expected_grads.weight.data, rtol, atol, "grad weight")
        expectClose(r.db, c.conv_only.expected_grads.bias.data, rtol, atol, "grad bias")
      })

      it(`${c.name}: Conv2d → MaxPool2d → Flatten — every output, and the grads at the pool output, the conv output and x`, async () => {
        const chain = sequential(conv, pool, flatten)
        const r = await run(rt, Effect.gen(function*() {
          const params = { weight: (yield* f32(c.params["conv.weight"])) as Tensor<[4, 1, 3, 3]>, bias: (yield* f32(c.params["conv.bias"])) as Tensor<[4]> }
          const x = (yield* f32(c.chain.inputs.x)) as Tensor<[1, 1, 5, 5]>
          const g = yield* f32(c.chain.inputs.grad_output_of_flatten)
          const convOut = yield* forward(conv, { params, buffers: {} }, x, Mode.eval)
          const poolOut = yield* forward(pool, { params: {}, buffers: {} }, convOut, Mode.eval)
          const flatOut = yield* forward(flatten, { params: {}, buffers: {} }, poolOut, Mode.eval)
          const whole = yield* forward(chain, { params: { "0": params }, buffers: {} }, x, Mode.eval)
          // Gradients at intermediate tensors: differentiate the rest of the chain from there.
          const atPool = yield* valueAndGrad((p: { h: Tensor<unknown> }) => Effect.sync(() => weighted(reshape(p.h, [1, 16]), g)))({ h: poolOut })
          const atConv = yield* valueAndGrad((p: { h: Tensor<unknown> }) =>
            Effect.map(forward(sequential(pool, flatten), { params: {}, buffers: {} }, p.h as Tensor<[1, 4, 5, 5]>, Mode.train), (t) => weighted(t.output, g))
          )({ h: convOut })
          const atX = yield* valueAndGrad((p: { x: Tensor<[1, 1, 5, 5]> }) =>
            Effect.map(forward(chain, { params: { "0": params }, buffers: {} }, p.x, Mode.train), (t) => weighted(t.output, g))
          )({ x })
          return {
            conv: yield* host(convOut), pool: yield* host(poolOut), flat: yield* host(flatOut), whole: yield* host(whole),
            flatShape: flatOut.dims, dPool: yield* host(atPool.grads.h), dConv: yield* host(atConv.grads.h), dx: yield* host(atX.grads.x)
          }
        }))
        expectClose(r.conv, c.chain.expected.conv_output.data, rtol, atol, "conv output")
        expectClose(r.pool, c.chain.expected.pool_output.data, rtol, atol, "pool output")
        expectClose(r.flat, c.chain.expected.flatten_output.data, rtol, atol, "flatten output")
        expect(r.flatShape).toEqual(c.chain.expected.flatten_output.shape)
        expectClose(r.whole, c.chain.expected.flatten_output.data, rtol, atol, "chain output")
        expectClose(r.dPool, c.chain.expected_grads.pool_output.data, rtol, atol, "grad at pool output")
        expectClose(r.dConv, c.chain.expected_grads.conv_output.data, rtol, atol, "grad at conv output")
        expectClose(r.dx, c.chain.expected_grads.x.data, rtol, atol, "grad x")
      })
    }
  })

  describe(`BatchNorm2d on ${device}`, () => {
    const [n, ch, h, w] = [3, 2, 2, 3]
    const xs = Array.from({ length: n * ch * h * w }, (_, i) => Math.sin(i * 1.7) * 2 + (i % 5) * 0.3)
    /** Per-channel mean and biased variance of [N, C, H, W] values, computed here in float64. */
    const stats = () => {
      const mean = new Array<number>(ch).fill(0)
      const variance = new Array<number>(ch).fill(0)
      const m = n * h * w
      for (let c = 0; c < ch; c++) {
        for (let b = 0; b < n; b++) for (let p = 0; p < h * w; p++) mean[c]! += xs[(b * ch + c) * h * w + p]! / m
        for (let b = 0; b < n; b++) for (let p = 0; p < h * w; p++) variance[c]! += (xs[(b * ch + c) * h * w + p]! - mean[c]!) ** 2 / m
      }
      return { mean, variance, m }
    }

    it("train: y = (x − μ)/√(σ² + eps)·γ + β per channel over N·H·W; running stats with the unbiased variance; eval uses them", async () => {
      const bn = BatchNorm2d(ch, { momentum: 0.25 })
      const gamma = [1.5, -0.5]
      const beta = [0.1, 0.2]
      const r = await run(rt, Effect.gen(function*() {
        const model = yield* bn.init
        const params = { weight: yield* fromArray([ch], gamma), bias: yield* fromArray([ch], beta) }
        const x = yield* fromArray([n, ch, h, w], xs)
        const trained = yield* forward(bn, { params, buffers: model.buffers }, x, Mode.train)
        const evaluated = yield* forward(bn, { params, buffers: trained.buffers }, x, Mode.eval)
        return {
          y: yield* host(trained.output),
          mean: yield* host(trained.buffers.running_mean),
          variance: yield* host(trained.buffers.running_var),
          count: Array.from(yield* toArray(trained.buffers.num_batches_tracked)),
          evalY: yield* host(evaluated)
        }
      }))
      const { mean, variance, m } = stats()
      const expectY = xs.map((v, i) => {
        const c = Math.floor(i / (h * w)) % ch
        return ((v - mean[c]!) / Math.sqrt(variance[c]! + 1e-5)) * gamma[c]! + beta[c]!
      })
      expectClose(r.y, expectY, 1e-4, 1e-5, "train output")
      expectClose(r.mean, mean.map((mu) => 0.25 * mu), 1e-4, 1e-6, "running_mean")
      const runningVar = variance.map((v) => 0.75 + 0.25 * v * (m / (m - 1)))
      expectClose(r.variance, runningVar, 1e-4, 1e-6, "running_var")
      expect(r.count).toEqual([1])
      const expectEval = xs.map((v, i) => {
        const c = Math.floor(i / (h * w)) % ch
        return ((v - 0.25 * mean[c]!) / Math.sqrt(runningVar[c]! + 1e-5)) * gamma[c]! + beta[c]!
      })
      expectClose(r.evalY, expectEval, 1e-4, 1e-5, "eval output")
    })

    it("on [N, C, 1, 1] it is BatchNorm1d on [N, C] (outputs and gradients)", async () => {
      const values = xs.slice(0, 4 * 3)
      const r = await run(rt, Effect.gen(function*() {
        const x4 = yield* fromArray([4, 3, 1, 1], values)
        const x2 = yield* fromArray([4, 3], values)
        const bn2 = BatchNorm2d(3)
        const bn1 = BatchNorm1d(3)
        const m2 = yield* bn2.init
        const m1 = yield* bn1.init
        const a = yield* valueAndGrad((p: { x: Tensor<[4, 3, 1, 1]> }) =>
          Effect.map(forward(bn2, m2, p.x, Mode.train), (t) => sum(mul(t.output, t.output))))({ x: x4 })
        const b = yield* valueAndGrad((p: { x: Tensor<[4, 3]> }) =>
          Effect.map(forward(bn1, m1, p.x, Mode.train), (t) => sum(mul(t.output, t.output))))({ x: x2 })
        return { a: yield* host(a.value), b: yield* host(b.value), ga: yield* host(a.grads.x), gb: yield* host(b.grads.x) }
      }))
      expectClose(r.a, r.b, 1e-5, 1e-5, "loss")
      expectClose(r.ga, r.gb, 1e-4, 1e-5, "grad x")
    })

    it("a single value per channel in train mode is a ShapeError naming the path, never NaN", async () => {
      const net = sequential(Conv2d(1, 2, 3), BatchNorm2d(2))
      const error = await run(rt, Effect.gen(function*() {
        const model = yield* net.init
        const x = yield* fromArray([1, 1, 3, 3], new Float32Array(9).fill(1))
        return yield* Effect.flip(forward(net, model, x as Tensor<[number, 1, 3, 3]>, Mode.train))
      }))
      expect(error._tag).toBe("ShapeError")
      expect(error.message).toContain("1: BatchNorm2d(2) in train mode needs more than 1 value per channel")
      expect(error.message).toContain("[1, 2, 1, 1]")
    })
  })

  describe(`run-time shape errors of spatial layers on ${device} (field case)`, () => {
    // The kernel size is known only at run time: the types cannot compute the flattened size.
    const k: number = Number("3")
    const Net = module("Net", { net: sequential(Conv2d(1, 10, k), Flatten(), Linear(49, 10)) })
      .forward<[Sym<"B">, 1, 9, 9], [Sym<"B">, 10]>((m, x) => m.net(x))

    it("Conv2d(1, 10, 3) → Flatten() → Linear(49, 10) on [2, 1, 9, 9]: names net.2, [2, 490] against in_features 49, and that 490 came from [10, 7, 7]", async () => {
      const error = await run(rt, Effect.gen(function*() {
        const model = yield* Net.init
        const x = yield* fromArray([2, 1, 9, 9], new Float32Array(162))
        return yield* Effect.flip(forward(Net, model, x, Mode.eval))
      }))
      expect(error._tag).toBe("ShapeError")
      expect(error.message).toBe("net.2: expects input [..., 49] (in_features 49), got [2, 490], where 490 = 10·7·7 came from net.1 (Flatten) flattening [2, 10, 7, 7]")
      expect(error._tag === "ShapeError" ? error.shapes : []).toEqual([[2, 490], [2, 10, 7, 7]])
    })

    it("the explanation survives shape-keeping layers between Flatten and Linear (Dropout, ReLU) and shows in summaries", async () => {
      const net = sequential(Conv2d(1, 10, k), Flatten(), Dropout(0.5), ReLU(), Linear(49, 10))
      const error = await run(rt, Effect.gen(function*() {
        const model = yield* net.init
        const x = yield* fromArray([2, 1, 9, 9], new Float32Array(162))
        return yield* Effect.flip(forward(net, model, x as Tensor<[number, 1, number, number]>, Mode.eval))
      }))
      expect(error.message).toBe("4: expects input [..., 49] (in_features 49), got [2, 490], where 490 = 10·7·7 came from 1 (Flatten) flattening [2, 10, 7, 7]")
      expect(() => summary(Net, [2, 1, 9, 9])).toThrow("net.2: expects input [..., 49] (in_features 49), got [2, 490], where 490 = 10·7·7 came from net.1 (Flatten) flattening [2, 10, 7, 7]")
    })

    it("channel mismatches and windows larger than the input name the layer and the shapes", async () => {
      const c: number = Number("3")
      const errors = await run(rt, Effect.gen(function*() {
        const net = sequential(Conv2d(1, 8, 3), Conv2d(c, 4, 3))
        const model = yield* net.init
        const x = yield* fromArray([2, 1, 9, 9], new Float32Array(162))
        const wrongChannels = yield* Effect.flip(forward(net, model, x as Tensor<Shape>, Mode.eval))
        const tiny = yield* fromArray([1, 1, 2, 2], new Float32Array(4))
        const tooSmall = yield* Effect.flip(forward(sequential(MaxPool2d(k)), { params: {}, buffers: {} }, tiny as Tensor<Shape>, Mode.eval))
        return [wrongChannels.message, tooSmall.message]
      }))
      expect(errors[0]).toBe("1: expects 3 input channels (in_channels 3), got 8 (input [2, 8, 7, 7], weight [4, 3, 3, 3])")
      expect(errors[1]).toBe("0: max_pool2d output height would be 0 (≤ 0) for input [1, 1, 2, 2]: the padded height 2 + 2·0 = 2 is smaller than the kernel span 1·(3 − 1) + 1 = 3")
    })
  })

  describe(`functional ops on ${device}`, () => {
    it("conv2d with stride, padding, dilation and groups, maxPool2d and avgPool2d agree with direct sums", async () => {
      // x [1, 2, 4, 4] = 0..31, groups 2, weight of ones [2, 1, 2, 2]: each output is a 2×2 window sum.
      const r = await run(rt, Effect.gen(function*() {
        const x = yield* fromArray([1, 2, 4, 4], Array.from({ length: 32 }, (_, i) => i))
        const w = yield* fromArray([2, 1, 2, 2], new Float32Array(8).fill(1))
        const y = conv2d(x, w, undefined, { stride: 2, groups: 2 })
        const dilated = conv2d(x, w, undefined, { dilation: 2, groups: 2 })
        const padded = conv2d(x, w, undefined, { padding: 1, stride: 3, groups: 2 })
        const mp = maxPool2d(x, { kernelSize: 2 })
        const ap = avgPool2d(x, { kernelSize: 3, stride: 1, padding: 1, countIncludePad: false })
        return { y: yield* host(y), dilated: yield* host(dilated), padded: yield* host(padded), mp: yield* host(mp), ap: (yield* host(ap)).slice(0, 4), shapes: [y.dims, dilated.dims, padded.dims, mp.dims, ap.dims] }
      }))
      expect(r.shapes).toEqual([[1, 2, 2, 2], [1, 2, 2, 2], [1, 2, 2, 2], [1, 2, 2, 2], [1, 2, 4, 4]])
      expect(r.y).toEqual([10, 18, 42, 50, 74, 82, 106, 114])
      expect(r.dilated).toEqual([20, 24, 36, 40, 84, 88, 100, 104])
      expect(r.padded).toEqual([0, 5, 20, 50, 16, 37, 52, 114])
      expect(r.mp).toEqual([5, 7, 13, 15, 21, 23, 29, 31])
      expectClose(r.ap, [2.5, 3, 4, 4.5], 1e-6, 1e-6, "avg pool, padding not counted")
    })
  })
}

describe("spatial modules: reprs, parameters, initialisation, construction errors", () => {
  it("print like PyTorch", () => {
    const net = sequential(
      Conv2d(1, 32, 3), BatchNorm2d(32), ReLU(), MaxPool2d(2),
      Conv2d(32, 64, [3, 5], { stride: 2, padding: [1, 2], dilation: 2, groups: 2, bias: false }), AvgPool2d(2, { stride: 1 }), Flatten()
    )
    expect(printModule(net)).toBe([
      "Sequential(",
      "  (0): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))",
      "  (1): BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
      "  (2): ReLU()",
      "  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
      "  (4): Conv2d(32, 64, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2), dilation=(2, 2), groups=2, bias=False)",
      "  (5): AvgPool2d(kernel_size=2, stride=1, padding=0)",
      "  (6): Flatten(start_dim=1, end_dim=-1)",
      ")"
    ].join("\n"))
  })

  it("parameter counts, state-dict keys and shapes, summary rows", async () => {
    const net = sequential(Conv2d(1, 32, 3), BatchNorm2d(32), ReLU(), MaxPool2d(2), Conv2d(32, 64, 3, { groups: 4, bias: false }), Flatten(), Linear(64 * 11 * 11, 10))
    expect(net.parameterCount).toBe(32 * 9 + 32 + 64 + 64 * 8 * 9 + 7744 * 10 + 10)
    const [, cpu] = runtimes().find(([name]) => name === "cpu")!
    const entries = await run(cpu, Effect.map(net.init, (model) => stateEntries(net, model).map((e) => [e.key, e.tensor.dims])))
    expect(entries).toEqual([
      ["0.weight", [32, 1, 3, 3]], ["0.bias", [32]],
      ["1.weight", [32]], ["1.bias", [32]], ["1.running_mean", [32]], ["1.running_var", [32]], ["1.num_batches_tracked", []],
      ["4.weight", [64, 8, 3, 3]],
      ["6.weight", [10, 7744]], ["6.bias", [10]]
    ])
    expect(summary(net, [1, 1, 28, 28]).rows.map((r) => [r.layer, r.outputShape, r.params])).toEqual([
      ["Conv2d-1", [-1, 32, 26, 26], 320], ["BatchNorm2d-2", [-1, 32, 26, 26], 64], ["ReLU-3", [-1, 32, 26, 26], 0],
      ["MaxPool2d-4", [-1, 32, 13, 13], 0], ["Conv2d-5", [-1, 64, 11, 11], 4608], ["Flatten-6", [-1, 7744], 0], ["Linear-7", [-1, 10], 77450]
    ])
  })

  it("PyTorch's default initialisation: weight and bias in U(±1/√fan_in), fan_in = in/groups·kH·kW", async () => {
    const conv = Conv2d(8, 16, [3, 5], { groups: 2 })
    const [, cpu] = runtimes().find(([name]) => name === "cpu")!
    const { w, b } = await run(cpu, Effect.gen(function*() {
      const model = yield* conv.init
      return { w: Array.from(yield* toArray(model.params.weight)), b: Array.from(yield* toArray(model.params.bias)) }
    }))
    const bound = 1 / Math.sqrt(4 * 3 * 5)
    for (const v of [...w, ...b]) expect(Math.abs(v)).toBeLessThanOrEqual(bound)
    // Spread over the range, not clustered: the extremes come near the bound.
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * bound)
    expect(w.length).toBe(16 * 4 * 15)
  })

  it("reinitialize reaches Conv2d weights by tag, with the conv's fans (kaiming_normal, fan_out)", async () => {
    const net = sequential(Conv2d(3, 8, 3), ReLU(), Conv2d(8, 4, 1, { bias: false }))
    const [, cpu] = runtimes().find(([name]) => name === "cpu")!
    const r = await run(cpu, Effect.gen(function*() {
      const model = yield* net.init
      const again = yield* reinitialize(net, model, { Conv2d: { weight: kaimingNormal({ mode: "fan_out", nonlinearity: "relu" }), bias: zeros } })
      return { w: Array.from(yield* toArray(again.params["0"].weight)), b: Array.from(yield* toArray(again.params["0"].bias)), w2: (yield* toArray(again.params["2"].weight)).length }
    }))
    expect(r.b).toEqual(new Array<number>(8).fill(0))
    // std = √2/√fan_out, fan_out = 8·3·3 = 72: the sample's spread is near 0.167.
    const std = Math.sqrt(r.w.reduce((a, v) => a + v * v, 0) / r.w.length)
    expect(std).toBeGreaterThan(0.12)
    expect(std).toBeLessThan(0.22)
    expect(r.w2).toBe(32)
  })

  it("invalid arguments are ConfigErrors at construction", () => {
    const attempts: ReadonlyArray<readonly [() => unknown, string]> = [
      [() => Conv2d(0, 4, 3), "Conv2d: inChannels must be a positive integer, got 0"],
      [() => Conv2d(3, 4, 3, { groups: 2 }), "Conv2d: groups must be a positive integer dividing inChannels 3 and outChannels 4, got 2"],
      [() => Conv2d(3, 4, 0), "Conv2d: kernelSize must be a positive integer or a pair of them, got 0"],
      [() => Conv2d(3, 4, 3, { padding: -1 }), "Conv2d: padding must be a non-negative integer or a pair of them, got -1"],
      [() => MaxPool2d(2, { padding: 2 }), "MaxPool2d: padding must be at most half the kernel span (2, 2), got 2"],
      [() => AvgPool2d(2, { divisorOverride: 0 }), "AvgPool2d: divisorOverride must be a positive integer, got 0"],
      [() => Flatten(1.5), "Flatten: startDim must be an integer dim (negative counts from the end), got 1.5"],
      [() => BatchNorm2d(0), "BatchNorm2d: numFeatures must be a positive integer, got 0"]
    ]
    for (const [attempt, message] of attempts) {
      let error: unknown
      try {
        attempt()
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).message).toBe(message)
    }
  })
})

describe("the cnn example (train --model cnn)", () => {
  it("[3, 784] → [3, 10]; PyTorch's keys; the same logits and gradients on every device for the same weights", async () => {
    const net = CNN(0) // no dropout: train-mode gradients are deterministic
    const devices = runtimes()
    const [, cpu] = devices.find(([name]) => name === "cpu")!
    const hostParams = await run(cpu, Effect.gen(function*() {
      const model = yield* net.init
      const out: Array<readonly [string, ReadonlyArray<number>, Float32Array]> = []
      for (const [key, t] of namedParameters(net, model)) out.push([key, t.dims, (yield* toArray(t)) as Float32Array])
      return out
    }))
    expect(hostParams.map(([key, dims]) => `${key} [${dims.join(", ")}]`)).toEqual([
      "features.0.weight [32, 1, 3, 3]", "features.0.bias [32]", "features.3.weight [64, 32, 3, 3]", "features.3.bias [64]", "fc.weight [10, 3136]", "fc.bias [10]"
    ])
    const images = Float32Array.from({ length: 3 * 784 }, (_, i) => Math.sin(i * 0.37) * 1.5)
    const results = []
    for (const [, rt] of devices) {
      results.push(await run(rt, Effect.gen(function*() {
        const t = (i: number) => fromArray(hostParams[i]![1], hostParams[i]![2])
        const params = {
          features: { "0": { weight: yield* t(0), bias: yield* t(1) }, "3": { weight: yield* t(2), bias: yield* t(3) } },
          fc: { weight: yield* t(4), bias: yield* t(5) }
        } as unknown as ModelOf<typeof net>["params"]
        const x = (yield* fromArray([3, 784], images)) as unknown as Tensor<[Sym<"B">, 784]>
        const logits = yield* forward(net, { params, buffers: {} }, x, Mode.eval)
        const { grads } = yield* valueAndGrad((p: typeof params) =>
          Effect.map(forward(net, { params: p, buffers: {} }, x, Mode.train), (r) => sum(mul(r.output, r.output)))
        )(params)
        return {
          dims: logits.dims,
          logits: yield* host(logits),
          grads: [yield* host(grads.features["0"].weight), yield* host(grads.features["3"].weight), yield* host(grads.fc.weight)]
        }
      })))
    }
    for (const r of results) expect(r.dims).toEqual([3, 10])
    const [first, ...rest] = results
    for (const r of rest) {
      expectClose(r.logits, first!.logits, 1e-4, 1e-5, "logits")
      r.grads.forEach((g, i) => expectClose(g, first!.grads[i]!, 1e-3, 1e-4, `grad ${i}`))
    }
    for (const g of first!.grads) expect(g.some((v) => v !== 0)).toBe(true)
  })
})

for (const [device, rt] of runtimes()) {
  describe(`cnn training steps on ${device}`, () => {
    it("constant dispatches and live buffers a step once warm, no new bind groups, a finite loss", async () => {
      const net = CNN()
      const r = await run(rt, Effect.gen(function*() {
        const dev = yield* Device
        const optimizer = adam({ lr: 1e-3 })
        const step = trainStep(net, optimizer, 784)
        const model = yield* net.init
        let state: TrainState<typeof model, AdamState> = { model, opt: yield* optimizer.init(model.params), lossSum: undefined }
        const counts: Array<{ dispatches: number; live: number; groups: number | undefined }> = []
        for (let i = 0; i < 10; i++) {
          const s = dev.backend.stats() as ReturnType<Device["Service"]["backend"]["stats"]> & { bindGroupsCreated?: number }
          counts.push({ dispatches: s.dispatches, live: s.liveBuffers, groups: s.bindGroupsCreated })
          const batch = { size: 8, x: Float32Array.from({ length: 8 * 784 }, (_, k) => Math.sin(k * 0.01 + i)), y: Int32Array.from({ length: 8 }, (_, k) => (k + i) % 10) }
          const next = yield* step({ ...state, lossSum: undefined }, batch)
          yield* disposeReplaced(state, next)
          state = next
        }
        const loss = yield* item(state.lossSum!)
        yield* dispose(state)
        return { counts, loss }
      }) as Effect.Effect<{ counts: Array<{ dispatches: number; live: number; groups: number | undefined }>; loss: number }, unknown, Device | Rng>)
      expect(Number.isFinite(r.loss)).toBe(true)
      const per = r.counts.slice(1).map((c, i) => c.dispatches - r.counts[i]!.dispatches)
      for (const d of per.slice(4)) expect(d).toBe(per[4])
      const live = r.counts.map((c) => c.live)
      for (const l of live.slice(6)) expect(l).toBe(live[6])
      const groups = r.counts.map((c) => c.groups)
      if (groups[6] !== undefined) expect(groups[groups.length - 1]).toBe(groups[6])
    })
  })
}
