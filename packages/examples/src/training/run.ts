/**
 * The tutorial's training protocol as one Effect program: load MNIST, initialise the
 * model from a seed, train with Adam for some epochs, evaluate on the test set after each
 * epoch, and report per-epoch figures.
 */
import type { MnistDataset } from "@effect-nn/data"
import { loadMnist } from "@effect-nn/data"
import type { ModelOf, Module, ShapeFn } from "@effect-nn/layers"
import { adam } from "@effect-nn/optim"
import { Device, Rng } from "@effect-nn/tensor"
import { Effect } from "effect"
import { accuracy } from "./evaluate.ts"
import { trainEpoch } from "./epoch.ts"

/** What to train and how. */
export interface TrainConfig {
  readonly model: string
  /** Any module whose train forward needs at most the `Rng` (provided from `seed`). */
  readonly module: Module<ShapeFn, unknown, unknown, Rng>
  readonly epochs: number
  readonly batchSize: number
  readonly lr: number
  readonly seed: number
  /** Use only the first `limit` training images (all when undefined). */
  readonly limit: number | undefined
}

/** Figures of one epoch. */
export interface EpochReport {
  readonly epoch: number
  readonly trainLoss: number
  readonly testAccuracy: number
  readonly seconds: number
  readonly samplesPerSecond: number
}

/** Hooks for progress display. */
export interface TrainHooks {
  readonly epochStart: (epoch: number, steps: number) => void
  readonly step: (done: number) => void
  readonly epochEnd: (report: EpochReport) => void
}

/** Runs the protocol; returns one report per epoch. */
export const runTraining = (config: TrainConfig, hooks: TrainHooks) =>
  Effect.gen(function*() {
    const loadOptions = config.limit === undefined ? {} : { limit: config.limit }
    const train: MnistDataset = yield* loadMnist("train", loadOptions)
    const test: MnistDataset = yield* loadMnist("test")
    const module = config.module
    const model = (yield* module.init) as ModelOf<typeof module>
    const optimizer = adam({ lr: config.lr })
    const device = yield* Device
    let state = { model, opt: yield* optimizer.init(model.params), lossSum: undefined }
    const reports: Array<EpochReport> = []
    const steps = Math.ceil(train.count / config.batchSize)
    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      hooks.epochStart(epoch, steps)
      const started = performance.now()
      const result = yield* trainEpoch(module, optimizer, train, state, { batchSize: config.batchSize, seed: config.seed, epoch, onStep: hooks.step })
      device.backend.flush()
      const seconds = (performance.now() - started) / 1000
      state = { ...result.state, lossSum: undefined }
      const testAccuracy = yield* accuracy(module, state.model, test)
      const report: EpochReport = { epoch, trainLoss: result.meanLoss, testAccuracy, seconds, samplesPerSecond: train.count / seconds }
      reports.push(report)
      hooks.epochEnd(report)
    }
    return reports
  }).pipe(Effect.provide(Rng.seeded(config.seed)))
