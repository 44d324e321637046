/**
 * Writing safetensors bytes (https://github.com/huggingface/safetensors#format): the
 * 8-byte little-endian header length, the JSON header padded with spaces so that the
 * data starts at a multiple of 8 bytes (as the reference writer pads), then each
 * tensor's little-endian bytes in the order given, back to back. Pure: no device, no
 * file system.
 */
import { Effect } from "effect"
import { CheckpointError, bytesName } from "./error.ts"
import type { SafetensorsDtype } from "./format.ts"
import { dtypeSizes, metadataKey, quoteKey } from "./format.ts"

/** A tensor to write: its key, dtype, shape and little-endian bytes (numel × dtype size). */
export interface TensorBytes {
  readonly key: string
  readonly dtype: SafetensorsDtype
  readonly shape: ReadonlyArray<number>
  readonly bytes: Uint8Array
}

/**
 * Encodes tensors and string metadata as a safetensors file. The header lists the
 * tensors in the order given and their data follows in the same order. Fails with
 * `CheckpointError` (naming `file`) when a key repeats, is `__metadata__`, a dim is not a
 * non-negative integer or a tensor's byte count is not numel × dtype size.
 */
export const encodeSafetensors = (
  tensors: ReadonlyArray<TensorBytes>,
  metadata: Readonly<Record<string, string>> = {},
  file: string = bytesName
): Effect.Effect<Uint8Array, CheckpointError> =>
  Effect.suspend(() => {
    const fail = (reason: string) => Effect.fail(new CheckpointError({ file, reason: `cannot write: ${reason}` }))
    const seen = new Set<string>()
    const parts: Array<string> = []
    if (Object.keys(metadata).length > 0) parts.push(`${JSON.stringify(metadataKey)}:${JSON.stringify(metadata)}`)
    let offset = 0
    for (const t of tensors) {
      if (t.key === metadataKey) return fail(`${metadataKey} is reserved for metadata and cannot name a tensor`)
      if (seen.has(t.key)) return fail(`key ${quoteKey(t.key)} appears twice`)
      seen.add(t.key)
      if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return fail(`tensor ${quoteKey(t.key)}: shape [${t.shape.join(", ")}] is not a list of non-negative integers`)
      const expected = t.shape.reduce((n, d) => n * d, 1) * dtypeSizes[t.dtype]
      if (expected !== t.bytes.byteLength) return fail(`tensor ${quoteKey(t.key)}: shape [${t.shape.join(", ")}] of ${t.dtype} needs ${expected} bytes, got ${t.bytes.byteLength}`)
      parts.push(`${JSON.stringify(t.key)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] })}`)
      offset += expected
    }
    const json = new TextEncoder().encode(`{${parts.join(",")}}`)
    const headerLength = Math.ceil((8 + json.byteLength) / 8) * 8 - 8
    const out = new Uint8Array(8 + headerLength + offset)
    new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true)
    out.set(json, 8)
    out.fill(0x20, 8 + json.byteLength, 8 + headerLength)
    let at = 8 + headerLength
    for (const t of tensors) {
      out.set(t.bytes, at)
      at += t.bytes.byteLength
    }
    return Effect.succeed(out)
  })

/** float32 values as `F32` little-endian bytes (bit for bit: NaN payloads and −0 kept). */
export const float32Bytes = (values: Float32Array): Uint8Array => {
  const out = new Uint8Array(values.length * 4)
  const v = new DataView(out.buffer)
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length)
  for (let i = 0; i < values.length; i++) v.setUint32(4 * i, bits[i]!, true)
  return out
}

/** int32 values widened to `I64` little-endian bytes (PyTorch's integer buffers are int64). */
export const int64Bytes = (values: Int32Array): Uint8Array => {
  const out = new Uint8Array(values.length * 8)
  const v = new DataView(out.buffer)
  for (let i = 0; i < values.length; i++) v.setBigInt64(8 * i, BigInt(values[i]!), true)
  return out
}
