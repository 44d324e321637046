/**
 * Training checkpoints (issue 4): a run stopped and resumed gives bit-identical
 * parameters — at an epoch boundary (ShallowMLP, 2 epochs against 1 + resume + 1) and
 * inside an epoch with dropout (the random stream and the data order continue); the
 * Linear(2, 1)/Adam/MSE field case (step count 3 after resuming, bit-identical
 * parameters); a CPU checkpoint resumed on WebGPU with the optimiser state beside the
 * parameters; SGD's momentum buffers; the generator's state()/restore(). The optimiser
 * state is per parameter (format version 2: `__optimizer__.step.<key>`, nothing for a
 * parameter never updated); version-1 files (one step count in the metadata) still load.
 */
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node-shared"
import type { EpochReport, Stopped, TrainingCheckpoint, TrainingProgress } from "@effect-nn/examples"
import { ShallowMLP, adamStateCodec, loadTrainingCheckpointBytes, optimizerPrefix, runTraining, sgdStateCodec, trainingCheckpointBytes } from "@effect-nn/examples"
import { singleSampleWarning } from "@effect-nn/data"
import type { ModelOf } from "@effect-nn/layers"
import { CheckpointError, Dropout, Linear, Mode, decodeSafetensors, encodeSafetensors, forward, freeze, module, mseLoss, saveStateDictBytes } from "@effect-nn/layers"
import type { AdamState, Optimizer, SgdState } from "@effect-nn/optim"
import { adam, sgd } from "@effect-nn/optim"
import type { Sym, Tensor } from "@effect-nn/tensor"
import { Cpu, Device, Rng, fromArray, makeRandomSource, relu, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Effect, Layer, Logger, ManagedRuntime } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { expectClose, runtimes } from "./harness.ts"

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length))
const scratch = mkdtempSync(join(tmpdir(), "effect-nn-train-ckpt-"))
const at = (name: string) => join(scratch, name)

/** A fresh CPU runtime (its own device and generator), as a fresh process would have. */
const freshCpu = (seed: number) => {
  const rt = ManagedRuntime.make(Layer.merge(Cpu.layer, Rng.seeded(seed)))
  afterAll(() => rt.dispose())
  return rt
}

describe("Rng state and restore", () => {
  it("restore continues the stream from a saved state; invalid states are refused", () => {
    const rng = makeRandomSource(42)
    rng.uniform(5, 0, 1)
    const saved = rng.state()
    const first = Array.from({ length: 8 }, () => rng.nextU32())
    rng.nextFloat()
    rng.restore(saved)
    expect(Array.from({ length: 8 }, () => rng.nextU32())).toEqual(first)
    expect(() => rng.restore([0, 0, 0, 0])).toThrow(RangeError)
    expect(() => rng.restore([1, 2, 3, 2 ** 32])).toThrow(RangeError)
  })
})

// ---- Linear(2, 1), Adam lr 0.1, MSE on a fixed two-sample batch -------------------------

const net = Linear(2, 1)
type Net = typeof net
const xs = [1, 2, -1, 0.5]
const ys = [1, -2]

const stepOnce = <S>(optimizer: Optimizer<S>, model: ModelOf<Net>, state: S) =>
  Effect.gen(function*() {
    const x = yield* fromArray([2, 2], xs)
    const y = yield* fromArray([2, 1], ys)
    const { grads } = yield* valueAndGrad((params: ModelOf<Net>["params"]) =>
      Effect.map(forward(net, { params, buffers: {} }, x, Mode.train), (t) => mseLoss(t.output, y)))(model.params)
    const next = yield* optimizer.step(model.params, grads, state)
    return { model: { params: next.params, buffers: model.buffers } as ModelOf<Net>, state: next.state }
  })

const paramBits = (model: ModelOf<Net>) =>
  Effect.gen(function*() {
    return { weight: bits(yield* toArray(model.params.weight)), bias: bits(yield* toArray(model.params.bias)) }
  })

const progress: TrainingProgress = { epoch: 1, batch: 2, globalStep: 2, seed: 0, rng: makeRandomSource(0).state(), lossSum: 0 }
const settings = { model: "linear", batchSize: 2, lr: 0.1, limit: null }

/** 2 steps, checkpoint, 1 more step: the checkpoint's bytes and the parameters after step 3. */
const reference = <S>(optimizer: Optimizer<S>, codec: Parameters<typeof trainingCheckpointBytes<Net, S>>[3]) =>
  Effect.gen(function*() {
    let model = yield* net.init
    let state = yield* optimizer.init(model.params)
    for (let i = 0; i < 2; i++) ({ model, state } = yield* stepOnce(optimizer, model, state))
    const checkpoint: TrainingCheckpoint<Net, S> = { model, optimizer: state, progress, settings }
    const bytes = yield* trainingCheckpointBytes(net, checkpoint, optimizer.name, codec)
    ;({ model, state } = yield* stepOnce(optimizer, model, state))
    return { bytes, after: yield* paramBits(model), state }
  })

/** Loads the checkpoint into a freshly initialised model and takes one step. */
const resumed = <S>(optimizer: Optimizer<S>, codec: Parameters<typeof loadTrainingCheckpointBytes<Net, S>>[3], bytes: Uint8Array) =>
  Effect.gen(function*() {
    const template = yield* net.init
    const loaded = yield* loadTrainingCheckpointBytes(bytes, net, template, codec)
    const device = yield* Device
    const next = yield* stepOnce(optimizer, loaded.model, loaded.optimizer)
    return { loaded, next, after: yield* paramBits(next.model), device }
  })

describe("the Linear(2, 1) / Adam / MSE field case", () => {
  const optimizer = adam({ lr: 0.1 })
  const original = freshCpu(1)
  const fresh = freshCpu(99) // another seed: the fresh model starts elsewhere

  it("2 steps, save, 1 step; a fresh runtime loads and takes 1 step: bit-identical parameters, Adam's step count 3", async () => {
    const a = await original.runPromise(reference(optimizer, adamStateCodec))
    const b = await fresh.runPromise(resumed(optimizer, adamStateCodec, a.bytes))
    const steps = (s: AdamState) => Object.entries(s.state).map(([key, p]) => [key, p.step])
    expect(steps(b.loaded.optimizer)).toEqual([["weight", 2], ["bias", 2]])
    expect(steps(b.next.state)).toEqual([["weight", 3], ["bias", 3]])
    expect(steps(a.state)).toEqual([["weight", 3], ["bias", 3]])
    expect(b.after).toEqual(a.after)
    const file = await Effect.runPromise(decodeSafetensors(a.bytes))
    expect(file.tensors.map((t) => t.key)).toEqual([
      "weight",
      "bias",
      `${optimizerPrefix}step.weight`,
      `${optimizerPrefix}step.bias`,
      `${optimizerPrefix}exp_avg.weight`,
      `${optimizerPrefix}exp_avg.bias`,
      `${optimizerPrefix}exp_avg_sq.weight`,
      `${optimizerPrefix}exp_avg_sq.bias`
    ])
    expect(file.tensors.find((t) => t.key === `${optimizerPrefix}step.bias`)).toMatchObject({ dtype: "I64", shape: [] })
    expect(file.metadata["effect_nn.optimizer.step"]).toBeUndefined()
    expect(file.metadata["effect_nn.format_version"]).toBe("2")
    expect(file.metadata["effect_nn.optimizer"]).toBe("Adam")
  })

  /** The checkpoint as version 1 wrote it: no per-parameter steps, one step count in the metadata. */
  const asVersion1 = (bytes: Uint8Array) =>
    Effect.gen(function*() {
      const file = yield* decodeSafetensors(bytes)
      return yield* encodeSafetensors(
        file.tensors.filter((t) => !t.key.startsWith(`${optimizerPrefix}step.`)),
        { ...file.metadata, "effect_nn.format_version": "1", "effect_nn.optimizer.step": "2" }
      )
    })

  it("a version-1 checkpoint (one step count for all parameters) loads with that step for every parameter and resumes bit-identically", async () => {
    const a = await original.runPromise(reference(optimizer, adamStateCodec))
    const v1 = await Effect.runPromise(asVersion1(a.bytes))
    const b = await fresh.runPromise(resumed(optimizer, adamStateCodec, v1))
    expect(Object.entries(b.loaded.optimizer.state).map(([key, p]) => [key, p.step])).toEqual([["weight", 2], ["bias", 2]])
    expect(b.after).toEqual(a.after)
    const momentum = sgd({ lr: 0.05, momentum: 0.9 })
    const c = await original.runPromise(reference(momentum, sgdStateCodec))
    const d = await fresh.runPromise(resumed(momentum, sgdStateCodec, await Effect.runPromise(asVersion1(c.bytes))))
    expect(Object.keys(d.loaded.optimizer.state)).toEqual(["weight", "bias"])
    expect(d.after).toEqual(c.after)
  })

  it("a parameter frozen so far has no optimiser state in the checkpoint, and none after loading", async () => {
    const r = await original.runPromise(Effect.gen(function*() {
      const initial = yield* net.init
      let model: ModelOf<Net> = { params: freeze(initial.params, (k) => k === "bias"), buffers: initial.buffers }
      let state = yield* optimizer.init(model.params)
      for (let i = 0; i < 2; i++) ({ model, state } = yield* stepOnce(optimizer, model, state))
      const bytes = yield* trainingCheckpointBytes(net, { model, optimizer: state, progress, settings }, "Adam", adamStateCodec)
      const loaded = yield* loadTrainingCheckpointBytes(bytes, net, model, adamStateCodec)
      return { keys: (yield* decodeSafetensors(bytes)).tensors.map((t) => t.key), loaded: Object.keys(loaded.optimizer.state) }
    }))
    expect(r.keys).toEqual(["weight", "bias", `${optimizerPrefix}step.weight`, `${optimizerPrefix}exp_avg.weight`, `${optimizerPrefix}exp_avg_sq.weight`])
    expect(r.loaded).toEqual(["weight"])
  })

  it("a checkpoint of a newer format version, or of none, is refused with the reason", async () => {
    const a = await original.runPromise(reference(optimizer, adamStateCodec))
    const errors = await fresh.runPromise(Effect.gen(function*() {
      const file = yield* decodeSafetensors(a.bytes)
      const { ["effect_nn.format_version"]: _, ...unversioned } = file.metadata
      const template = yield* net.init
      const load = (metadata: Record<string, string>) =>
        Effect.flatMap(encodeSafetensors(file.tensors, metadata), (bytes) => Effect.flip(loadTrainingCheckpointBytes(bytes, net, template, adamStateCodec)))
      return { newer: yield* load({ ...file.metadata, "effect_nn.format_version": "3" }), none: yield* load(unversioned) }
    }))
    expect(errors.newer).toBeInstanceOf(CheckpointError)
    expect(errors.newer.message).toContain(`effect_nn.format_version is "3"; this effect-nn reads training checkpoints of versions 1 and 2`)
    expect(errors.none.message).toContain("no effect_nn.format_version in __metadata__")
  })

  const gpu = runtimes(5).find(([name]) => name === "webgpu")
  it.skipIf(gpu === undefined)("a checkpoint written on the CPU resumes on WebGPU with the optimiser state on the parameters' device", async () => {
    const a = await original.runPromise(reference(optimizer, adamStateCodec))
    const b = await gpu![1].runPromise(Effect.gen(function*() {
      const r = yield* resumed(optimizer, adamStateCodec, a.bytes)
      const state = r.loaded.optimizer as AdamState
      const params = [r.loaded.model.params.weight, r.loaded.model.params.bias]
      return {
        kind: r.device.backend.kind,
        sameDevice: [state.state["weight"]!, state.state["bias"]!].every((s, i) => [s.expAvg, s.expAvgSq].every((t) => t.device === params[i]!.device && t.device === r.device)),
        step: r.next.state.state["weight"]?.step,
        weight: Array.from(yield* toArray(r.next.model.params.weight)),
        bias: Array.from(yield* toArray(r.next.model.params.bias))
      }
    }))
    expect(b.kind).toBe("webgpu")
    expect(b.sameDevice).toBe(true)
    expect(b.step).toBe(3)
    const cpu = { weight: Array.from(new Float32Array(Uint32Array.from(a.after.weight).buffer)), bias: Array.from(new Float32Array(Uint32Array.from(a.after.bias).buffer)) }
    expectClose(b.weight, cpu.weight, 1e-5, 1e-6, "weight after step 3 on WebGPU")
    expectClose(b.bias, cpu.bias, 1e-5, 1e-6, "bias after step 3 on WebGPU")
  })

  it("SGD with momentum: buffers saved and resumed bit-identically; before the first step there are none", async () => {
    const momentum = sgd({ lr: 0.05, momentum: 0.9 })
    const a = await original.runPromise(reference(momentum, sgdStateCodec))
    const b = await fresh.runPromise(resumed(momentum, sgdStateCodec, a.bytes))
    expect(b.after).toEqual(a.after)
    expect(Object.keys((b.loaded.optimizer as SgdState).state)).toEqual(["weight", "bias"])
    const empty = await original.runPromise(Effect.gen(function*() {
      const model = yield* net.init
      const state = yield* momentum.init(model.params)
      const bytes = yield* trainingCheckpointBytes(net, { model, optimizer: state, progress, settings }, "SGD", sgdStateCodec)
      return (yield* loadTrainingCheckpointBytes(bytes, net, model, sgdStateCodec)).optimizer
    }))
    expect(empty.state).toEqual({})
  })

  it("a missing or mis-shaped optimiser tensor, another optimiser's state or a plain state dict is one CheckpointError; nothing loads", async () => {
    const a = await original.runPromise(reference(optimizer, adamStateCodec))
    const errors = await fresh.runPromise(Effect.gen(function*() {
      const template = yield* net.init
      const file = yield* decodeSafetensors(a.bytes)
      const broken = yield* encodeSafetensors(
        file.tensors
          .filter((t) => t.key !== `${optimizerPrefix}exp_avg.bias`)
          .map((t) => (t.key === `${optimizerPrefix}exp_avg_sq.weight` ? { ...t, shape: [2, 1] } : t)),
        file.metadata
      )
      const fail = (e: Effect.Effect<unknown, unknown, Device>) => Effect.flatMap(Effect.flip(e), (x) => (x instanceof CheckpointError ? Effect.succeed(x.message) : Effect.die(x)))
      return {
        broken: yield* fail(loadTrainingCheckpointBytes(broken, net, template, adamStateCodec)),
        sgd: yield* fail(loadTrainingCheckpointBytes(a.bytes, net, template, sgdStateCodec)),
        plain: yield* fail(loadTrainingCheckpointBytes(yield* saveStateDictBytes(net, template), net, template, adamStateCodec))
      }
    }))
    expect(errors.broken).toContain("__optimizer__.exp_avg.bias is missing")
    expect(errors.broken).toContain("__optimizer__.exp_avg_sq.weight: F32 [2, 1] against the parameter's float32 [1, 2]")
    expect(errors.sgd).toContain("holds Adam state; this run uses SGD")
    expect(errors.plain).toContain("not a training checkpoint")
  })
})

// ---- whole runs on a subset of MNIST --------------------------------------------------------

const services = Layer.merge(Cpu.layer, NodeFileSystem.layer)
const quiet = { epochStart: () => {}, step: () => {}, epochEnd: () => {} }
const common = { batchSize: 64, lr: 1e-3, seed: 0, limit: 512, testLimit: 500 } as const

const train = (config: Omit<Parameters<typeof runTraining>[0], keyof typeof common>, hooks: Partial<Parameters<typeof runTraining>[1]> = {}) =>
  Effect.runPromise(runTraining({ ...common, ...config }, { ...quiet, ...hooks }).pipe(Effect.provide(services))) as Promise<Array<EpochReport>>

/** A small network with dropout, so a resumed run must continue the random stream too. */
const DropNet = () =>
  module("DropNet", { fc1: Linear(784, 32), drop: Dropout(0.5), fc2: Linear(32, 10) }).forward<[Sym<"B">, 784], [Sym<"B">, 10]>((m, x) =>
    Effect.gen(function*() {
      const h = yield* m.fc1(x)
      return yield* m.fc2(yield* m.drop(relu(h) as Tensor<[Sym<"B">, 32]>))
    }))

describe("a run's loader warnings", () => {
  it("the single-sample last batch warning is said once a run, not every epoch", async () => {
    const messages: Array<string> = []
    const capture = Logger.make(({ message, logLevel }) => {
      if (logLevel === "Warn") messages.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    const run = runTraining({ ...common, limit: 513, model: "shallow", module: ShallowMLP(), epochs: 2 }, quiet)
    const reports = await Effect.runPromise(run.pipe(Effect.provide(Layer.merge(services, Logger.layer([capture])))))
    expect(reports.map((r) => r.epoch)).toEqual([1, 2])
    expect(messages).toEqual([singleSampleWarning(513, 64)])
  })
})

describe("resumed training is bit-identical to uninterrupted training (CPU, 512 MNIST images)", () => {
  it("ShallowMLP: 2 epochs against 1 epoch, stop, resume for 1 — same parameters, optimiser state, progress and figures", async () => {
    const whole = await train({ model: "shallow", module: ShallowMLP(), epochs: 2, checkpoint: at("whole.ckpt"), save: at("whole.safetensors") })
    await train({ model: "shallow", module: ShallowMLP(), epochs: 1, checkpoint: at("split.ckpt") })
    let resumedAt: TrainingProgress | undefined
    const rest = await train(
      { model: "shallow", module: ShallowMLP(), epochs: 2, resume: at("split.ckpt"), checkpoint: at("split.ckpt"), save: at("split.safetensors") },
      { resumed: (_, p) => (resumedAt = p) }
    )
    expect(resumedAt).toMatchObject({ epoch: 2, batch: 0, globalStep: 8 })
    expect(rest.map((r) => r.epoch)).toEqual([2])
    expect(readFileSync(at("split.safetensors")).equals(readFileSync(at("whole.safetensors")))).toBe(true)
    expect(readFileSync(at("split.ckpt")).equals(readFileSync(at("whole.ckpt")))).toBe(true)
    expect(rest[0]!.trainLoss).toBe(whole[1]!.trainLoss)
    expect(rest[0]!.testAccuracy).toBe(whole[1]!.testAccuracy)
  })

  it("a network with dropout stopped inside an epoch (after step 3 of epoch 2) resumes to the same parameters and epoch loss", async () => {
    const whole = await train({ model: "drop", module: DropNet(), epochs: 2, checkpoint: at("drop-whole.ckpt"), save: at("drop-whole.safetensors") })
    let steps = 0
    let stopped: Stopped | undefined
    await train(
      { model: "drop", module: DropNet(), epochs: 2, checkpoint: at("drop-split.ckpt"), shouldStop: () => steps >= 11 },
      { step: () => void steps++, stopped: (s) => (stopped = s) }
    )
    expect(stopped?.path).toBe(at("drop-split.ckpt"))
    expect(stopped?.progress).toMatchObject({ epoch: 2, batch: 3, globalStep: 11 })
    const rest = await train({ model: "drop", module: DropNet(), epochs: 2, resume: at("drop-split.ckpt"), checkpoint: at("drop-split.ckpt"), save: at("drop-split.safetensors") })
    expect(readFileSync(at("drop-split.safetensors")).equals(readFileSync(at("drop-whole.safetensors")))).toBe(true)
    expect(readFileSync(at("drop-split.ckpt")).equals(readFileSync(at("drop-whole.ckpt")))).toBe(true)
    expect(rest[0]!.trainLoss).toBe(whole[1]!.trainLoss)
  })

  it("resuming inside an epoch with another batch size, or into another model, is refused with the reason", async () => {
    const midway = at("drop-mid.ckpt")
    let steps = 0
    await train({ model: "drop", module: DropNet(), epochs: 2, checkpoint: midway, shouldStop: () => steps >= 3 }, { step: () => void steps++ })
    const refuse = (config: Parameters<typeof runTraining>[0]) => Effect.runPromise(Effect.flip(runTraining(config, quiet).pipe(Effect.provide(services))))
    const refused = await refuse({ ...common, batchSize: 32, model: "drop", module: DropNet(), epochs: 2, resume: midway })
    expect(refused).toBeInstanceOf(CheckpointError)
    expect(refused.message).toContain("stopped inside epoch 1 (after batch 3) with batch size 64")
    const other = await refuse({ ...common, model: "shallow", module: ShallowMLP(), epochs: 2, resume: midway })
    expect(other.message).toContain("it was written for model drop, this run builds shallow")
  })
})
