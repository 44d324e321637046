/**
 * Values against PyTorch (../shared/reference) on every device: Linear forward and
 * backward, ReLU, cross-entropy (extreme logits included), SGD and Adam paths.
 */
import { linear, crossEntropy, fromArray, relu, sigmoid, sum, mul, tanh, toArray, valueAndGrad } from "@effect-nn/tensor"
import type { Tensor } from "@effect-nn/tensor"
import type { Optimizer } from "@effect-nn/optim"
import { adam, adamw, sgd } from "@effect-nn/optim"
import { Effect } from "effect"
import { describe, it } from "vitest"
import type { RefTensor } from "./harness.ts"
import { expectClose, reference, run, runtimes } from "./harness.ts"

const f32 = (t: RefTensor) => fromArray(t.shape, t.data)
const i32 = (t: RefTensor) => fromArray(t.shape, t.data, "int32")

for (const [device, rt] of runtimes()) {
  describe(`PyTorch reference values on ${device}`, () => {
    const linearCases = reference("01_linear.json").cases
    for (const c of linearCases) {
      it(`Linear ${c.name}: output and grads of x, weight, bias`, async () => {
        const [tol] = [c.tolerance as { rtol: number; atol: number }]
        const out = await run(rt, Effect.gen(function*() {
          const x = yield* f32(c.inputs.x)
          const g = yield* f32(c.inputs.grad_output)
          const params = { x, weight: yield* f32(c.params.weight), bias: yield* f32(c.params.bias) }
          const y = linear(x as Tensor<[number, number]>, params.weight as Tensor<[number, number]>, params.bias as Tensor<[number]>)
          const { grads } = yield* valueAndGrad((p: typeof params) =>
            Effect.sync(() => sum(mul(linear(p.x as Tensor<[number, number]>, p.weight as Tensor<[number, number]>, p.bias as Tensor<[number]>), g)))
          )(params)
          return {
            y: yield* toArray(y),
            gx: yield* toArray(grads.x),
            gw: yield* toArray(grads.weight),
            gb: yield* toArray(grads.bias)
          }
        }))
        expectClose(out.y, c.expected.output.data, tol.rtol, tol.atol, "output")
        expectClose(out.gx, c.expected_grads.x.data, tol.rtol, tol.atol, "grad x")
        expectClose(out.gw, c.expected_grads.weight.data, tol.rtol, tol.atol, "grad weight")
        expectClose(out.gb, c.expected_grads.bias.data, tol.rtol, tol.atol, "grad bias")
      })
    }

    const activations: ReadonlyArray<readonly [string, (t: Tensor<unknown>) => Tensor<unknown>, number]> = [
      ["relu", relu, 0],
      ["sigmoid", sigmoid, 1e-5],
      ["tanh", tanh, 1e-5]
    ]
    for (const [name, f, rtol] of activations) {
      const c = reference("02_activations.json").cases.find((k) => k.name === name)!
      it(`${name}: output and grads (ones and a linspace upstream), incl. 0, -0, ±1e-3, ±50`, async () => {
        const out = await run(rt, Effect.gen(function*() {
          const x = yield* f32(c.inputs.x)
          const ones = yield* f32(c.inputs.grad_output_ones)
          const up = yield* f32(c.inputs.grad_output)
          const gradWith = (g: Tensor<unknown>) =>
            Effect.map(valueAndGrad((p: { x: Tensor<unknown> }) => Effect.sync(() => sum(mul(f(p.x), g))))({ x }), (r) => r.grads.x)
          return {
            y: yield* toArray(f(x)),
            g1: yield* toArray(yield* gradWith(ones)),
            g2: yield* toArray(yield* gradWith(up))
          }
        }))
        // relu is exact (derivative 0 at exactly 0); sigmoid/tanh within float32 rounding,
        // with an absolute floor far below sigmoid(-50) ≈ 1.9e-22 so that it must not be 0.
        expectClose(out.y, c.expected.output.data, rtol, rtol === 0 ? 0 : 1e-30, `${name} output`)
        expectClose(out.g1, c.expected_grads.x_with_ones.data, rtol, rtol === 0 ? 0 : 1e-30, `${name} grad (ones)`)
        expectClose(out.g2, c.expected_grads.x.data, rtol, rtol === 0 ? 0 : 1e-30, `${name} grad (linspace)`)
      })
    }

    const ceCases = reference("05_classification_losses.json").cases.filter((c) => c.op === "nn.CrossEntropyLoss" && c.config.label_smoothing === 0)
    for (const c of ceCases) {
      it(`cross-entropy ${c.name}: loss and grad of the logits`, async () => {
        const tol = c.tolerance as { rtol: number; atol: number }
        const out = await run(rt, Effect.gen(function*() {
          const logits = yield* f32(c.inputs.input)
          const target = yield* i32(c.inputs.target)
          const { value, grads } = yield* valueAndGrad((p: { logits: Tensor<unknown> }) =>
            Effect.sync(() => crossEntropy(p.logits as Tensor<[number, number]>, target as Tensor<[number], "int32">))
          )({ logits })
          return { loss: yield* toArray(value), g: yield* toArray(grads.logits) }
        }))
        expectClose(out.loss, c.expected.loss.data, tol.rtol, tol.atol, "loss")
        expectClose(out.g, c.expected_grads.input.data, tol.rtol, tol.atol, "grad input")
      })
    }

    const optimCases = reference("07_optimizers.json").cases
    for (const c of optimCases) {
      it(`optimiser ${c.name}: 5 steps replaying PyTorch's gradients`, async () => {
        const kw = c.config.kwargs
        const sgdOpt = sgd({ lr: kw.lr, momentum: kw.momentum, nesterov: kw.nesterov, weightDecay: kw.weight_decay })
        const adamOpt = c.config.optimizer === "Adam"
            ? adam({ lr: kw.lr, betas: kw.betas, eps: kw.eps, weightDecay: kw.weight_decay ?? 0 })
            : adamw({ lr: kw.lr, betas: kw.betas, eps: kw.eps, weightDecay: kw.weight_decay })
        const tol = c.tolerance as { rtol: number; atol: number }
        const replay = <S>(opt: Optimizer<S>) => Effect.gen(function*() {
          let params: ReadonlyArray<Tensor<unknown>> = [yield* f32(c.params_initial[0]), yield* f32(c.params_initial[1])]
          let state = yield* opt.init(params)
          for (const step of c.steps) {
            const grads: ReadonlyArray<Tensor<unknown>> = [yield* f32(step.grads[0]), yield* f32(step.grads[1])]
            const next = yield* opt.step(params, grads, state)
            params = next.params
            state = next.state
            expectClose(yield* toArray(params[0]!), step.params_after[0].data, tol.rtol, tol.atol, `step ${step.step} param 0`)
            expectClose(yield* toArray(params[1]!), step.params_after[1].data, tol.rtol, tol.atol, `step ${step.step} param 1`)
          }
        })
        await run(rt, c.config.optimizer === "SGD" ? replay(sgdOpt) : replay(adamOpt))
      })
    }
  })
}
