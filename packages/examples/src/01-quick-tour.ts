/**
 * 01 — a quick tour: a typed network, a forward pass, a loss and its gradients, on the
 * CPU device. Run: `npx tsx packages/examples/src/01-quick-tour.ts`.
 */
import { Linear, Mode, ReLU, forward, init, named, sequential } from "@effect-nn/layers"
import type { Sym, Tensor } from "@effect-nn/tensor"
import { Cpu, Rng, crossEntropy, fromArray, sym, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Effect, Layer } from "effect"

export const net = sequential(named("fc1", Linear(784, 128)), ReLU(), named("fc2", Linear(128, 10)))
// sequential(Linear(784, 128), Linear(64, 10))  ✗ "Linear(64, 10) expects last dim 64, got 128 (input [..., 128])"

/** Loss and gradients of `net` on one batch. */
export const step = (x: Tensor<[Sym<"B">, 784]>, y: Tensor<[Sym<"B">], "int32">) =>
  Effect.gen(function*() {
    const model = yield* init(net) // { params: { fc1: { weight, bias }, fc2: … }, buffers: {} }
    const logits = yield* forward(net, model, x, Mode.eval) // Tensor<[B, 10]>
    const { value, grads } = yield* valueAndGrad((params: typeof model.params) =>
      Effect.map(forward(net, { ...model, params }, x, Mode.train), ({ output }) => crossEntropy(output, y))
    )(model.params) // grads has exactly the type of model.params
    return { logits: logits.dims, loss: (yield* toArray(value))[0]!, gradShape: grads.fc1.weight.dims }
  })

/** Runs `step` on a batch of 4 random images. */
export const main = Effect.gen(function*() {
  const B = sym("B", 4) // a batch dim: 4 at run time, `B` in the types
  const x = yield* fromArray([B, 784], Array.from({ length: 4 * 784 }, (_, i) => Math.sin(i)))
  const y = yield* fromArray([B], [3, 1, 4, 1], "int32")
  return yield* step(x, y)
}).pipe(Effect.provide(Layer.merge(Cpu.layer, Rng.seeded(0))))

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.runPromise(main).then((r) => console.log(r))
}
