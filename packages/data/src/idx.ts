import { Effect } from "effect"
import { DataError } from "./errors.ts"
import { readBytes } from "./read-file.ts"

/**
 * Magic number of an IDX file of unsigned bytes with 3 dimensions (images):
 * bytes `00 00 08 03`. Source: the IDX format description at
 * http://yann.lecun.com/exdb/mnist/ ("THE IDX FILE FORMAT").
 */
export const IDX_IMAGES_MAGIC = 0x00000803

/** Magic number of an IDX file of unsigned bytes with 1 dimension (labels): `00 00 08 01`. */
export const IDX_LABELS_MAGIC = 0x00000801

/** Header length in bytes of an IDX images file: magic, count, rows, cols (4 × u32 big-endian). */
export const IDX_IMAGES_HEADER_BYTES = 16

/** Header length in bytes of an IDX labels file: magic, count (2 × u32 big-endian). */
export const IDX_LABELS_HEADER_BYTES = 8

/**
 * The contents of an IDX images file.
 *
 * `pixels` holds `count * rows * cols` bytes, image after image, each row-major
 * (`pixels[(i * rows + r) * cols + c]`), values 0–255 as stored (MNIST: 0 background,
 * 255 ink). It is a view into the bytes that were parsed, not a copy.
 */
export interface IdxImages {
  readonly count: number
  readonly rows: number
  readonly cols: number
  readonly pixels: Uint8Array
}

/**
 * The contents of an IDX labels file: `count` labels, one byte each (MNIST: 0–9),
 * as a view into the parsed bytes.
 */
export interface IdxLabels {
  readonly count: number
  readonly labels: Uint8Array
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, "0")}`

const describeMagic = (magic: number): string =>
  magic === IDX_IMAGES_MAGIC
    ? " (an IDX images file)"
    : magic === IDX_LABELS_MAGIC
    ? " (an IDX labels file)"
    : ""

const view = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** Checks the header length and magic number shared by both kinds of IDX file. */
const checkHeader = (
  bytes: Uint8Array,
  file: string,
  headerBytes: number,
  expectedMagic: number,
  kind: string
): Effect.Effect<DataView, DataError> =>
  Effect.gen(function*() {
    if (bytes.byteLength < headerBytes) {
      return yield* new DataError({
        file,
        reason: `IDX ${kind} header needs ${headerBytes} bytes, file has ${bytes.byteLength}`
      })
    }
    const dv = view(bytes)
    const magic = dv.getUint32(0, false)
    if (magic !== expectedMagic) {
      return yield* new DataError({
        file,
        reason: `bad magic number ${hex(magic)}${describeMagic(magic)}, expected ${
          hex(expectedMagic)
        } (IDX ${kind}, unsigned bytes)`
      })
    }
    return dv
  })

/** Checks that the file holds exactly the bytes its header declares. */
const checkLength = (
  bytes: Uint8Array,
  file: string,
  expected: number,
  layout: string
): Effect.Effect<void, DataError> =>
  bytes.byteLength === expected
    ? Effect.void
    : Effect.fail(
      new DataError({
        file,
        reason: `${
          bytes.byteLength < expected ? "truncated" : "trailing bytes"
        }: header declares ${layout} = ${expected} bytes, file has ${bytes.byteLength} bytes`
      })
    )

/**
 * Parses the bytes of an IDX images file (magic `0x00000803`; u32 big-endian count,
 * rows, cols; then `count * rows * cols` unsigned bytes).
 *
 * @param bytes the whole file.
 * @param file the name to put in errors (normally the path).
 * @returns an Effect of {@link IdxImages}; `pixels` is a view into `bytes` (no copy).
 * @errors `DataError` when the file is shorter than the 16-byte header, the magic number
 *   is not `0x00000803`, rows or cols is 0, or the length is not exactly
 *   `16 + count * rows * cols` (the reason gives expected and actual byte lengths).
 */
export const parseIdxImages = (bytes: Uint8Array, file: string): Effect.Effect<IdxImages, DataError> =>
  Effect.gen(function*() {
    const dv = yield* checkHeader(bytes, file, IDX_IMAGES_HEADER_BYTES, IDX_IMAGES_MAGIC, "images")
    const count = dv.getUint32(4, false)
    const rows = dv.getUint32(8, false)
    const cols = dv.getUint32(12, false)
    if (rows === 0 || cols === 0) {
      return yield* new DataError({ file, reason: `image size must be positive, header declares ${rows}x${cols}` })
    }
    const size = count * rows * cols
    yield* checkLength(
      bytes,
      file,
      IDX_IMAGES_HEADER_BYTES + size,
      `${IDX_IMAGES_HEADER_BYTES} + ${count} images x ${rows} x ${cols}`
    )
    return { count, rows, cols, pixels: bytes.subarray(IDX_IMAGES_HEADER_BYTES, IDX_IMAGES_HEADER_BYTES + size) }
  })

/**
 * Parses the bytes of an IDX labels file (magic `0x00000801`; u32 big-endian count; then
 * `count` unsigned bytes).
 *
 * @param bytes the whole file.
 * @param file the name to put in errors (normally the path).
 * @returns an Effect of {@link IdxLabels}; `labels` is a view into `bytes` (no copy).
 * @errors `DataError` when the file is shorter than the 8-byte header, the magic number is
 *   not `0x00000801`, or the length is not exactly `8 + count` (the reason gives expected
 *   and actual byte lengths).
 */
export const parseIdxLabels = (bytes: Uint8Array, file: string): Effect.Effect<IdxLabels, DataError> =>
  Effect.gen(function*() {
    const dv = yield* checkHeader(bytes, file, IDX_LABELS_HEADER_BYTES, IDX_LABELS_MAGIC, "labels")
    const count = dv.getUint32(4, false)
    yield* checkLength(bytes, file, IDX_LABELS_HEADER_BYTES + count, `${IDX_LABELS_HEADER_BYTES} + ${count} labels`)
    return { count, labels: bytes.subarray(IDX_LABELS_HEADER_BYTES, IDX_LABELS_HEADER_BYTES + count) }
  })

/**
 * Reads and parses an IDX images file. See {@link parseIdxImages} for the format.
 *
 * @param path a file system path.
 * @errors `DataError` naming `path`: unreadable file, or any check of {@link parseIdxImages}.
 */
export const readIdxImages = (path: string): Effect.Effect<IdxImages, DataError> =>
  Effect.flatMap(readBytes(path), (bytes) => parseIdxImages(bytes, path))

/**
 * Reads and parses an IDX labels file. See {@link parseIdxLabels} for the format.
 *
 * @param path a file system path.
 * @errors `DataError` naming `path`: unreadable file, or any check of {@link parseIdxLabels}.
 */
export const readIdxLabels = (path: string): Effect.Effect<IdxLabels, DataError> =>
  Effect.flatMap(readBytes(path), (bytes) => parseIdxLabels(bytes, path))
