/**
 * `train` — the project's main job: trains a tutorial network on real MNIST and prints,
 * per epoch, the training loss, test accuracy, seconds and samples/s.
 *
 *   npx -y pnpm@12.4.2 train [--model shallow|deep|residual|conditional|conditional-plain|lstm|cnn] [--epochs 3]
 *              [--batch-size 64] [--lr 0.001] [--seed 0] [--device webgpu|cpu] [--limit N]
 *              [--test-limit N] [--save PATH] [--checkpoint PATH] [--resume PATH] [--summary] [--json]
 *
 * It checks its flags (all but --summary's run: that prints the summary and exits), then
 * prints the model's summary table. Log lines (warnings) go to stderr. With `--json`, the last line
 * on stdout is one JSON object: the run's figures, `{ "interrupted": … }` after Ctrl-C, or
 * `{ "error": … }`. Every bad input is one `train: …` line on stderr and exit code 1. `--summary` prints the summary (with `--json`:
 * rows, parameter counts and the ordered state-dict keys with shapes) and exits without
 * training or touching a device. Progress goes to stderr.
 *
 * Checkpoints: `--save PATH` writes the trained model's state dict as safetensors (keys
 * as PyTorch's, so `model.load_state_dict(safetensors.torch.load_file(PATH))` accepts it
 * for the tutorial's class). `--checkpoint PATH` writes a training checkpoint (model,
 * optimiser, progress, random and data-order state) atomically at the end of every
 * epoch; `--resume PATH` continues from one exactly (`--epochs` is the last epoch to
 * train; model, batch size, learning rate and limit default to the checkpoint's). Ctrl-C
 * during training stops after the step in progress, writes a checkpoint (to
 * `--checkpoint`, or `<model>-interrupted.safetensors`), releases the device and says how
 * to resume; a second Ctrl-C (a second or more later) aborts at once.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeChildProcessSpawner, NodeFileSystem, NodePath, NodeStdio, NodeTerminal } from "@effect/platform-node-shared"
import { CheckpointError, checkWritable, ConfigError } from "@effect-nn/layers"
import cliProgress from "cli-progress"
import { Effect, Layer, Option, References } from "effect"
import { Command, Flag } from "effect/cli"
import type { DeviceName } from "./device-select.ts"
import { deviceLayer, deviceNames } from "./device-select.ts"
import { models, modelNames } from "./models/index.ts"
import { oneLineErrors } from "./cli-errors.ts"
import { makeStopSignal, runMainWithStop } from "./stop-signal.ts"
import type { TrainingCheckpointInfo } from "./training/checkpoint.ts"
import { progressPoint, readTrainingCheckpointInfo } from "./training/checkpoint.ts"
import type { EpochReport, Stopped } from "./training/run.ts"
import { runTraining } from "./training/run.ts"
import { describeModel } from "./training/describe.ts"

if (process.env["XDG_RUNTIME_DIR"] === undefined || process.env["XDG_RUNTIME_DIR"] === "") {
  process.env["XDG_RUNTIME_DIR"] = mkdtempSync(join(tmpdir(), "effect-nn-xdg-"))
}

/** Ctrl-C while training: a stop request the training loop polls after each step. */
const stop = makeStopSignal()

const isModelName = (name: string): name is (typeof modelNames)[number] => (modelNames as ReadonlyArray<string>).includes(name)

/** `n` when positive, else a `ConfigError` naming the flag. */
const positive = (what: string) => (n: number) =>
  n > 0 ? Effect.succeed(n) : Effect.fail(new ConfigError({ module: "train", argument: what, expected: "positive", value: n }))

const command = Command.make(
  "train",
  {
    model: Flag.Literals("model", modelNames).pipe(Flag.withDescription("Network to train (default shallow, or the resumed checkpoint's)"), Flag.optional),
    epochs: Flag.Int("epochs").pipe(Flag.withDescription("Passes over the training set (default 3; with --resume: the last epoch to train)"), Flag.withDefault(3)),
    batchSize: Flag.Int("batch-size").pipe(Flag.withDescription("Samples per step (default 64, or the resumed checkpoint's)"), Flag.optional),
    lr: Flag.Finite("lr").pipe(Flag.withDescription("Adam learning rate (default 0.001, or the resumed checkpoint's)"), Flag.optional),
    seed: Flag.Int("seed").pipe(Flag.withDescription("Seed for initialisation and shuffling (default 0; a resumed run keeps the checkpoint's data order)"), Flag.optional),
    device: Flag.Literals("device", deviceNames).pipe(Flag.withDescription("webgpu (the default; falls back to cpu when no adapter) or cpu"), Flag.withDefault("webgpu")),
    limit: Flag.Int("limit").pipe(Flag.withDescription("Train on the first N images only (default all 60000, or the resumed checkpoint's)"), Flag.optional),
    testLimit: Flag.Int("test-limit").pipe(Flag.withDescription("Evaluate on the first N test images only (quick runs)"), Flag.optional),
    save: Flag.String("save").pipe(Flag.withDescription("Write the trained model's state dict here (safetensors, PyTorch keys)"), Flag.optional),
    checkpoint: Flag.String("checkpoint").pipe(Flag.withDescription("Write a training checkpoint here at the end of every epoch (atomically; Ctrl-C writes one here too, else to <model>-interrupted.safetensors)"), Flag.optional),
    resume: Flag.String("resume").pipe(Flag.withDescription("Continue training from this checkpoint"), Flag.optional),
    json: Flag.Boolean("json").pipe(Flag.withDescription("End stdout with one JSON object of the run's figures"), Flag.withDefault(false)),
    summary: Flag.Boolean("summary").pipe(Flag.withDescription("Print the model summary and exit (no training, no device)"), Flag.withDefault(false))
  },
  (flags) =>
    Effect.gen(function*() {
      for (const [flag, path] of [["--save", flags.save], ["--checkpoint", flags.checkpoint], ["--resume", flags.resume]] as const) {
        if (Option.isSome(path) && path.value.trim() === "") return yield* new ConfigError({ module: "train", argument: flag, expected: "a file path", value: `"${path.value}"` })
      }
      const resume = Option.getOrUndefined(flags.resume)
      const info: TrainingCheckpointInfo | undefined = resume === undefined ? undefined : yield* readTrainingCheckpointInfo(resume)
      if (info !== undefined && Option.isSome(flags.model) && flags.model.value !== info.settings.model) {
        return yield* new CheckpointError({ file: resume ?? "", reason: `it was written for model ${info.settings.model}, this run builds ${flags.model.value} (leave out --model to continue it)` })
      }
      const modelName = Option.getOrUndefined(flags.model) ?? info?.settings.model ?? "shallow"
      if (!isModelName(modelName)) {
        return yield* new CheckpointError({ file: resume ?? "", reason: `the checkpoint was written for model ${modelName}, which this program does not build (${modelNames.join(", ")})` })
      }
      const batchSize = Option.getOrUndefined(flags.batchSize) ?? info?.settings.batchSize ?? 64
      const lr = Option.getOrUndefined(flags.lr) ?? info?.settings.lr ?? 1e-3
      const seed = Option.getOrUndefined(flags.seed) ?? info?.progress.seed ?? 0
      const limit = Option.getOrUndefined(flags.limit) ?? info?.settings.limit ?? undefined
      const module = models[modelName]()
      const described = yield* describeModel(module)
      if (flags.summary) {
        process.stdout.write(flags.json ? `${JSON.stringify({ model: modelName, ...described.json })}\n` : `${described.text}\n`)
        return
      }
      yield* positive("--epochs")(flags.epochs)
      yield* positive("--batch-size")(batchSize)
      yield* positive("--lr")(lr)
      if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) {
        // The seeded generator takes 32 bits: a larger seed would silently repeat a smaller one.
        return yield* new ConfigError({ module: "train", argument: "--seed", expected: "an integer in [0, 2^32)", value: seed })
      }
      if (limit !== undefined) yield* positive("--limit")(limit)
      const testLimit = Option.getOrUndefined(flags.testLimit)
      if (testLimit !== undefined) yield* positive("--test-limit")(testLimit)
      if (info !== undefined && flags.epochs < info.progress.epoch) {
        return yield* new ConfigError({ module: "train", argument: "--epochs", expected: `at least ${info.progress.epoch} to continue ${resume} (it has finished epoch ${info.progress.epoch - 1}; with --resume, --epochs is the last epoch to train)`, value: flags.epochs })
      }
      // Where the results go must be writable before any training (not found out afterwards).
      for (const path of [Option.getOrUndefined(flags.save), Option.getOrUndefined(flags.checkpoint)]) {
        if (path !== undefined) yield* checkWritable(path)
      }
      process.stdout.write(`${described.text}\n`)
      let used: DeviceName = flags.device
      const layer = deviceLayer(flags.device, (m) => process.stderr.write(`${m}\n`), (name) => {
        used = name
      })
      const bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: "epoch {epoch} [{bar}] {value}/{total} steps | {duration_formatted} elapsed | eta {eta_formatted}", hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic
      )
      const checkpoint = Option.getOrUndefined(flags.checkpoint)
      let stopped: Stopped | undefined
      const disarm = stop.arm()
      const reports: Array<EpochReport> = yield* runTraining(
        {
          model: modelName,
          module,
          epochs: flags.epochs,
          batchSize,
          lr,
          seed,
          limit,
          testLimit,
          checkpoint,
          resume,
          save: Option.getOrUndefined(flags.save),
          shouldStop: stop.requested,
          stopCheckpoint: `${modelName}-interrupted.safetensors`
        },
        {
          epochStart: (epoch, steps) => bar.start(steps, 0, { epoch }),
          step: (done) => bar.update(done),
          epochEnd: (r) => {
            bar.stop()
            const line = `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)} | test accuracy ${(r.testAccuracy * 100).toFixed(2)}% | ${r.seconds.toFixed(2)} s | ${Math.round(r.samplesPerSecond)} samples/s`
            process.stdout.write(`${line}\n`)
          },
          resumed: (path, p) => process.stdout.write(`resumed from ${path}: epoch ${p.epoch}, after batch ${p.batch} (step ${p.globalStep})\n`),
          stopped: (s) => {
            bar.stop()
            stopped = s
          }
        }
      ).pipe(
        Effect.ensuring(Effect.sync(disarm)),
        Effect.provide(layer),
        Effect.tap(() =>
          Effect.sync(() => {
            if (stopped === undefined) process.stdout.write(`trained ${modelName} on ${used}\n`)
          }))
      )
      if (stopped !== undefined) {
        // The device layer's scope has closed: its memory is released.
        const { path, progress } = stopped
        const where = progressPoint(progress)
        const again = [`--resume ${path}`, `--epochs ${flags.epochs}`, `--device ${flags.device}`, ...(testLimit === undefined ? [] : [`--test-limit ${testLimit}`]), ...(checkpoint === undefined ? [] : [`--checkpoint ${checkpoint}`]), ...(Option.isSome(flags.save) ? [`--save ${flags.save.value}`] : [])]
        const resumeCommand = `npx -y pnpm@12.4.2 train ${again.join(" ")}`
        process.stdout.write(`interrupted: stopped ${where} (step ${progress.globalStep}); checkpoint written to ${path}; device memory released.\nresume with: ${resumeCommand}\n`)
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ model: modelName, device: used, interrupted: { epoch: progress.epoch, batch: progress.batch, step: progress.globalStep, checkpoint: path, resume: resumeCommand } })}\n`)
        }
        process.exitCode = 130
        return
      }
      if (flags.json) {
        const last = reports[reports.length - 1]
        process.stdout.write(`${JSON.stringify({
          model: modelName,
          device: used,
          epochs: flags.epochs,
          batch_size: batchSize,
          lr,
          seed,
          seconds_per_epoch: reports.map((r) => r.seconds),
          train_loss: last?.trainLoss ?? null,
          train_loss_per_epoch: reports.map((r) => r.trainLoss),
          test_accuracy: last?.testAccuracy ?? null,
          test_accuracy_per_epoch: reports.map((r) => r.testAccuracy)
        })}\n`)
      }
    }).pipe(
      // A typed failure (bad checkpoint, data or settings, no device…) is the user's to fix:
      // one line on stderr and exit code 1, not a stack trace (defects still get one).
      Effect.catch((error) =>
        Effect.sync(() => {
          const message = error instanceof Error ? error.message : String(error)
          process.stderr.write(`${message.startsWith("train: ") ? "" : "train: "}${message}\n`)
          if (flags.json) process.stdout.write(`${JSON.stringify({ error: { tag: typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : "Error", message } })}\n`)
          process.exitCode = 1
        }))
    )
).pipe(Command.withDescription("Train a network from the nn.Module tutorial on MNIST"))

const services = Layer.mergeAll(NodeTerminal.layer, NodeStdio.layer, NodeChildProcessSpawner.layer, oneLineErrors("train", process.argv.some((a) => /^--json(=(true|yes|1|on))?$/.test(a))), Layer.succeed(References.LogToStderr)(true)).pipe(
  Layer.provideMerge(Layer.merge(NodeFileSystem.layer, NodePath.layer))
)

command.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.provide(services),
  runMainWithStop(stop, () => process.stderr.write("\nstopping after the current step and writing a checkpoint (Ctrl-C again to abort)…\n"))
)
