/**
 * GPU time of one training step of the `cnn` example (batch 64, random data), by kernel:
 * every dispatch timed with timestamp queries (`WebGpu.layer({ profile: true })`), summed
 * over 10 steps after 3 warm-up steps, printed per step, slowest first. For finding where a
 * step's time goes; a pass per dispatch adds a little time of its own. Run:
 * `XDG_RUNTIME_DIR=/tmp npx tsx packages/examples/bench/cnn-profile.ts`.
 */
import { WebGpu, type WebGpuBackend } from "@effect-nn/gpu"
import type { ModelOf } from "@effect-nn/layers"
import { adam } from "@effect-nn/optim"
import { Device, Rng } from "@effect-nn/tensor"
import { Effect, Layer } from "effect"
import { CNN } from "../src/models/cnn.ts"
import type { TrainState } from "../src/training/step.ts"
import { trainStep } from "../src/training/step.ts"

const steps = 10
const module = CNN()
const optimizer = adam({ lr: 1e-3 })

const program = Effect.gen(function*() {
  const gpu = (yield* Device).backend as WebGpuBackend
  const model = (yield* module.init) as ModelOf<typeof module>
  let state: TrainState<ModelOf<typeof module>, unknown> = { model, opt: yield* optimizer.init(model.params), lossSum: undefined }
  const step = trainStep(module, optimizer as never, 784)
  const batch = { size: 64, x: Float32Array.from({ length: 64 * 784 }, () => Math.random()), y: Int32Array.from({ length: 64 }, (_, i) => i % 10) }
  for (let i = 0; i < 3; i++) state = yield* step(state, batch)
  yield* Effect.promise(() => gpu.profileReport())
  for (let i = 0; i < steps; i++) state = yield* step(state, batch)
  const report = yield* Effect.promise(() => gpu.profileReport())
  const total = report.reduce((t, r) => t + r.ms, 0)
  console.log(`${gpu.description}: ${(total / steps).toFixed(1)} ms of GPU time per step`)
  for (const r of report) console.log(`${r.key.padEnd(48)} ${(r.ms / steps).toFixed(2).padStart(8)} ms ${String(r.dispatches / steps).padStart(3)}×`)
})

await Effect.runPromise(program.pipe(Effect.provide(Layer.merge(WebGpu.layer({ profile: true }), Rng.seeded(0)))))
