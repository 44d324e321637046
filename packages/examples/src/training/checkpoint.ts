/**
 * Training checkpoints: everything a run needs to continue exactly where it stopped, in
 * one safetensors file.
 *
 * - The model's state dict under its PyTorch keys (`fc1.weight`, …), as `saveStateDict`
 *   writes it.
 * - The optimiser's state per parameter under the reserved prefix `__optimizer__.`,
 *   named as PyTorch's optimiser state names it: `__optimizer__.step.<key>`,
 *   `__optimizer__.exp_avg.<key>`, `__optimizer__.exp_avg_sq.<key>` for Adam,
 *   `__optimizer__.momentum_buffer.<key>` for SGD (see `optimizer-state.ts`, which also
 *   reads the format-version-1 layout with one step count for every parameter).
 * - Scalars as strings in `__metadata__` (the only place the format allows them): the
 *   format version, the optimiser's name, the epoch in progress and how many of its
 *   batches are done, the global step, the seed of the data order, the random
 *   generator's four words, the loss summed over the epoch's finished steps, and the
 *   run's configuration.
 *
 * With the same seed, batch size and data, the loader's order is a function of (seed,
 * epoch), so (epoch, batch) says exactly which batch comes next; the generator's state
 * continues dropout's masks; each parameter's step count continues its bias correction.
 * A run stopped and resumed therefore computes what the uninterrupted run computes, bit
 * for bit.
 */
import type { AnyModule, LoadReport, ModelOf, RawTensor } from "@effect-nn/layers"
import { CheckpointError, applyStateDict, decodeSafetensors, encodeSafetensors, formatMetadata, formatVersionKey, readFileBytes, stateDictTensors, writeFileAtomic } from "@effect-nn/layers"
import type { AnyTensor, DeviceError, RandomState } from "@effect-nn/tensor"
import { Device, dispose, tensorsOf } from "@effect-nn/tensor"
import { Effect, FileSystem, Result, Schema, SchemaTransformation } from "effect"
import type { OptimizerStateCodec } from "./optimizer-state.ts"
import { optimizerPrefix, optimizerStateTensors, readOptimizerState, uploadOptimizerState } from "./optimizer-state.ts"

export * from "./optimizer-state.ts"

/** Where a run is: what the next step is and what the run has drawn and summed so far. */
export interface TrainingProgress {
  /** The epoch in progress, from 1 (the next one when the last finished). */
  readonly epoch: number
  /** Batches of that epoch already trained (0 at an epoch boundary). */
  readonly batch: number
  /** Optimiser steps since the run began. */
  readonly globalStep: number
  /** The seed of the data order (and of the initialisation). */
  readonly seed: number
  /** The random generator's state (dropout's masks continue from it). */
  readonly rng: RandomState
  /** Σ of the step losses of the epoch's finished batches (its mean continues from it). */
  readonly lossSum: number
}

/**
 * Where a run stands, in words: "before the first step", "at the end of epoch N" (at an
 * epoch boundary) or "after step B of epoch N".
 */
export const progressPoint = (p: Pick<TrainingProgress, "epoch" | "batch" | "globalStep">): string =>
  p.globalStep === 0 ? "before the first step" : p.batch === 0 ? `at the end of epoch ${p.epoch - 1}` : `after step ${p.batch} of epoch ${p.epoch}`

/** The run's settings a resumed run must agree with (the command line's flags). */
export interface TrainingSettings {
  readonly model: string
  readonly batchSize: number
  readonly lr: number
  /** The number of training images used, or null for all. */
  readonly limit: number | null
}

/** A training checkpoint's contents. */
export interface TrainingCheckpoint<M, S> {
  readonly model: ModelOf<M>
  readonly optimizer: S
  readonly progress: TrainingProgress
  readonly settings: TrainingSettings
}

/** What a checkpoint says about its run, read without a model (to choose defaults before building one). */
export interface TrainingCheckpointInfo {
  readonly progress: TrainingProgress
  readonly settings: TrainingSettings
  readonly optimizer: string
  /** The file's layout version (see `trainingFormatVersion`). */
  readonly version: 1 | 2
}

/** A non-negative integer written as decimal digits. */
const Count = Schema.String.check(Schema.isPattern(/^\d{1,15}$/)).pipe(Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString))
const Integer = Schema.String.check(Schema.isPattern(/^-?\d{1,15}$/)).pipe(Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString))
const U32 = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 0xffffffff }))

/** The training entries of `__metadata__`, decoded from and encoded to strings. */
const TrainingMetadata = Schema.Struct({
  "effect_nn.kind": Schema.Literal("training-checkpoint"),
  "effect_nn.optimizer": Schema.String,
  "effect_nn.train.epoch": Count.check(Schema.isGreaterThanOrEqualTo(1)),
  "effect_nn.train.batch": Count,
  "effect_nn.train.global_step": Count,
  "effect_nn.train.seed": Integer,
  "effect_nn.train.rng": Schema.fromJsonString(Schema.Tuple([U32, U32, U32, U32])),
  "effect_nn.train.loss_sum": Schema.FiniteFromString,
  "effect_nn.train.settings": Schema.fromJsonString(Schema.Struct({
    model: Schema.String,
    batch_size: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
    lr: Schema.Finite,
    limit: Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
  }))
})

const decodeMetadata = Schema.decodeUnknownResult(TrainingMetadata)
const encodeMetadata = Schema.encodeSync(TrainingMetadata)

/**
 * The layout version of a training checkpoint (`effect_nn.format_version`): 1 (one
 * optimiser step count for every parameter) or 2 (per parameter), or a `CheckpointError`
 * for a file without one or from a newer effect-nn.
 */
export const trainingFormatVersion = (metadata: Readonly<Record<string, string>>, file: string): Result.Result<1 | 2, CheckpointError> => {
  const version = metadata[formatVersionKey]
  return version === "1" || version === "2"
    ? Result.succeed(version === "1" ? 1 : 2)
    : Result.fail(new CheckpointError({
      file,
      reason: version === undefined
        ? `no ${formatVersionKey} in __metadata__; every effect-nn training checkpoint has one`
        : `${formatVersionKey} is ${JSON.stringify(version)}; this effect-nn reads training checkpoints of versions 1 and 2 (a newer effect-nn wrote it?)`
    }))
}

/** The checkpoint's progress and settings from its metadata, or why they cannot be read. */
export const readTrainingMetadata = (metadata: Readonly<Record<string, string>>, file: string): Result.Result<TrainingCheckpointInfo, CheckpointError> => {
  if (metadata["effect_nn.kind"] === undefined) {
    return Result.fail(new CheckpointError({ file, reason: "this is not a training checkpoint (no effect_nn.kind in __metadata__); a plain state dict has no optimiser state or progress to resume from" }))
  }
  const version = trainingFormatVersion(metadata, file)
  if (Result.isFailure(version)) return Result.fail(version.failure)
  const decoded = decodeMetadata(metadata)
  if (Result.isFailure(decoded)) return Result.fail(new CheckpointError({ file, reason: `bad training metadata: ${decoded.failure.message.replace(/\s+/g, " ")}` }))
  const m = decoded.success
  const rng = m["effect_nn.train.rng"]
  if (rng.every((w) => w === 0)) return Result.fail(new CheckpointError({ file, reason: "bad training metadata: the random generator's state is all zeros" }))
  const s = m["effect_nn.train.settings"]
  return Result.succeed({
    version: version.success,
    optimizer: m["effect_nn.optimizer"],
    progress: {
      epoch: m["effect_nn.train.epoch"],
      batch: m["effect_nn.train.batch"],
      globalStep: m["effect_nn.train.global_step"],
      seed: m["effect_nn.train.seed"],
      rng: [rng[0], rng[1], rng[2], rng[3]],
      lossSum: m["effect_nn.train.loss_sum"]
    },
    settings: { model: s.model, batchSize: s.batch_size, lr: s.lr, limit: s.limit }
  })
}

/**
 * A training checkpoint as safetensors bytes, format version 2 (model tensors in
 * state-dict order, then the optimiser's per-parameter tensors: see
 * `optimizerStateTensors`). Reads every tensor back from its device.
 */
export const trainingCheckpointBytes = <M extends AnyModule, S>(
  module: M,
  checkpoint: TrainingCheckpoint<M, S>,
  optimizerName: string,
  codec: OptimizerStateCodec<S>
): Effect.Effect<Uint8Array, CheckpointError | DeviceError> =>
  Effect.gen(function*() {
    const model = yield* stateDictTensors(module, checkpoint.model as ModelOf<AnyModule>)
    const keys = tensorsOf(checkpoint.model.params).map(([key]) => key)
    const optimizer = yield* optimizerStateTensors(keys, checkpoint.optimizer, codec)
    const { progress, settings } = checkpoint
    const metadata = encodeMetadata({
      "effect_nn.kind": "training-checkpoint",
      "effect_nn.optimizer": optimizerName,
      "effect_nn.train.epoch": progress.epoch,
      "effect_nn.train.batch": progress.batch,
      "effect_nn.train.global_step": progress.globalStep,
      "effect_nn.train.seed": progress.seed,
      "effect_nn.train.rng": [...progress.rng],
      "effect_nn.train.loss_sum": progress.lossSum,
      "effect_nn.train.settings": { model: settings.model, batch_size: settings.batchSize, lr: settings.lr, limit: settings.limit }
    })
    return yield* encodeSafetensors([...model, ...optimizer], { ...metadata, ...formatMetadata })
  })

/** Writes a training checkpoint to `path` atomically (see `writeFileAtomic`). */
export const saveTrainingCheckpoint = <M extends AnyModule, S>(
  path: string,
  module: M,
  checkpoint: TrainingCheckpoint<M, S>,
  optimizerName: string,
  codec: OptimizerStateCodec<S>
): Effect.Effect<void, CheckpointError | DeviceError, FileSystem.FileSystem> =>
  Effect.flatMap(trainingCheckpointBytes(module, checkpoint, optimizerName, codec), (bytes) => writeFileAtomic(path, bytes))

/** A training checkpoint's progress and settings from its bytes (validating the whole file). */
export const trainingCheckpointInfo = (bytes: Uint8Array, file = "<bytes>"): Effect.Effect<TrainingCheckpointInfo, CheckpointError> =>
  Effect.flatMap(decodeSafetensors(bytes, file), (decoded) => Effect.fromResult(readTrainingMetadata(decoded.metadata, file)))

/** Reads a training checkpoint's progress and settings (validating the whole file). */
export const readTrainingCheckpointInfo = (path: string): Effect.Effect<TrainingCheckpointInfo, CheckpointError, FileSystem.FileSystem> =>
  Effect.flatMap(readFileBytes(path), (bytes) => trainingCheckpointInfo(bytes, path))

/**
 * Loads a training checkpoint from bytes onto the current device: the model through
 * `applyStateDict` (strict: every key of `template`'s module, nothing else besides the
 * optimiser's), the optimiser's state with each tensor shaped as its parameter and
 * placed on the same (current) device, and the progress. Reads format versions 1 and 2
 * (see `readOptimizerState`). One `CheckpointError` lists every problem; nothing is kept
 * from a failed load.
 */
export const loadTrainingCheckpointBytes = <M extends AnyModule, S>(
  bytes: Uint8Array,
  module: M,
  template: ModelOf<M>,
  codec: OptimizerStateCodec<S>,
  file = "<bytes>"
): Effect.Effect<TrainingCheckpoint<M, S> & { readonly report: LoadReport }, CheckpointError | DeviceError, Device> =>
  Effect.gen(function*() {
    const decoded = yield* decodeSafetensors(bytes, file)
    const info = yield* Effect.fromResult(readTrainingMetadata(decoded.metadata, file))
    if (!codec.names.includes(info.optimizer)) {
      return yield* new CheckpointError({ file, reason: `the checkpoint holds ${info.optimizer} state; this run uses ${codec.names.join(" or ")}` })
    }
    const modelTensors = decoded.tensors.filter((t) => !t.key.startsWith(optimizerPrefix))
    const optimizerTensors = new Map<string, RawTensor>(decoded.tensors.filter((t) => t.key.startsWith(optimizerPrefix)).map((t) => [t.key, t]))

    // Check the optimiser's tensors against the parameters before loading anything.
    const params = tensorsOf(template.params)
    const host = readOptimizerState(optimizerTensors, params, codec, info.version, decoded.metadata)
    if (Result.isFailure(host)) {
      const problems = host.failure
      const listed = problems.length > 12 ? [...problems.slice(0, 12), `… and ${problems.length - 12} more`] : problems
      return yield* new CheckpointError({ file, reason: `the optimiser state does not fit the model's parameters; nothing was loaded\n  ${listed.join("\n  ")}` })
    }

    const loaded = yield* applyStateDict(module, template, modelTensors, { file })
    const device = yield* Device
    const created: Array<AnyTensor> = []
    const records = yield* Effect.try({
      try: () => uploadOptimizerState(device, host.success, params, created),
      catch: (e) => new CheckpointError({ file, reason: `uploading the optimiser state failed: ${e instanceof Error ? e.message : String(e)}`, cause: e })
    }).pipe(Effect.tapError(() => Effect.andThen(dispose(created), dispose(loaded.model))))
    const optimizer = codec.decode(records)
    if (Result.isFailure(optimizer)) {
      yield* dispose(created)
      yield* dispose(loaded.model)
      return yield* new CheckpointError({ file, reason: `bad optimiser state: ${optimizer.failure}` })
    }
    return { model: loaded.model, optimizer: optimizer.success, progress: info.progress, settings: info.settings, report: loaded.report }
  })

/** `loadTrainingCheckpointBytes` for the file at `path`. */
export const loadTrainingCheckpoint = <M extends AnyModule, S>(
  path: string,
  module: M,
  template: ModelOf<M>,
  codec: OptimizerStateCodec<S>
): Effect.Effect<TrainingCheckpoint<M, S> & { readonly report: LoadReport }, CheckpointError | DeviceError, Device | FileSystem.FileSystem> =>
  Effect.flatMap(readFileBytes(path), (bytes) => loadTrainingCheckpointBytes(bytes, module, template, codec, path))
