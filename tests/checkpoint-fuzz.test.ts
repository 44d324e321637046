/**
 * 10,000 corrupted variants of a valid safetensors file (issue 4): truncations, flipped
 * bytes, hostile header lengths, offsets, shapes and dtypes, duplicate keys, bad UTF-8
 * and odd JSON. Each must end in a `CheckpointError` or a correct load — never a defect
 * (a thrown exception), a hang or a read outside the file's bytes. Seeded, so a failure
 * names a variant that can be replayed.
 *
 * Out-of-range reads: every variant sits inside a larger buffer between random guard
 * bytes, so a reader that looked past its `Uint8Array` (through `.buffer`) would see the
 * guards; every tensor view a successful decode hands out must lie inside the variant.
 */
import type { AnyModule, ModelOf, RawTensor } from "@effect-nn/layers"
import { BatchNorm1d, CheckpointError, Linear, applyStateDict, decodeSafetensors, maxHeaderBytes, module, saveStateDictBytes, stateEntries, toFloat32, toInt32 } from "@effect-nn/layers"
import type { RandomSource, Sym } from "@effect-nn/tensor"
import { Cpu, Rng, makeRandomSource, toArray } from "@effect-nn/tensor"
import { Cause, Effect, Exit, Layer, ManagedRuntime, Result } from "effect"
import { afterAll, describe, expect, it } from "vitest"

const Net = () =>
  module("Net", { fc: Linear(4, 3), bn: BatchNorm1d(3) }).forward<[Sym<"B">, 4], [Sym<"B">, 3]>((m, x) =>
    Effect.flatMap(m.fc(x), (h) => m.bn(h)))

const rt = ManagedRuntime.make(Layer.merge(Cpu.layer, Rng.seeded(1)))
afterAll(() => rt.dispose())

const int = (rng: RandomSource, n: number) => Math.floor(rng.nextFloat() * n)
const pick = <T>(rng: RandomSource, items: ReadonlyArray<T>): T => items[int(rng, items.length)]!

const encoder = new TextEncoder()

/** A file from a header object (or raw header text) and a data section, with a correct length prefix. */
const assemble = (header: string, data: Uint8Array): Uint8Array => {
  const json = encoder.encode(header)
  const out = new Uint8Array(8 + json.byteLength + data.byteLength)
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true)
  out.set(json, 8)
  out.set(data, 8 + json.byteLength)
  return out
}

const headerOf = (file: Uint8Array) => {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true))
  return { json: JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, unknown>, data: file.subarray(8 + n) }
}

const hostileNumbers = [-1, -8, 0, 1, 3, 7, 8, 1.5, 1e300, -1e300, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 4096, 116, 115, 117]
const hostileValues: ReadonlyArray<unknown> = [...hostileNumbers, "0", null, true, [], {}, [0], [0, 1, 2], "F32"]

/** One corrupted variant of `valid`, chosen by `rng`. */
const corrupt = (rng: RandomSource, valid: Uint8Array): { kind: string; bytes: Uint8Array } => {
  const { json, data } = headerOf(valid)
  const tensorKeys = Object.keys(json).filter((k) => k !== "__metadata__")
  const kind = int(rng, 11)
  switch (kind) {
    case 0: // truncation
      return { kind: "truncate", bytes: valid.slice(0, int(rng, valid.byteLength)) }
    case 1: { // flipped bytes anywhere
      const out = valid.slice()
      const flips = 1 + int(rng, 4)
      for (let i = 0; i < flips; i++) out[int(rng, out.length)] ^= 1 + int(rng, 255)
      return { kind: "flip", bytes: out }
    }
    case 2: { // flipped bytes in the header
      const out = valid.slice()
      const n = Number(new DataView(out.buffer).getBigUint64(0, true))
      const flips = 1 + int(rng, 3)
      for (let i = 0; i < flips; i++) out[8 + int(rng, n)] ^= 1 << int(rng, 8)
      return { kind: "flip-header", bytes: out }
    }
    case 3: { // hostile header length
      const out = valid.slice()
      const choices = [0n, 1n, 2n, 7n, BigInt(out.byteLength - 8), BigInt(out.byteLength - 7), BigInt(out.byteLength), BigInt(int(rng, out.byteLength)),
        2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, BigInt(maxHeaderBytes + 1), BigInt(maxHeaderBytes)]
      new DataView(out.buffer).setBigUint64(0, pick(rng, choices), true)
      return { kind: "header-length", bytes: out }
    }
    case 4: { // hostile offsets
      const key = pick(rng, tensorKeys)
      const entry = { ...(json[key] as Record<string, unknown>) }
      const [b, e] = entry["data_offsets"] as [number, number]
      entry["data_offsets"] = pick(rng, [
        [pick(rng, hostileNumbers), e], [b, pick(rng, hostileNumbers)], [e, b], [b, e + 4], [b - 4, e - 4], [0, e - b],
        [pick(rng, hostileNumbers), pick(rng, hostileNumbers)], [b], [b, e, 0], pick(rng, hostileValues)
      ])
      return { kind: "offsets", bytes: assemble(JSON.stringify({ ...json, [key]: entry }), data) }
    }
    case 5: { // hostile shapes and dtypes
      const key = pick(rng, tensorKeys)
      const entry = { ...(json[key] as Record<string, unknown>) }
      if (rng.nextFloat() < 0.5) {
        entry["shape"] = pick(rng, [[2 ** 31, 2 ** 31, 2 ** 31], [-3], [1.5], [], [0], [0, 2 ** 53], [1e300], [3, 4, 0], ["3"], [1, 1, 1, 1, 1, 1, 1, 12], pick(rng, hostileValues)])
      } else {
        entry["dtype"] = pick(rng, ["F32", "F64", "F16", "BF16", "I64", "I32", "U8", "BOOL", "F8_E4M3", "F4", "f32", "", "U64", 3, null])
      }
      return { kind: "shape-dtype", bytes: assemble(JSON.stringify({ ...json, [key]: entry }), data) }
    }
    case 6: { // duplicate keys, in the text (JSON.parse would hide them)
      const key = pick(rng, tensorKeys)
      const text = JSON.stringify(json)
      const duplicate = `${text.slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(json[key])}}`
      return { kind: "duplicate", bytes: assemble(duplicate, data) }
    }
    case 7: { // odd JSON and odd metadata
      const text = pick(rng, [
        "[]", "null", "1", "\"x\"", "{", "{}", "{\"a\":1}", " {}", "{\"__metadata__\":{\"format\":1}}", "{\"__metadata__\":[]}",
        `{"__proto__":${JSON.stringify(json[tensorKeys[0]!])}}`, `{"constructor":{"dtype":"F32","shape":[29],"data_offsets":[0,116]}}`,
        `${"[".repeat(100_000)}${"]".repeat(100_000)}`, `{"a":${"[".repeat(50_000)}${"]".repeat(50_000)}}`,
        JSON.stringify(json).replace("\"F32\"", "\"F32\\u0000\""), `${JSON.stringify(json)}${" ".repeat(int(rng, 9))}`, `${JSON.stringify(json)}\u0000`
      ])
      return { kind: "json", bytes: assemble(text, data) }
    }
    case 8: { // invalid UTF-8 inside the header
      const out = valid.slice()
      const n = Number(new DataView(out.buffer).getBigUint64(0, true))
      out[8 + 1 + int(rng, n - 1)] = pick(rng, [0xff, 0xc0, 0x80, 0xed, 0xf8])
      return { kind: "utf8", bytes: out }
    }
    case 9: { // holes and extra bytes in the data section
      const extra = new Uint8Array(data.byteLength + 1 + int(rng, 16))
      extra.set(data)
      const shorter = data.subarray(0, Math.max(0, data.byteLength - 1 - int(rng, 8)))
      return { kind: "data-size", bytes: assemble(JSON.stringify(json), rng.nextFloat() < 0.5 ? extra : shorter) }
    }
    default: { // a valid rewrite of the header, then flips in the data (a valid file with other values)
      const out = valid.slice()
      const n = Number(new DataView(out.buffer).getBigUint64(0, true))
      for (let i = 0; i < 3; i++) out[8 + n + int(rng, out.byteLength - 8 - n)] ^= 1 + int(rng, 255)
      return { kind: "data-flip", bytes: out }
    }
  }
}

/** Checks a successful load: every view inside the variant, every loaded tensor equal to the file's values. */
const checkLoad = (net: AnyModule, loaded: ModelOf<AnyModule>, tensors: ReadonlyArray<RawTensor>, region: Uint8Array) =>
  Effect.gen(function*() {
    for (const t of tensors) {
      const inside = t.bytes.buffer === region.buffer && t.bytes.byteOffset >= region.byteOffset && t.bytes.byteOffset + t.bytes.byteLength <= region.byteOffset + region.byteLength
      if (!inside) return `tensor ${t.key}: its view lies outside the file`
    }
    const byKey = new Map(tensors.map((t) => [t.key, t]))
    for (const e of stateEntries(net, loaded)) {
      const raw = byKey.get(e.key)
      if (raw === undefined) return `key ${e.key} loaded from nowhere`
      const got = yield* toArray(e.tensor)
      const expected = e.tensor.dtype === "int32" ? Result.getOrUndefined(toInt32(raw)) : toFloat32(raw)
      if (expected === undefined || expected.length !== got.length) return `key ${e.key}: wrong length`
      const a = new Uint32Array(got.buffer, got.byteOffset, got.length)
      const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length)
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `key ${e.key}[${i}]: loaded ${got[i]}, file says ${expected[i]}`
    }
    return undefined
  })

describe("corrupted safetensors files", () => {
  it("10,000 seeded variants each end in a CheckpointError or a correct load (no defect, no hang, no out-of-range read)", async () => {
    const net = Net() as unknown as AnyModule
    const { valid, model } = await rt.runPromise(Effect.gen(function*() {
      const model = (yield* net.init) as ModelOf<AnyModule>
      return { valid: yield* saveStateDictBytes(net, model), model }
    }))
    const rng = makeRandomSource(20240611)
    const kinds = new Map<string, { errors: number; loads: number }>()
    let slowest = 0
    const started = performance.now()
    for (let i = 0; i < 10_000; i++) {
      const { kind, bytes } = corrupt(rng, valid)
      // Surround the variant with guard bytes inside one larger buffer.
      const before = int(rng, 64)
      const host = new Uint8Array(before + bytes.byteLength + 64)
      for (let j = 0; j < host.length; j++) host[j] = rng.nextU32() & 0xff
      host.set(bytes, before)
      const region = host.subarray(before, before + bytes.byteLength)
      const t0 = performance.now()
      const exit = await rt.runPromiseExit(Effect.gen(function*() {
        const file = yield* decodeSafetensors(region, `variant ${i}`)
        const loaded = yield* applyStateDict(net, model, file.tensors)
        return yield* checkLoad(net, loaded.model, file.tensors, region)
      }))
      slowest = Math.max(slowest, performance.now() - t0)
      const tally = kinds.get(kind) ?? { errors: 0, loads: 0 }
      kinds.set(kind, tally)
      if (Exit.isSuccess(exit)) {
        if (exit.value !== undefined) expect.fail(`variant ${i} (${kind}): ${exit.value}`)
        tally.loads++
      } else {
        const error = Cause.squash(exit.cause)
        if (!(error instanceof CheckpointError)) expect.fail(`variant ${i} (${kind}) ended in ${String(error)}, not a CheckpointError`)
        expect(error.reason.length).toBeGreaterThan(0)
        tally.errors++
      }
    }
    const seconds = (performance.now() - started) / 1000
    // Every kind of damage occurred, and both outcomes did.
    expect(kinds.size).toBe(11)
    expect([...kinds.values()].reduce((n, k) => n + k.loads, 0)).toBeGreaterThan(0)
    expect([...kinds.values()].reduce((n, k) => n + k.errors, 0)).toBeGreaterThan(5000)
    expect(slowest).toBeLessThan(2000)
    expect(seconds).toBeLessThan(60)
  })
})
