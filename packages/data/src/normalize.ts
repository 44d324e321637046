import { MNIST_MEAN, MNIST_STD } from "./mnist-constants.ts"

/**
 * Mean and standard deviation for {@link normalizationTable}, in units of the [0, 1]
 * scaled pixel (as torchvision's `Normalize` after `ToTensor`).
 */
export interface NormalizationStats {
  readonly mean: number
  readonly std: number
}

/** MNIST's statistics: mean 0.1307, std 0.3081 (see {@link MNIST_MEAN}). */
export const MNIST_STATS: NormalizationStats = { mean: MNIST_MEAN, std: MNIST_STD }

/**
 * A 256-entry lookup table mapping a byte `p` to `((p / 255) - mean) / std` in float32.
 *
 * Each step is rounded to float32 as torchvision's `ToTensor()` (`img.float().div(255)`)
 * followed by `Normalize(mean, std)` (`sub_(mean).div_(std)` on float32 tensors) does,
 * so the values equal PyTorch's bit for bit.
 *
 * @throws RangeError when `std` is not a finite positive number or `mean` is not finite.
 */
export const normalizationTable = (stats: NormalizationStats = MNIST_STATS): Float32Array => {
  if (!Number.isFinite(stats.mean) || !Number.isFinite(stats.std) || stats.std <= 0) {
    throw new RangeError(`normalizationTable: need a finite mean and a positive std, got ${stats.mean}, ${stats.std}`)
  }
  const mean = Math.fround(stats.mean)
  const std = Math.fround(stats.std)
  const table = new Float32Array(256)
  for (let p = 0; p < 256; p++) {
    table[p] = Math.fround(Math.fround(Math.fround(p / 255) - mean) / std)
  }
  return table
}

const mnistTable = normalizationTable(MNIST_STATS)

const checkOut = (out: Float32Array | undefined, length: number, op: string): Float32Array => {
  if (out === undefined) return new Float32Array(length)
  if (out.length < length) {
    throw new RangeError(`${op}: out holds ${out.length} floats, need ${length}`)
  }
  return out.length === length ? out : out.subarray(0, length)
}

/**
 * Normalises `count` consecutive samples of `features` bytes each, starting at sample
 * `start`, to float32 `((p / 255) - mean) / std` (MNIST's mean and std unless `table`
 * is given; build other tables with {@link normalizationTable}).
 *
 * @param pixels samples laid out one after another, `features` bytes each.
 * @param start first sample (a sample index, not a byte offset).
 * @param count number of samples.
 * @param features bytes per sample (MNIST: 784).
 * @param out optional destination of at least `count * features` floats; reused when given.
 * @param table optional 256-entry lookup table (default: MNIST's).
 * @returns `count * features` floats, sample-major (`[count, features]`): `out` itself, or
 *   its first `count * features` floats, or a new array.
 * @throws RangeError when the range lies outside `pixels` or `out` is too small
 *   (a programming error, not a data error).
 */
export const normalizeImages = (
  pixels: Uint8Array,
  start: number,
  count: number,
  features: number,
  out?: Float32Array,
  table: Float32Array = mnistTable
): Float32Array => {
  const begin = start * features
  const length = count * features
  if (!Number.isInteger(begin) || !Number.isInteger(length) || begin < 0 || length < 0 || begin + length > pixels.length) {
    throw new RangeError(
      `normalizeImages: samples [${start}, ${start + count}) of ${features} bytes lie outside ${pixels.length} bytes`
    )
  }
  const target = checkOut(out, length, "normalizeImages")
  for (let i = 0; i < length; i++) {
    target[i] = table[pixels[begin + i]]
  }
  return target
}

/**
 * Normalises the samples at `indices` (in that order) into one contiguous batch, as
 * {@link normalizeImages} does for a consecutive range. This is the gather a shuffled
 * loader needs.
 *
 * @param pixels samples laid out one after another, `features` bytes each.
 * @param indices sample indices, each in `[0, pixels.length / features)`.
 * @param features bytes per sample.
 * @param out optional destination of at least `indices.length * features` floats.
 * @param table optional 256-entry lookup table (default: MNIST's).
 * @returns `indices.length * features` floats, sample-major (`[indices.length, features]`).
 * @throws RangeError when an index lies outside `pixels` or `out` is too small.
 */
export const normalizeGather = (
  pixels: Uint8Array,
  indices: ArrayLike<number>,
  features: number,
  out?: Float32Array,
  table: Float32Array = mnistTable
): Float32Array => {
  const samples = Math.floor(pixels.length / features)
  const target = checkOut(out, indices.length * features, "normalizeGather")
  for (let k = 0; k < indices.length; k++) {
    const index = indices[k]
    if (!Number.isInteger(index) || index < 0 || index >= samples) {
      throw new RangeError(`normalizeGather: sample index ${index} outside [0, ${samples})`)
    }
    const src = index * features
    const dst = k * features
    for (let j = 0; j < features; j++) {
      target[dst + j] = table[pixels[src + j]]
    }
  }
  return target
}
