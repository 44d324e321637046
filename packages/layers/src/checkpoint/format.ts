/**
 * The safetensors format: its dtypes, its header as an Effect `Schema`, and its limits.
 *
 * Layout (https://github.com/huggingface/safetensors#format, "Format"):
 * - 8 bytes: N, an unsigned little-endian 64-bit integer, the size of the header;
 * - N bytes: a UTF-8 JSON object that starts with `{` and may be padded at the end with
 *   spaces (0x20): `{"TENSOR_NAME": {"dtype": "F16", "shape": [1, 16, 256],
 *   "data_offsets": [BEGIN, END]}, …}` plus an optional `"__metadata__"` that maps strings
 *   to strings (no other JSON is allowed there);
 * - the rest of the file: the byte buffer. `data_offsets` are relative to its start,
 *   END is one past the last byte, so a tensor holds END − BEGIN bytes.
 *
 * Rules of the same document that the reader enforces: duplicate keys are not allowed;
 * the buffer must be entirely indexed, with no holes (which rules out polyglot files);
 * tensors are little-endian and row-major (C order); empty tensors (a dim of 0) and
 * scalars (shape `[]`) are valid. The reference implementation caps the header at
 * 100,000,000 bytes (`MAX_HEADER_SIZE` in safetensors/src/tensor.rs) and checks that each
 * tensor's byte count equals its element count times its dtype's size
 * (`SafeTensorError::TensorInvalidInfo`); so do we.
 */
import { Result, Schema } from "effect"

/**
 * The dtypes of the safetensors format with their sizes in bytes (the `Dtype` enum of
 * safetensors/src/tensor.rs; the sub-byte and 8-bit float types added later are not
 * listed, so files using them are refused with "unknown dtype").
 */
export const dtypeSizes = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8
} as const

/** A safetensors dtype name (`F32`, `I64`, …). */
export type SafetensorsDtype = keyof typeof dtypeSizes

/** Every known dtype name, in the order above. */
export const dtypeNames = Object.keys(dtypeSizes) as ReadonlyArray<SafetensorsDtype>

/** The special header key that holds free-form string metadata. */
export const metadataKey = "__metadata__"

/**
 * The largest header accepted, in bytes: the reference implementation's
 * `MAX_HEADER_SIZE` (100,000,000).
 */
export const maxHeaderBytes = 100_000_000

/**
 * The metadata entry naming this library's layout version (written by every
 * effect-nn file beside PyTorch's `"format": "pt"`).
 * - Version 1: float32 parameters and buffers as `F32`, integer buffers as `I64`, keys as
 *   PyTorch's `state_dict`. A training checkpoint's optimiser state has one step count
 *   for all parameters (`effect_nn.optimizer.step` in `__metadata__`) and every
 *   parameter's tensors.
 * - Version 2: state dicts as in version 1. A training checkpoint's optimiser state is
 *   per parameter, as PyTorch's `optimizer.state`: each parameter's step count is the
 *   `I64` scalar `__optimizer__.step.<key>`, and a parameter never updated has no entries.
 * Training checkpoints of both versions are read; a state dict's version is not checked
 * (they did not change).
 */
export const formatVersionKey = "effect_nn.format_version"

/** The current value of `formatVersionKey`. */
export const formatVersion = "2"

const Offset = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** One tensor's header entry. Other fields are ignored, as the reference implementation does. */
export const SafetensorsTensorInfo = Schema.Struct({
  dtype: Schema.Literals(dtypeNames),
  /** Dims, outermost first; each a non-negative safe integer. */
  shape: Schema.Array(Offset),
  /** [BEGIN, END) within the byte buffer. */
  data_offsets: Schema.Tuple([Offset, Offset])
})

/** A decoded tensor header entry. */
export type SafetensorsTensorInfo = typeof SafetensorsTensorInfo.Type

/** `__metadata__`: strings to strings. */
export const SafetensorsMetadata = Schema.Record(Schema.String, Schema.String)

/** The header object: string keys, unknown values until each entry is checked by `SafetensorsTensorInfo` or `SafetensorsMetadata`. */
const HeaderObject = Schema.Record(Schema.String, Schema.Unknown)

/** A decoded header: the metadata and the tensor entries in the order they appear. */
export interface SafetensorsHeader {
  readonly metadata: Readonly<Record<string, string>>
  readonly tensors: ReadonlyArray<readonly [string, SafetensorsTensorInfo]>
}

const decodeObject = Schema.decodeUnknownResult(HeaderObject)
const decodeInfo = Schema.decodeUnknownResult(SafetensorsTensorInfo)
const decodeMetadata = Schema.decodeUnknownResult(SafetensorsMetadata)

/** A schema failure in one line, cut to a readable length (hostile headers can be huge). */
const brief = (text: string, max = 300): string => {
  const line = text.replace(/\s+/g, " ").trim()
  return line.length > max ? `${line.slice(0, max)}…` : line
}

/** A key as it may appear in a message: JSON-quoted and cut short. */
export const quoteKey = (key: string): string => brief(JSON.stringify(key), 120)

/**
 * Decodes a parsed header through the schemas above: `__metadata__` (optional) must map
 * strings to strings, every other entry must be a `SafetensorsTensorInfo`. Returns the header or a
 * reason naming the offending key. Offsets and sizes are checked by the reader, which
 * knows the buffer's length.
 */
export const decodeSafetensorsHeader = (json: unknown): Result.Result<SafetensorsHeader, string> => {
  const object = decodeObject(json)
  if (Result.isFailure(object)) return Result.fail(`the header is not a JSON object (${brief(object.failure.message)})`)
  let metadata: Readonly<Record<string, string>> = {}
  const tensors: Array<readonly [string, SafetensorsTensorInfo]> = []
  for (const [key, value] of Object.entries(object.success)) {
    if (key === metadataKey) {
      const decoded = decodeMetadata(value)
      if (Result.isFailure(decoded)) return Result.fail(`${metadataKey} must map strings to strings (${brief(decoded.failure.message)})`)
      metadata = decoded.success
      continue
    }
    const decoded = decodeInfo(value)
    if (Result.isFailure(decoded)) return Result.fail(`tensor ${quoteKey(key)}: ${brief(decoded.failure.message)}`)
    tensors.push([key, decoded.success])
  }
  return Result.succeed({ metadata, tensors })
}

/**
 * The first key that occurs twice in the top-level object of a JSON text, or undefined.
 * `JSON.parse` keeps the last of duplicate keys silently; the format forbids them. A
 * single linear scan that tracks strings and nesting depth (iterative: no recursion, so
 * no stack to exhaust); run on text `JSON.parse` has accepted.
 */
export const firstDuplicateKey = (text: string): string | undefined => {
  const seen = new Set<string>()
  let depth = 0
  let i = 0
  let expectKey = false
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      // A string: find its end, honouring backslash escapes.
      let j = i + 1
      while (j < n) {
        const d = text.charCodeAt(j)
        if (d === 0x5c) j += 2
        else if (d === 0x22) break
        else j++
      }
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string
        if (seen.has(key)) return key
        seen.add(key)
        expectKey = false
      }
      i = j + 1
      continue
    }
    if (c === 0x7b || c === 0x5b) {
      depth++
      if (depth === 1) expectKey = true
    } else if (c === 0x7d || c === 0x5d) {
      depth--
    } else if (c === 0x2c && depth === 1) {
      expectKey = true
    }
    i++
  }
  return undefined
}
