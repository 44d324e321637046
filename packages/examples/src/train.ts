/**
 * `train` — the project's main job: trains a tutorial network on real MNIST and prints,
 * per epoch, the training loss, test accuracy, seconds and samples/s.
 *
 *   pnpm train [--model shallow|deep|residual|conditional|conditional-plain] [--epochs 3]
 *              [--batch-size 64] [--lr 0.001] [--seed 0] [--device webgpu|cpu] [--limit N]
 *              [--summary] [--json]
 *
 * It prints the model's summary table first. With `--json`, the last line on stdout is
 * one JSON object with the run's figures. `--summary` prints the summary (with `--json`:
 * rows, parameter counts and the ordered state-dict keys with shapes) and exits without
 * training or touching a device. Progress goes to stderr.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeChildProcessSpawner, NodeFileSystem, NodePath, NodeRuntime, NodeStdio, NodeTerminal } from "@effect/platform-node-shared"
import cliProgress from "cli-progress"
import { Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import type { DeviceName } from "./device-select.ts"
import { deviceLayer, deviceNames } from "./device-select.ts"
import { models, modelNames } from "./models/index.ts"
import type { EpochReport } from "./training/run.ts"
import { runTraining } from "./training/run.ts"
import { describeModel } from "./training/describe.ts"

if (process.env["XDG_RUNTIME_DIR"] === undefined || process.env["XDG_RUNTIME_DIR"] === "") {
  process.env["XDG_RUNTIME_DIR"] = mkdtempSync(join(tmpdir(), "effect-nn-xdg-"))
}

const positive = (what: string) => (n: number) => (n > 0 ? Effect.succeed(n) : Effect.fail(`${what} must be positive, got ${n}`))

const command = Command.make(
  "train",
  {
    model: Flag.Literals("model", modelNames).pipe(Flag.withDescription("Network to train"), Flag.withDefault("shallow")),
    epochs: Flag.Int("epochs").pipe(Flag.withDescription("Passes over the training set"), Flag.withDefault(3)),
    batchSize: Flag.Int("batch-size").pipe(Flag.withDescription("Samples per step"), Flag.withDefault(64)),
    lr: Flag.Finite("lr").pipe(Flag.withDescription("Adam learning rate"), Flag.withDefault(1e-3)),
    seed: Flag.Int("seed").pipe(Flag.withDescription("Seed for initialisation and shuffling"), Flag.withDefault(0)),
    device: Flag.Literals("device", deviceNames).pipe(Flag.withDescription("webgpu (falls back to cpu when no adapter) or cpu"), Flag.withDefault("webgpu")),
    limit: Flag.Int("limit").pipe(Flag.withDescription("Train on the first N images only"), Flag.optional),
    json: Flag.Boolean("json").pipe(Flag.withDescription("End stdout with one JSON object of the run's figures"), Flag.withDefault(false)),
    summary: Flag.Boolean("summary").pipe(Flag.withDescription("Print the model summary and exit (no training, no device)"), Flag.withDefault(false))
  },
  (flags) =>
    Effect.gen(function*() {
      const module = models[flags.model]()
      const described = yield* describeModel(module)
      if (flags.summary) {
        process.stdout.write(flags.json ? `${JSON.stringify({ model: flags.model, ...described.json })}\n` : `${described.text}\n`)
        return
      }
      process.stdout.write(`${described.text}\n`)
      yield* positive("--epochs")(flags.epochs)
      yield* positive("--batch-size")(flags.batchSize)
      yield* positive("--lr")(flags.lr)
      let used: DeviceName = flags.device
      const layer = deviceLayer(flags.device, (m) => process.stderr.write(`${m}\n`), (name) => {
        used = name
      })
      const bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: "epoch {epoch} [{bar}] {value}/{total} steps | {duration_formatted} elapsed | eta {eta_formatted}", hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic
      )
      const limit = Option.getOrUndefined(flags.limit)
      const reports: Array<EpochReport> = yield* runTraining(
        { model: flags.model, module, epochs: flags.epochs, batchSize: flags.batchSize, lr: flags.lr, seed: flags.seed, limit },
        {
          epochStart: (epoch, steps) => bar.start(steps, 0, { epoch }),
          step: (done) => bar.update(done),
          epochEnd: (r) => {
            bar.stop()
            const line = `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)} | test accuracy ${(r.testAccuracy * 100).toFixed(2)}% | ${r.seconds.toFixed(2)} s | ${Math.round(r.samplesPerSecond)} samples/s`
            process.stdout.write(`${line}\n`)
          }
        }
      ).pipe(
        Effect.provide(layer),
        Effect.tap(() => Effect.sync(() => process.stdout.write(`trained ${flags.model} on ${used}\n`)))
      )
      if (flags.json) {
        const last = reports[reports.length - 1]
        process.stdout.write(`${JSON.stringify({
          model: flags.model,
          device: used,
          epochs: flags.epochs,
          batch_size: flags.batchSize,
          lr: flags.lr,
          seed: flags.seed,
          seconds_per_epoch: reports.map((r) => r.seconds),
          train_loss: last?.trainLoss ?? null,
          train_loss_per_epoch: reports.map((r) => r.trainLoss),
          test_accuracy: last?.testAccuracy ?? null,
          test_accuracy_per_epoch: reports.map((r) => r.testAccuracy)
        })}\n`)
      }
    })
).pipe(Command.withDescription("Train a network from the nn.Module tutorial on MNIST"))

const services = Layer.mergeAll(NodeTerminal.layer, NodeStdio.layer, NodeChildProcessSpawner.layer).pipe(
  Layer.provideMerge(Layer.merge(NodeFileSystem.layer, NodePath.layer))
)

command.pipe(Command.run({ version: "0.1.0" }), Effect.provide(services), NodeRuntime.runMain)
