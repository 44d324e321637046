/**
 * 02 — a training loop of your own: XOR learned by a small network with Adam, each step in
 * its own memory arena (`tidy`) and the replaced parameters and optimiser moments released
 * (`disposeReplaced`), so device memory stays flat however many steps run. Runs on the CPU
 * device here; `WebGpu.layer()` from `@effect-nn/gpu` is the WebGPU device.
 * Run: `npx tsx packages/examples/src/02-training-loop.ts`.
 */
import { Linear, Mode, Tanh, crossEntropy, forward, init, sequential } from "@effect-nn/layers"
import { adam } from "@effect-nn/optim"
import { Cpu, Rng, disposeReplaced, fromArray, memoryStats, tidy, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Effect, Layer } from "effect"

export const net = sequential(Linear(2, 8), Tanh(), Linear(8, 2))

/** Trains `net` on XOR for `steps` steps; the loss before and after, predictions and storages in use. */
export const main = (steps = 300) =>
  Effect.gen(function*() {
    const x = yield* fromArray([4, 2], [0, 0, 0, 1, 1, 0, 1, 1])
    const y = yield* fromArray([4], [0, 1, 1, 0], "int32")
    const optimizer = adam({ lr: 0.05 })
    let model = yield* init(net)
    let opt = yield* optimizer.init(model.params)
    const lossOf = (params: typeof model.params) =>
      Effect.map(forward(net, { ...model, params }, x, Mode.train), ({ output }) => crossEntropy(output, y))
    const first = (yield* toArray(yield* tidy(lossOf(model.params))))[0]!
    const inUse: Array<number> = []
    for (let i = 0; i < steps; i++) {
      // One step: everything it creates that the result does not hold is released when it ends.
      const next = yield* tidy(Effect.gen(function*() {
        const { grads } = yield* valueAndGrad(lossOf)(model.params)
        return yield* optimizer.step(model.params, grads, opt)
      }))
      // The old parameters and moments are now garbage: release what the new ones do not share.
      yield* disposeReplaced({ params: model.params, opt }, { params: next.params, opt: next.state })
      model = { ...model, params: next.params }
      opt = next.state
      inUse.push((yield* memoryStats).inUse)
    }
    const last = (yield* toArray(yield* tidy(lossOf(model.params))))[0]!
    const logits = yield* toArray(yield* forward(net, model, x, Mode.eval))
    const predictions = [0, 1, 2, 3].map((r) => (logits[2 * r + 1]! > logits[2 * r]! ? 1 : 0))
    return { first, last, predictions, inUse: { after10: inUse[9] ?? 0, atEnd: inUse[inUse.length - 1] ?? 0 } }
  }).pipe(Effect.provide(Layer.merge(Cpu.layer, Rng.seeded(0))))

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.runPromise(main()).then((r) => console.log(r))
}
