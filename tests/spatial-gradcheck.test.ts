/**
 * Finite-difference gradient checks of the spatial ops and modules on every device:
 * conv2d (stride, padding, dilation, groups, bias), max and average pooling (overlapping,
 * padded windows), Flatten, BatchNorm2d in train mode, and a small CNN's cross-entropy.
 * Central differences in float32 with step 1e-3 (1e-2 for a loss that is quadratic in its
 * inputs) on small inputs; max pooling gets values on a 0.05 grid so no window's maximum
 * changes within a step.
 */
import type { Tensor } from "@effect-nn/tensor"
import { avgPool2d, conv2d, crossEntropy, fromArray, fromHostSync, makeRandomSource, maxPool2d, mul, sum, square, toArray, valueAndGrad } from "@effect-nn/tensor"
import type { ForwardError } from "@effect-nn/layers"
import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, Mode, ReLU, forward, sequential } from "@effect-nn/layers"
import { Effect } from "effect"
import { describe, it } from "vitest"
import { expectClose, run, runtimes } from "./harness.ts"

type P = Record<string, Tensor<unknown>>
interface Case {
  readonly name: string
  readonly shapes: Record<string, ReadonlyArray<number>>
  /** Fixed values for some inputs (otherwise uniform in [−1, 1]). */
  readonly values?: Record<string, (n: number) => Float32Array>
  /** The difference step (default 1e-3). */
  readonly step?: number
  readonly f: (p: P) => Effect.Effect<Tensor<[]>, ForwardError>
}

/** A fixed pseudo-random weighting, so that sums of outputs are not symmetric. */
const weights = (n: number) => makeRandomSource(11).uniform(n, 0.5, 1.5)

/** Distinct values on a 0.05 grid, in a shuffled order. */
const grid = (n: number) => {
  const order = Array.from({ length: n }, (_, i) => i)
  const rng = makeRandomSource(5)
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextU32() % (i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return Float32Array.from(order, (v) => (v - n / 2) * 0.05)
}

const sync = (f: () => Tensor<[]>) => Effect.try({ try: f, catch: (e) => e as ForwardError })

const cases: ReadonlyArray<Case> = [
  {
    name: "conv2d: stride 2, padding 1, dilation (1, 2), groups 2, bias",
    shapes: { x: [2, 4, 5, 6], w: [6, 2, 3, 2], b: [6] },
    // The loss is quadratic in each input, where central differences are exact: a larger
    // step lifts the difference of two ~50-sized float32 losses above their rounding.
    step: 1e-2,
    f: (p) => sync(() => sum(square(conv2d(p["x"]!, p["w"]!, p["b"]!, { stride: 2, padding: 1, dilation: [1, 2], groups: 2 }))))
  },
  {
    name: "conv2d: unbatched [C, H, W], 1×1 and padding (0, 2)",
    shapes: { x: [3, 4, 3], w: [5, 3, 1, 3], b: [5] },
    f: (p) => sync(() => sum(square(conv2d(p["x"]!, p["w"]!, p["b"]!, { padding: [0, 2] }))))
  },
  {
    name: "maxPool2d: 3×3 windows, stride 2, padding 1 (overlapping)",
    shapes: { x: [2, 2, 5, 6] },
    values: { x: grid },
    f: (p) => sync(() => {
      const y = maxPool2d(p["x"]!, { kernelSize: 3, stride: 2, padding: 1 })
      return sum(mul(square(y), fromWeights(y)))
    })
  },
  {
    name: "avgPool2d: 3×2 windows, stride (1, 2), padding 1, padding not counted",
    shapes: { x: [1, 3, 4, 5] },
    f: (p) => sync(() => {
      const y = avgPool2d(p["x"]!, { kernelSize: [3, 2], stride: [1, 2], padding: 1, countIncludePad: false })
      return sum(mul(square(y), fromWeights(y)))
    })
  },
  {
    name: "BatchNorm2d (train mode): x, weight, bias",
    shapes: { x: [3, 2, 2, 3], weight: [2], bias: [2] },
    f: (p) => {
      const bn = BatchNorm2d(2)
      const device = p["x"]!.device
      const buffers = {
        running_mean: fromHostSync(device, [2], [0, 0]),
        running_var: fromHostSync(device, [2], [1, 1]),
        num_batches_tracked: fromHostSync(device, [], [0], "int32")
      }
      return Effect.map(
        forward(bn, { params: { weight: p["weight"]! as Tensor<[2]>, bias: p["bias"]! as Tensor<[2]> }, buffers }, p["x"]! as Tensor<[3, 2, 2, 3]>, Mode.train),
        (t) => sum(mul(square(t.output), fromWeights(t.output)))
      )
    }
  },
  {
    name: "a small CNN's loss: Conv2d → ReLU → MaxPool2d → Flatten → Linear → cross-entropy",
    shapes: { x: [3, 1, 6, 6], cw: [2, 1, 3, 3], cb: [2], lw: [3, 8], lb: [3] },
    f: (p) => {
      const net = sequential(Conv2d(1, 2, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(8, 3))
      const params = { "0": { weight: p["cw"]! as Tensor<[2, 1, 3, 3]>, bias: p["cb"]! as Tensor<[2]> }, "4": { weight: p["lw"]! as Tensor<[3, 8]>, bias: p["lb"]! as Tensor<[3]> } }
      return Effect.flatMap(forward(net, { params, buffers: {} }, p["x"]! as Tensor<[3, 1, 6, 6]>, Mode.train), (t) =>
        sync(() => crossEntropy(t.output, targets!)))
    }
  },
  {
    name: "Flatten(1, 2) between a conv and a weighting",
    shapes: { x: [2, 2, 3, 3], w: [3, 2, 2, 2] },
    f: (p) => {
      const flatten = Flatten(1, 2)
      return Effect.flatMap(
        forward(flatten, { params: {}, buffers: {} }, conv2d(p["x"]!, p["w"]!, undefined) as Tensor<[2, 3, 2, 2]>, Mode.train),
        (t) => sync(() => sum(mul(square(t.output), fromWeights(t.output))))
      )
    }
  }
]

// Set by `build` for each evaluation: class targets and fixed weightings on the test's device.
let targets: Tensor<[3], "int32"> | undefined
let fromWeights: (like: Tensor<unknown>) => Tensor<unknown> = () => {
  throw new Error("weights not ready")
}

for (const [device, rt] of runtimes()) {
  describe(`finite-difference gradients of spatial layers on ${device}`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const rng = makeRandomSource(7)
        const hostValues: Record<string, Float32Array> = {}
        for (const [k, s] of Object.entries(c.shapes)) {
          const n = s.reduce((a, b) => a * b, 1)
          hostValues[k] = c.values?.[k]?.(n) ?? rng.uniform(n, -1, 1)
        }
        const build = (h: Record<string, Float32Array>) =>
          Effect.gen(function*() {
            targets = yield* fromArray([3], [0, 2, 1], "int32")
            const p: P = {}
            for (const [k, s] of Object.entries(c.shapes)) p[k] = yield* fromArray(s, h[k]!)
            // The weighting tensors live on the same device as the inputs.
            const cache = new Map<string, Tensor<unknown>>()
            const device = p[Object.keys(c.shapes)[0]!]!.device
            fromWeights = (like) => {
              const key = like.dims.join("x")
              let t = cache.get(key)
              if (t === undefined) {
                t = fromHostSync(device, like.dims, weights(like.numel))
                cache.set(key, t)
              }
              return t
            }
            return p
          })
        const lossAt = (h: Record<string, Float32Array>) => Effect.flatMap(build(h), (p) => Effect.flatMap(c.f(p), (l) => Effect.map(toArray(l), (a) => a[0]!)))
        const analytic = await run(rt, Effect.gen(function*() {
          const p = yield* build(hostValues)
          const { grads } = yield* valueAndGrad((q: P) => c.f(q))(p)
          const out: Record<string, Float32Array> = {}
          for (const k of Object.keys(c.shapes)) out[k] = (yield* toArray(grads[k]!)) as Float32Array
          return out
        }))
        const h = c.step ?? 1e-3
        for (const k of Object.keys(c.shapes)) {
          const numeric = new Float32Array(hostValues[k]!.length)
          for (let i = 0; i < numeric.length; i++) {
            const plus = { ...hostValues, [k]: Float32Array.from(hostValues[k]!) }
            const minus = { ...hostValues, [k]: Float32Array.from(hostValues[k]!) }
            plus[k]![i]! += h
            minus[k]![i]! -= h
            const [fp, fm] = await run(rt, Effect.all([lossAt(plus), lossAt(minus)]))
            numeric[i] = (fp - fm) / (2 * h)
          }
          expectClose(analytic[k]!, numeric, 2e-2, 3e-3, `d/d${k}`)
        }
      })
    }
  })
}
