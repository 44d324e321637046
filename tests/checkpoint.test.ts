/**
 * Safetensors state dicts (issue 4): the PyTorch reference file loads into ShallowMLP and
 * reproduces its logits; files written for the tutorial's networks have PyTorch's keys,
 * shapes and dtypes and read back bit for bit; every misfit is reported at once and
 * leaves the model untouched; the field cases from other libraries' bug reports.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node-shared"
import { DeepMLP, ResidualNetwork, ShallowMLP } from "@effect-nn/examples"
import type { AnyModule, ForwardError, LoadOptions, ModelOf, Module, ShapeFn, TensorBytes } from "@effect-nn/layers"
import {
  BatchNorm1d,
  CheckpointError,
  Linear,
  Mode,
  applyStateDict,
  decodeSafetensors,
  encodeSafetensors,
  float32Bytes,
  forward,
  int64Bytes,
  loadStateDict,
  loadStateDictBytes,
  module,
  saveStateDict,
  saveStateDictBytes,
  stateEntries
} from "@effect-nn/layers"
import type { Rng, Sym } from "@effect-nn/tensor"
import { fromArray, makeRandomSource, sym, toArray } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { expectClose, reference, run, runtimes } from "./harness.ts"

const here = import.meta.dirname
const referenceFile = [join(here, "..", "..", "shared", "reference", "shallow_mlp.safetensors"), join(here, "..", "shared", "reference", "shallow_mlp.safetensors")]
  .find((p) => existsSync(p))!

interface RefTensor { readonly shape: Array<number>; readonly data: Array<number> }
const ref11 = reference<{ check_input: RefTensor; check_logits: RefTensor; header_length_bytes: number; file_size_bytes: number }>("11_safetensors.json")
interface RefModel { readonly name: string; readonly state_dict: string | ReadonlyArray<{ key: string; shape: Array<number>; dtype: string }> }
const ref09 = reference<{ models: ReadonlyArray<RefModel> }>("09_architectures.json").models
const pytorchKeys = (name: string) => {
  const sd = ref09.find((m) => m.name === name)!.state_dict
  return (typeof sd === "string" ? JSON.parse(sd) : sd) as ReadonlyArray<{ key: string; shape: Array<number>; dtype: string }>
}

/** The bits of float32 values (bit-identical comparisons, NaN and −0 included). */
const bits = (a: Float32Array | Int32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length))

/** Every state-dict tensor of a model as bits, keyed. */
const snapshot = (net: AnyModule, model: ModelOf<AnyModule>) =>
  Effect.map(Effect.forEach(stateEntries(net, model), (e) => Effect.map(toArray(e.tensor), (v) => [e.key, e.tensor.dtype, [...e.tensor.dims], bits(v)] as const)), (l) => l)

const f32 = (key: string, shape: Array<number>, values?: ArrayLike<number>): TensorBytes => {
  const n = shape.reduce((a, b) => a * b, 1)
  return { key, dtype: "F32", shape, bytes: float32Bytes(Float32Array.from(values ?? Array.from({ length: n }, (_, i) => i / 8 - 1))) }
}

/** The `CheckpointError` an effect fails with (any other outcome fails the test). */
const failure = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<CheckpointError, A, R> =>
  Effect.flatMap(Effect.flip(effect), (e) => (e instanceof CheckpointError ? Effect.succeed(e) : Effect.die(e)))

const scratch = mkdtempSync(join(tmpdir(), "effect-nn-ckpt-"))

for (const [device, rt] of runtimes(3)) {
  describe(`state dicts on ${device}`, () => {
    it("the PyTorch reference file loads into ShallowMLP and reproduces check_logits within 1e-5 (eval mode)", async () => {
      const net = ShallowMLP("pytorch")
      const logits = await run(rt, Effect.gen(function*() {
        const fresh = yield* net.init
        const { model, report } = yield* loadStateDict(referenceFile, net, fresh)
        expect(report.loaded).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        const x = yield* fromArray([sym("B", 4), 784], ref11.check_input.data)
        return yield* toArray(yield* forward(net, model, x, Mode.eval))
      }).pipe(Effect.provide(NodeFileSystem.layer)))
      expectClose(logits, ref11.check_logits.data, 1e-5, 1e-5, "logits")
    })

    const architectures: ReadonlyArray<readonly [string, () => Module<ShapeFn, unknown, unknown, Rng>]> = [
      ["ShallowMLP", () => ShallowMLP()],
      ["DeepMLP", () => DeepMLP()],
      ["ResidualNetwork", () => ResidualNetwork()]
    ]
    for (const [name, make] of architectures) {
      it(`${name}: the written file has PyTorch's keys, shapes and dtypes in order and reads back bit-identical`, async () => {
        const net = make()
        const r = await run(rt, Effect.gen(function*() {
          const initial = (yield* net.init) as ModelOf<AnyModule>
          // One train forward so that running statistics and counters hold real values.
          const x = yield* fromArray([sym("B", 8), 784], makeRandomSource(1).uniform(8 * 784, 0, 1))
          const trained = yield* (forward(net, initial, x as never, Mode.train) as Effect.Effect<{ readonly buffers: unknown }, ForwardError, Rng>)
          const model = { params: initial.params, buffers: trained.buffers } as ModelOf<AnyModule>
          const bytes = yield* saveStateDictBytes(net, model)
          const file = yield* decodeSafetensors(bytes)
          const other = (yield* net.init) as ModelOf<AnyModule>
          const loaded = yield* loadStateDictBytes(bytes, net, other)
          return { file, before: yield* snapshot(net, model), after: yield* snapshot(net, loaded.model), length: bytes.byteLength }
        }))
        const expected = pytorchKeys(name)
        expect(r.file.tensors.map((t) => ({ key: t.key, shape: [...t.shape], dtype: t.dtype === "F32" ? "float32" : t.dtype === "I64" ? "int64" : t.dtype }))).toEqual(
          expected.map((e) => ({ key: e.key, shape: [...e.shape], dtype: e.dtype }))
        )
        expect(r.file.metadata["format"]).toBe("pt")
        expect(r.file.metadata["effect_nn.format_version"]).toBe("2")
        expect(r.after).toEqual(r.before)
        if (name !== "ShallowMLP") {
          // num_batches_tracked went through I64 and came back as 1.
          const counter = r.before.find(([k]) => k.endsWith("num_batches_tracked"))!
          expect(counter[3]).toEqual([1])
        }
      })
    }
  })
}

const [, cpu] = runtimes(7).find(([name]) => name === "cpu")!

const Shallow = () => ShallowMLP("pytorch")

describe("loading reports every misfit at once and never loads part of a file", () => {
  it("missing, unexpected and mis-shaped keys in one file: one CheckpointError listing all three; the model is unchanged", async () => {
    const net = Shallow()
    const r = await run(cpu, Effect.gen(function*() {
      const model = yield* net.init
      const before = yield* snapshot(net, model as ModelOf<AnyModule>)
      const bytes = yield* encodeSafetensors([
        f32("fc1.weight", [128, 784]),
        f32("fc1.bias", [64]), // mis-shaped
        f32("fc2.weight", [10, 128]),
        // fc2.bias missing
        f32("extra.weight", [3]) // unexpected
      ])
      const error = yield* failure(loadStateDictBytes(bytes, net, model))
      const nonStrict = yield* failure(loadStateDictBytes(bytes, net, model, { strict: false }))
      return { error, nonStrict, before, after: yield* snapshot(net, model as ModelOf<AnyModule>) }
    }))
    expect(r.error._tag).toBe("CheckpointError")
    expect(r.error.report!.missing).toEqual([{ key: "fc2.bias", shape: [10] }])
    expect(r.error.report!.unexpected).toEqual([{ key: "extra.weight", shape: [3] }])
    expect(r.error.report!.mismatched.map((m) => [m.key, m.actual, m.expected])).toEqual([["fc1.bias", [64], [128]]])
    expect(r.error.message).toContain("fc2.bias [10]")
    expect(r.error.message).toContain("extra.weight [3]")
    expect(r.error.message).toContain("fc1.bias: shape [64] against [128]")
    expect(r.error.message).toContain("1 missing, 1 unexpected, 1 mis-shaped")
    // Non-strict tolerates missing and unexpected keys, never a shape mismatch.
    expect(r.nonStrict.report!.mismatched.map((m) => m.key)).toEqual(["fc1.bias"])
    expect(r.after).toEqual(r.before)
  })

  it("an I64 counter outside int32 is refused, naming the key", async () => {
    const net = BatchNorm1d(2)
    const error = await run(cpu, Effect.gen(function*() {
      const model = yield* net.init
      const bytes = yield* encodeSafetensors([
        f32("weight", [2]),
        f32("bias", [2]),
        f32("running_mean", [2]),
        f32("running_var", [2]),
        { key: "num_batches_tracked", dtype: "I64", shape: [], bytes: (() => {
          const b = new Uint8Array(8)
          new DataView(b.buffer).setBigInt64(0, 2n ** 40n, true)
          return b
        })() }
      ])
      return yield* failure(loadStateDictBytes(bytes, net, model))
    }))
    expect(error.message).toContain("num_batches_tracked: value 1099511627776 at index 0 does not fit in int32")
  })

  it("int32 counters round-trip through I64 and an F32 file may also carry I32 counters", async () => {
    const net = BatchNorm1d(2)
    const counter = await run(cpu, Effect.gen(function*() {
      const model = yield* net.init
      const bytes = yield* encodeSafetensors([
        f32("weight", [2]), f32("bias", [2]), f32("running_mean", [2]), f32("running_var", [2]),
        { key: "num_batches_tracked", dtype: "I64", shape: [], bytes: int64Bytes(Int32Array.of(2147483647)) }
      ])
      const loaded = yield* loadStateDictBytes(bytes, net, model)
      return yield* toArray((loaded.model.buffers as { num_batches_tracked: import("@effect-nn/tensor").Tensor<[], "int32"> }).num_batches_tracked)
    }))
    expect(Array.from(counter)).toEqual([2147483647])
  })
})

describe("field cases", () => {
  const Lin = (out: number) => module("Net", { fc: Linear(3, out) }).forward<[Sym<"B">, 3], [Sym<"B">, number]>((m, x) => m.fc(x) as never)

  it("Linear(3, 1) into Linear(3, 2) fails in strict and non-strict mode, naming each key with both shapes", async () => {
    const small = Linear(3, 1)
    const big = Linear(3, 2)
    const r = await run(cpu, Effect.gen(function*() {
      const bytes = yield* saveStateDictBytes(small, yield* small.init)
      const target = yield* big.init
      return {
        strict: yield* failure(loadStateDictBytes(bytes, big, target)),
        loose: yield* failure(loadStateDictBytes(bytes, big, target, { strict: false }))
      }
    }))
    for (const e of [r.strict, r.loose]) {
      expect(e.message).toContain("weight: shape [1, 3] against [2, 3]")
      expect(e.message).toContain("bias: shape [1] against [2]")
      expect(e.report!.mismatched).toHaveLength(2)
    }
  })

  it("a right weight and a wrong-shaped bias leave the module unchanged", async () => {
    const net = Linear(3, 2)
    const r = await run(cpu, Effect.gen(function*() {
      const model = yield* net.init
      const before = yield* snapshot(net, model as ModelOf<AnyModule>)
      const bytes = yield* encodeSafetensors([f32("weight", [2, 3]), f32("bias", [3])])
      const error = yield* failure(loadStateDictBytes(bytes, net, model, { strict: false }))
      return { error, before, after: yield* snapshot(net, model as ModelOf<AnyModule>) }
    }))
    expect(r.error.report!.mismatched.map((m) => m.key)).toEqual(["bias"])
    expect(r.error.report!.loaded).toEqual(["weight"])
    expect(r.after).toEqual(r.before)
  })

  it("the right keys plus fc1.weight.bad_key: strict fails naming it; non-strict loads and reports it as unexpected", async () => {
    const net = Shallow()
    const r = await run(cpu, Effect.gen(function*() {
      const model = yield* net.init
      const good = yield* decodeSafetensors(yield* saveStateDictBytes(net, model))
      const bytes = yield* encodeSafetensors([...good.tensors.map((t) => ({ ...t })), f32("fc1.weight.bad_key", [2])])
      const strict = yield* failure(loadStateDictBytes(bytes, net, model))
      const loose = yield* loadStateDictBytes(bytes, net, model, { strict: false })
      return { strict, loose: loose.report, same: (yield* snapshot(net, loose.model as ModelOf<AnyModule>)), orig: yield* snapshot(net, model as ModelOf<AnyModule>) }
    }))
    expect(r.strict.message).toContain("fc1.weight.bad_key [2]")
    expect(r.strict.report!.unexpected.map((u) => u.key)).toEqual(["fc1.weight.bad_key"])
    expect(r.loose.unexpected.map((u) => u.key)).toEqual(["fc1.weight.bad_key"])
    expect(r.loose.loaded).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
    expect(r.same).toEqual(r.orig)
  })

  it("a state dict saved under a module. prefix loads with stripPrefix; without it the error says the keys differ only by that prefix", async () => {
    const net = Lin(2)
    const r = await run(cpu, Effect.gen(function*() {
      const source = yield* net.init
      const bytes = yield* saveStateDictBytes(net, source, { prefix: "module." })
      const keys = (yield* decodeSafetensors(bytes)).tensors.map((t) => t.key)
      const target = yield* net.init
      const error = yield* failure(loadStateDictBytes(bytes, net, target))
      const options: LoadOptions = { stripPrefix: "module." }
      const loaded = yield* loadStateDictBytes(bytes, net, target, options)
      // And the other way round: a bare file into a module that expects the prefix is hinted with addPrefix.
      const bare = yield* saveStateDictBytes(net, source)
      const wrapped = module("Wrapper", { module: net }).forward<[Sym<"B">, 3], [Sym<"B">, number]>((m, x) => m.module(x) as never)
      const wrappedModel = yield* wrapped.init
      const addError = yield* failure(loadStateDictBytes(bare, wrapped, wrappedModel))
      const added = yield* loadStateDictBytes(bare, wrapped, wrappedModel, { addPrefix: "module." })
      return { keys, error, source: yield* snapshot(net, source), loaded: yield* snapshot(net, loaded.model), addError, added: added.report.loaded }
    }))
    expect(r.keys).toEqual(["module.fc.weight", "module.fc.bias"])
    expect(r.error.message).toContain("differ from the module's only by the prefix \"module.\"")
    expect(r.error.message).toContain("stripPrefix: \"module.\"")
    expect(r.loaded).toEqual(r.source)
    expect(r.addError.message).toContain("addPrefix: \"module.\"")
    expect(r.added).toEqual(["module.fc.weight", "module.fc.bias"])
  })

  it("a truncated file gives a CheckpointError naming the file and the expected against the actual length", async () => {
    const whole = readFileSync(referenceFile)
    const path = join(scratch, "truncated.safetensors")
    writeFileSync(path, whole.subarray(0, 1000))
    const net = Shallow()
    const error = await run(cpu, Effect.gen(function*() {
      return yield* failure(loadStateDict(path, net, yield* net.init))
    }).pipe(Effect.provide(NodeFileSystem.layer)))
    expect(error._tag).toBe("CheckpointError")
    expect(error.file).toBe(path)
    expect(error.message).toContain(path)
    expect(error.message).toContain(`file is 1000 bytes, expected at least ${8 + ref11.header_length_bytes + 512 + 401408}`)
    // A cut inside the header names both lengths too.
    writeFileSync(path, whole.subarray(0, 100))
    const early = await run(cpu, failure(loadStateDict(path, net, await run(cpu, net.init))).pipe(Effect.provide(NodeFileSystem.layer)))
    expect(early.message).toContain(`file is 100 bytes, expected at least ${8 + ref11.header_length_bytes}`)
  })

  it("saveStateDict writes a file that loadStateDict reads back bit-identical, and the reference file's bytes survive a round trip", async () => {
    const net = Shallow()
    const path = join(scratch, "shallow.safetensors")
    const r = await run(cpu, Effect.gen(function*() {
      const { model } = yield* loadStateDict(referenceFile, net, yield* net.init)
      yield* saveStateDict(path, net, model)
      const again = yield* loadStateDict(path, net, yield* net.init)
      return { a: yield* snapshot(net, model), b: yield* snapshot(net, again.model) }
    }).pipe(Effect.provide(NodeFileSystem.layer)))
    expect(r.b).toEqual(r.a)
    // Same tensors and data bytes as PyTorch's file (the header differs only in order and metadata).
    const ours = await Effect.runPromise(decodeSafetensors(readFileSync(path)))
    const theirs = await Effect.runPromise(decodeSafetensors(readFileSync(referenceFile)))
    for (const t of theirs.tensors) {
      const mine = ours.tensors.find((u) => u.key === t.key)!
      expect(Buffer.from(mine.bytes).equals(Buffer.from(t.bytes))).toBe(true)
    }
    expect(readFileSync(path).byteLength % 8).toBe(0)
  })

  it("applyStateDict accepts an F64 or F16 file for float32 parameters (converted, as PyTorch's copy_) and refuses an integer one", async () => {
    const net = Linear(2, 1)
    const r = await run(cpu, Effect.gen(function*() {
      const model = yield* net.init
      const f64 = new Uint8Array(16)
      new DataView(f64.buffer).setFloat64(0, 0.5, true)
      new DataView(f64.buffer).setFloat64(8, -2, true)
      const f16 = new Uint8Array([0x00, 0x3c]) // 1.0
      const ok = yield* applyStateDict(net, model, (yield* decodeSafetensors(yield* encodeSafetensors([
        { key: "weight", dtype: "F64", shape: [1, 2], bytes: f64 },
        { key: "bias", dtype: "F16", shape: [1], bytes: f16 }
      ]))).tensors)
      const bad = yield* failure(applyStateDict(net, model, (yield* decodeSafetensors(yield* encodeSafetensors([
        { key: "weight", dtype: "I32", shape: [1, 2], bytes: new Uint8Array(8) },
        f32("bias", [1])
      ]))).tensors))
      const p = ok.model.params as { weight: import("@effect-nn/tensor").Tensor<[1, 2]>; bias: import("@effect-nn/tensor").Tensor<[1]> }
      return { w: Array.from(yield* toArray(p.weight)), b: Array.from(yield* toArray(p.bias)), bad }
    }))
    expect(r.w).toEqual([0.5, -2])
    expect(r.b).toEqual([1])
    expect(r.bad.message).toContain("weight: dtype I32 against float32")
  })
})
