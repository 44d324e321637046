/**
 * Reading safetensors bytes: validate everything before trusting anything, then hand out
 * views of the tensors' bytes. Pure (no device, no file system); nothing in a file is
 * ever executed — the header is JSON read by `JSON.parse` and checked by a `Schema`.
 *
 * Checks, in order (each failure is a `CheckpointError` saying what was expected and
 * what was found): at least 8 bytes; the header length (a u64) within the file and within
 * `maxHeaderBytes`; the header starts with `{`; it is valid UTF-8 and valid JSON; it
 * decodes through the header schema (known dtypes, non-negative integer dims and
 * offsets, string metadata); no duplicate keys; each tensor's byte count equals its
 * element count × dtype size; the tensors tile the byte buffer exactly (sorted by offset:
 * the first begins at 0, each begins where the previous ends, the last ends at the end
 * of the file), so no offset leaves the buffer, no two tensors overlap and no byte is
 * unaccounted for. Source: https://github.com/huggingface/safetensors#format.
 */
import { Effect, Result } from "effect"
import { CheckpointError, bytesName } from "./error.ts"
import type { SafetensorsDtype } from "./format.ts"
import { decodeSafetensorsHeader, dtypeSizes, firstDuplicateKey, maxHeaderBytes, quoteKey } from "./format.ts"

/** A tensor of a validated file: its key, dtype, shape and a view of its bytes (little-endian). */
export interface RawTensor {
  readonly key: string
  readonly dtype: SafetensorsDtype
  readonly shape: ReadonlyArray<number>
  /** Exactly numel × dtype size bytes; a view into the file's bytes (not a copy). */
  readonly bytes: Uint8Array
}

/** A validated safetensors file: its metadata and its tensors in the order of their data. */
export interface SafetensorsFile {
  readonly metadata: Readonly<Record<string, string>>
  readonly tensors: ReadonlyArray<RawTensor>
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/**
 * Validates safetensors `bytes` and returns their metadata and tensors (views of
 * `bytes`, which must not be changed while they are used). `file` names the source in
 * errors. Fails with `CheckpointError` on any violation of the format; never reads
 * outside `bytes`, never allocates more than the header's size.
 */
export const decodeSafetensors = (bytes: Uint8Array, file: string = bytesName): Effect.Effect<SafetensorsFile, CheckpointError> =>
  Effect.suspend(() => {
    const result = parseSafetensors(bytes)
    return Result.isSuccess(result) ? Effect.succeed(result.success) : Effect.fail(new CheckpointError({ file, reason: result.failure }))
  })

/** The same checks, synchronously: the file or the reason it was refused. */
export const parseSafetensors = (bytes: Uint8Array): Result.Result<SafetensorsFile, string> => {
  const size = bytes.byteLength
  if (size < 8) {
    return Result.fail(`truncated: a safetensors file starts with an 8-byte header length, but the file is ${size} bytes`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, size)
  const declared = view.getBigUint64(0, true)
  const available = BigInt(size - 8)
  if (declared > available) {
    return Result.fail(`truncated: the header length says ${declared} header bytes, but only ${available} bytes follow the length (file is ${size} bytes, expected at least ${declared + 8n})`)
  }
  if (declared > BigInt(maxHeaderBytes)) {
    return Result.fail(`the header length ${declared} exceeds the limit of ${maxHeaderBytes} bytes`)
  }
  const headerLength = Number(declared)
  if (headerLength < 2) return Result.fail(`the header is ${headerLength} bytes; it must hold at least "{}"`)
  if (bytes[8] !== 0x7b) return Result.fail(`the header must start with "{" (byte 0x7b), found byte 0x${bytes[8]!.toString(16).padStart(2, "0")}`)
  let text: string
  try {
    text = utf8.decode(bytes.subarray(8, 8 + headerLength))
  } catch {
    return Result.fail("the header is not valid UTF-8")
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Result.fail(`the header is not valid JSON (${e instanceof Error ? e.message.slice(0, 200) : "parse error"})`)
  }
  const header = decodeSafetensorsHeader(json)
  if (Result.isFailure(header)) return Result.fail(header.failure)
  const duplicate = firstDuplicateKey(text)
  if (duplicate !== undefined) return Result.fail(`the header holds key ${quoteKey(duplicate)} more than once`)

  const dataStart = 8 + headerLength
  const dataLength = size - dataStart
  const entries: Array<{ readonly key: string; readonly dtype: SafetensorsDtype; readonly shape: ReadonlyArray<number>; readonly begin: number; readonly end: number }> = []
  for (const [key, info] of header.success.tensors) {
    const [begin, end] = info.data_offsets
    if (end < begin) return Result.fail(`tensor ${quoteKey(key)}: data_offsets [${begin}, ${end}] end before they begin`)
    let numel = 1
    for (const d of info.shape) {
      numel *= d
      if (!Number.isSafeInteger(numel)) return Result.fail(`tensor ${quoteKey(key)}: shape [${info.shape.join(", ")}] holds more elements than can be counted`)
    }
    const expected = numel * dtypeSizes[info.dtype]
    if (!Number.isSafeInteger(expected) || expected !== end - begin) {
      return Result.fail(`tensor ${quoteKey(key)}: shape [${info.shape.join(", ")}] of ${info.dtype} needs ${numel} × ${dtypeSizes[info.dtype]} = ${expected} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`)
    }
    if (end > dataLength) {
      return Result.fail(`truncated: tensor ${quoteKey(key)} ends at byte ${end} of the data, but the file holds ${dataLength} data bytes (file is ${size} bytes, expected at least ${dataStart + end})`)
    }
    entries.push({ key, dtype: info.dtype, shape: info.shape, begin, end })
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end)
  let cursor = 0
  for (const e of entries) {
    if (e.begin < cursor) return Result.fail(`tensor ${quoteKey(e.key)}: data_offsets [${e.begin}, ${e.end}] overlap the previous tensor, which ends at ${cursor}`)
    if (e.begin > cursor) return Result.fail(`tensor ${quoteKey(e.key)}: data_offsets [${e.begin}, ${e.end}] leave bytes ${cursor}..${e.begin} of the data unindexed (holes are not allowed)`)
    cursor = e.end
  }
  if (cursor !== dataLength) {
    return Result.fail(`the tensors index ${cursor} data bytes, but the file holds ${dataLength} (file is ${size} bytes, expected ${dataStart + cursor})`)
  }
  const tensors = entries.map((e): RawTensor => ({ key: e.key, dtype: e.dtype, shape: e.shape, bytes: bytes.subarray(dataStart + e.begin, dataStart + e.end) }))
  return Result.succeed({ metadata: header.success.metadata, tensors })
}

/** Element count of a shape. */
const count = (shape: ReadonlyArray<number>): number => shape.reduce((n, d) => n * d, 1)

/** True on little-endian hosts (all current ones), where F32 bytes can be copied as they are. */
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Half-precision (IEEE 754 binary16) bits to a number. */
const halfToNumber = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1
  const exponent = (h >> 10) & 0x1f
  const fraction = h & 0x3ff
  if (exponent === 0) return sign * fraction * 2 ** -24
  if (exponent === 31) return fraction === 0 ? sign * Infinity : Number.NaN
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15)
}

/**
 * The tensor's values as float32, or undefined for a dtype that is not a float.
 * `F32` is copied bit for bit; `F64`, `F16` and `BF16` are converted (rounded to
 * nearest), as PyTorch's `copy_` does when `load_state_dict` meets another float dtype.
 */
export const toFloat32 = (t: RawTensor): Float32Array | undefined => {
  const n = count(t.shape)
  const v = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength)
  // An aligned copy, bit for bit (`new Uint8Array(view)` copies; Node's `Buffer#slice` would not).
  if (t.dtype === "F32" && littleEndianHost) return new Float32Array(new Uint8Array(t.bytes).buffer)
  const out = new Float32Array(n)
  switch (t.dtype) {
    case "F32":
      for (let i = 0; i < n; i++) out[i] = v.getFloat32(4 * i, true)
      return out
    case "F64":
      for (let i = 0; i < n; i++) out[i] = v.getFloat64(8 * i, true)
      return out
    case "F16":
      for (let i = 0; i < n; i++) out[i] = halfToNumber(v.getUint16(2 * i, true))
      return out
    case "BF16": {
      const bits = new DataView(new ArrayBuffer(4))
      for (let i = 0; i < n; i++) {
        bits.setUint32(0, v.getUint16(2 * i, true) << 16)
        out[i] = bits.getFloat32(0)
      }
      return out
    }
    default:
      return undefined
  }
}

/** How to read element i of an integer dtype, or undefined for other dtypes. */
const integerReader = (dtype: SafetensorsDtype, v: DataView): ((i: number) => number | bigint) | undefined => {
  switch (dtype) {
    case "I64":
      return (i) => v.getBigInt64(8 * i, true)
    case "U64":
      return (i) => v.getBigUint64(8 * i, true)
    case "I32":
      return (i) => v.getInt32(4 * i, true)
    case "U32":
      return (i) => v.getUint32(4 * i, true)
    case "I16":
      return (i) => v.getInt16(2 * i, true)
    case "U16":
      return (i) => v.getUint16(2 * i, true)
    case "I8":
      return (i) => v.getInt8(i)
    case "U8":
      return (i) => v.getUint8(i)
    default:
      return undefined
  }
}

/**
 * The tensor's values as int32: `Result.succeed` with the values, `Result.fail` with a
 * reason when the dtype is not an integer type or a value lies outside the int32 range
 * (PyTorch writes its counters, e.g. `num_batches_tracked`, as `I64`).
 */
export const toInt32 = (t: RawTensor): Result.Result<Int32Array, string> => {
  const n = count(t.shape)
  const v = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength)
  const out = new Int32Array(n)
  const read = integerReader(t.dtype, v)
  if (read === undefined) return Result.fail(`dtype ${t.dtype} is not an integer type`)
  for (let i = 0; i < n; i++) {
    const x = read(i)
    const value = typeof x === "bigint" ? (x >= -2147483648n && x <= 2147483647n ? Number(x) : undefined) : x
    if (value === undefined || value < -2147483648 || value > 2147483647) {
      return Result.fail(`value ${String(x)} at index ${i} does not fit in int32`)
    }
    out[i] = value
  }
  return Result.succeed(out)
}
