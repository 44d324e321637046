/**
 * The tutorial's training protocol as one Effect program: load MNIST, initialise the
 * model from a seed, train with Adam for some epochs, evaluate on the test set after each
 * epoch, and report per-epoch figures.
 *
 * Checkpoints (see `checkpoint.ts`): with `checkpoint`, a training checkpoint is written
 * atomically at the end of every epoch; with `resume`, the run continues from one exactly
 * where it stopped (same parameters, optimiser state, random stream and data order, so
 * the result is bit-identical to an uninterrupted run); when `shouldStop` turns true the
 * run stops after the step in progress and writes a checkpoint; with `save`, the trained
 * model's state dict is written at the end (PyTorch-loadable).
 */
import type { MnistDataset } from "@effect-nn/data"
import { loadMnist } from "@effect-nn/data"
import type { ModelOf, Module, ShapeFn } from "@effect-nn/layers"
import { CheckpointError, readFileBytes, saveStateDict } from "@effect-nn/layers"
import { adam } from "@effect-nn/optim"
import type { Tensor } from "@effect-nn/tensor"
import { Device, Rng, dispose, fromHostSync } from "@effect-nn/tensor"
import { Effect } from "effect"
import type { TrainingProgress } from "./checkpoint.ts"
import { adamStateCodec, loadTrainingCheckpointBytes, saveTrainingCheckpoint, trainingCheckpointInfo } from "./checkpoint.ts"
import { accuracy } from "./evaluate.ts"
import { trainEpoch } from "./epoch.ts"
import { residentDataset } from "./resident.ts"

/** What to train and how. */
export interface TrainConfig {
  readonly model: string
  /** Any module whose train forward needs at most the `Rng` (provided from `seed`). */
  readonly module: Module<ShapeFn, unknown, unknown, Rng>
  /** The last epoch to train (a resumed run trains up to it). */
  readonly epochs: number
  readonly batchSize: number
  readonly lr: number
  readonly seed: number
  /** Use only the first `limit` training images (all when undefined). */
  readonly limit: number | undefined
  /** Evaluate on the first `testLimit` test images only (all when undefined; quick runs and tests). */
  readonly testLimit?: number | undefined
  /** Write a training checkpoint here at the end of every epoch (and when stopped). */
  readonly checkpoint?: string | undefined
  /** Continue from this training checkpoint. */
  readonly resume?: string | undefined
  /** Write the trained model's state dict here at the end (not when stopped early). */
  readonly save?: string | undefined
  /** Polled before each step; true stops the run after the step in progress and writes a checkpoint. */
  readonly shouldStop?: (() => boolean) | undefined
  /** Where a stopped run writes its checkpoint when `checkpoint` is not given. */
  readonly stopCheckpoint?: string | undefined
}

/** Figures of one epoch. */
export interface EpochReport {
  readonly epoch: number
  readonly trainLoss: number
  readonly testAccuracy: number
  readonly seconds: number
  readonly samplesPerSecond: number
}

/** Where a stopped run left off. */
export interface Stopped {
  /** The checkpoint written. */
  readonly path: string
  readonly progress: TrainingProgress
}

/** Hooks for progress display. */
export interface TrainHooks {
  readonly epochStart: (epoch: number, steps: number) => void
  readonly step: (done: number) => void
  readonly epochEnd: (report: EpochReport) => void
  /** A run resumed from a checkpoint. */
  readonly resumed?: (path: string, progress: TrainingProgress) => void
  /** A checkpoint was written. */
  readonly checkpointWritten?: (path: string, progress: TrainingProgress) => void
  /** The run stopped on request; its checkpoint is written. */
  readonly stopped?: (stopped: Stopped) => void
}

/** Runs the protocol; returns one report per epoch trained by this run. */
export const runTraining = (config: TrainConfig, hooks: TrainHooks) =>
  Effect.gen(function*() {
    const loadOptions = config.limit === undefined ? {} : { limit: config.limit }
    const train: MnistDataset = yield* loadMnist("train", loadOptions)
    const test: MnistDataset = yield* loadMnist("test", config.testLimit === undefined ? {} : { limit: config.testLimit })
    const module = config.module
    const model = (yield* module.init) as ModelOf<typeof module>
    const optimizer = adam({ lr: config.lr })
    const device = yield* Device
    // The training set on the device when it fits one binding, else streamed per batch.
    const resident = yield* residentDataset(train)
    const rng = yield* Rng
    const settings = { model: config.model, batchSize: config.batchSize, lr: config.lr, limit: config.limit ?? null }
    let state = { model, opt: yield* optimizer.init(model.params), lossSum: undefined }
    let progress: TrainingProgress = { epoch: 1, batch: 0, globalStep: 0, seed: config.seed, rng: rng.state(), lossSum: 0 }
    if (config.resume !== undefined) {
      const path = config.resume
      const bytes = yield* readFileBytes(path)
      const was = (yield* trainingCheckpointInfo(bytes, path))
      const mismatch = was.settings.model !== config.model
        ? `it was written for model ${was.settings.model}, this run builds ${config.model}`
        : was.progress.batch > 0 && (was.settings.batchSize !== config.batchSize || was.settings.limit !== settings.limit)
          ? `it stopped inside epoch ${was.progress.epoch} (after batch ${was.progress.batch}) with batch size ${was.settings.batchSize} and ${was.settings.limit ?? "all"} training images; resume with the same batch size and limit (this run: ${config.batchSize}, ${settings.limit ?? "all"})`
          : undefined
      if (mismatch !== undefined) return yield* new CheckpointError({ file: path, reason: `cannot resume: ${mismatch}` })
      const loaded = yield* loadTrainingCheckpointBytes(bytes, module, model, adamStateCodec, path)
      yield* dispose(state)
      state = { model: loaded.model, opt: loaded.optimizer, lossSum: undefined }
      progress = loaded.progress
      rng.restore(progress.rng)
      hooks.resumed?.(path, progress)
    }
    const write = (path: string, at: TrainingProgress) =>
      Effect.tap(
        saveTrainingCheckpoint(path, module, { model: state.model, optimizer: state.opt, progress: at, settings }, optimizer.name, adamStateCodec),
        () => Effect.sync(() => hooks.checkpointWritten?.(path, at))
      )
    const stopRequested = config.shouldStop ?? (() => false)
    const reports: Array<EpochReport> = []
    const steps = Math.ceil(train.count / config.batchSize)
    const firstEpoch = progress.epoch
    for (let epoch = firstEpoch; epoch <= config.epochs; epoch++) {
      const startBatch = epoch === progress.epoch ? progress.batch : 0
      const carried = startBatch > 0 ? yield* Effect.sync(() => fromHostSync(device, [], [progress.lossSum]) as Tensor<[]>) : undefined
      hooks.epochStart(epoch, steps)
      const started = performance.now()
      const result = yield* trainEpoch(module, optimizer, train, state, {
        batchSize: config.batchSize,
        seed: progress.seed,
        epoch,
        startBatch,
        // The single-sample last batch warning is said in the run's first epoch only.
        warnSingleSample: epoch === firstEpoch,
        shouldStop: stopRequested,
        onStep: (done) => hooks.step(startBatch + done),
        ...(resident === undefined ? {} : { resident }),
        ...(carried === undefined ? {} : { lossSum: carried })
      })
      device.backend.flush()
      const seconds = (performance.now() - started) / 1000
      state = { ...result.state, lossSum: undefined }
      yield* dispose(result.state.lossSum)
      const done = startBatch + result.steps
      const globalStep = progress.globalStep + result.steps
      if (done < steps || (stopRequested() && epoch < config.epochs)) {
        // Stopped on request: inside the epoch, or at its end with epochs left to train.
        const at: TrainingProgress = done < steps
          ? { epoch, batch: done, globalStep, seed: progress.seed, rng: rng.state(), lossSum: result.lossSum }
          : { epoch: epoch + 1, batch: 0, globalStep, seed: progress.seed, rng: rng.state(), lossSum: 0 }
        const path = config.checkpoint ?? config.stopCheckpoint ?? `${config.model}-interrupted.safetensors`
        yield* write(path, at)
        hooks.stopped?.({ path, progress: at })
        return reports
      }
      const testAccuracy = yield* accuracy(module, state.model, test)
      const samples = Math.min(train.count, done * config.batchSize) - startBatch * config.batchSize
      const report: EpochReport = { epoch, trainLoss: result.meanLoss, testAccuracy, seconds, samplesPerSecond: samples / seconds }
      reports.push(report)
      progress = { epoch: epoch + 1, batch: 0, globalStep, seed: progress.seed, rng: rng.state(), lossSum: 0 }
      if (config.checkpoint !== undefined) yield* write(config.checkpoint, progress)
      hooks.epochEnd(report)
    }
    if (config.save !== undefined) yield* saveStateDict(config.save, module, state.model)
    return reports
  }).pipe(Effect.provide(Rng.seeded(config.seed)))
