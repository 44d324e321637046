import { Effect, Stream } from "effect"
import { batchCount, lastBatchSize } from "./batching.ts"
import type { Dataset } from "./dataset.ts"
import { DataError } from "./errors.ts"
import { MNIST_STATS, normalizationTable, normalizeGather, type NormalizationStats } from "./normalize.ts"
import { epochSeed, permutation } from "./shuffle.ts"

/**
 * One batch of a {@link loader} stream.
 *
 * - `index`: the batch's position in the epoch, from 0.
 * - `size`: samples in the batch (`batchSize`, or fewer for a kept last batch).
 * - `x`: `size * features` float32 values, sample-major (`[size, features]`), normalised
 *   to `((p / 255) - mean) / std`.
 * - `y`: `size` class labels.
 * - `indices`: `size` dataset indices of the samples, in batch order.
 *
 * Each batch owns fresh arrays: holding on to one is safe.
 */
export interface Batch {
  readonly index: number
  readonly size: number
  readonly x: Float32Array
  readonly y: Int32Array
  readonly indices: Int32Array
}

/**
 * Options of {@link loader}.
 *
 * - `batchSize`: samples per batch, a positive integer.
 * - `shuffle`: visit samples in a random order (else in dataset order).
 * - `seed`, `epoch`: integers that fix the order: the permutation is
 *   `permutation(count, epochSeed(seed, epoch))`, the same for the same pair on every
 *   run and machine; ignored when `shuffle` is false.
 * - `dropLast`: drop a final partial batch (as PyTorch's `drop_last`).
 * - `stats`: normalisation mean and std (default MNIST's, 0.1307 / 0.3081).
 * - `images`: build `x` (default true). `false` leaves `x` empty (length 0): for a
 *   training set that lives on the device and is gathered there from `indices`.
 * - `warnSingleSample`: log the single-sample last batch warning (default true); a
 *   training run passes false after its first epoch, so the warning is said once.
 */
export interface LoaderOptions {
  readonly batchSize: number
  readonly shuffle: boolean
  readonly seed: number
  readonly epoch: number
  readonly dropLast: boolean
  readonly stats?: NormalizationStats
  readonly images?: boolean
  readonly warnSingleSample?: boolean
}

const LOADER = "loader"

const validate = (dataset: Dataset, options: LoaderOptions): string | undefined => {
  const { count, features, images, labels } = dataset
  if (!Number.isInteger(count) || count < 0) return `dataset count must be a non-negative integer, got ${count}`
  if (!Number.isInteger(features) || features < 1) return `features must be a positive integer, got ${features}`
  if (images.length < count * features) {
    return `images hold ${images.length} bytes, need count x features = ${count} x ${features} = ${count * features}`
  }
  if (labels.length < count) return `labels hold ${labels.length} entries, need ${count}`
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    return `batchSize must be a positive integer, got ${options.batchSize}`
  }
  if (!Number.isSafeInteger(options.seed)) return `seed must be an integer, got ${options.seed}`
  if (!Number.isSafeInteger(options.epoch) || options.epoch < 0) {
    return `epoch must be a non-negative integer, got ${options.epoch}`
  }
  const stats = options.stats ?? MNIST_STATS
  if (!Number.isFinite(stats.mean) || !Number.isFinite(stats.std) || stats.std <= 0) {
    return `normalisation needs a finite mean and a positive std, got ${stats.mean} and ${stats.std}`
  }
  return undefined
}

/**
 * One epoch of a dataset as a lazy stream of normalised batches, as PyTorch's
 * `DataLoader(dataset, batch_size, shuffle, drop_last)` with `ToTensor()` +
 * `Normalize(mean, std)`.
 *
 * Batches are built one at a time as the stream is pulled (only one batch's
 * `Float32Array` is made per pull; a whole normalised MNIST epoch would be 188 MB).
 * The order is computed when the stream starts; running the stream twice gives the
 * same batches. The epoch has {@link batchCount}`(count, batchSize, dropLast)` batches;
 * the last one's size is {@link lastBatchSize} (which may be 1 when `dropLast` is false).
 *
 * @param dataset samples of `features` bytes and their labels (only the first `count`
 *   of each are used).
 * @param options see {@link LoaderOptions}.
 * @returns a `Stream` of {@link Batch}.
 * @errors `DataError` with `file: "loader"` when the options are invalid (non-integer or
 *   non-positive `batchSize`, non-integer `seed`, negative `epoch`, bad stats) or the
 *   dataset's arrays are shorter than `count` declares.
 */
export const loader = (dataset: Dataset, options: LoaderOptions): Stream.Stream<Batch, DataError> =>
  Stream.suspend(() => {
    const problem = validate(dataset, options)
    if (problem !== undefined) return Stream.fail(new DataError({ file: LOADER, reason: problem }))
    const { count, features, images, labels } = dataset
    const { batchSize, dropLast } = options
    const order = options.shuffle ? permutation(count, epochSeed(options.seed, options.epoch)) : undefined
    const table = normalizationTable(options.stats ?? MNIST_STATS)
    const batches = batchCount(count, batchSize, dropLast)

    const makeBatch = (index: number): Batch => {
      const begin = index * batchSize
      const size = Math.min(batchSize, count - begin)
      const indices = new Int32Array(size)
      const y = new Int32Array(size)
      for (let k = 0; k < size; k++) {
        const sample = order === undefined ? begin + k : order[begin + k]
        indices[k] = sample
        y[k] = labels[sample]
      }
      const x = options.images === false ? new Float32Array(0) : normalizeGather(images, indices, features, undefined, table)
      return { index, size, x, y, indices }
    }

    const batchesStream = Stream.unfold(0, (index) =>
      Effect.sync(() => index < batches ? [makeBatch(index), index + 1] as const : undefined))
    // A last batch of one sample breaks batch statistics (BatchNorm in train mode): say so.
    return lastBatchSize(count, batchSize, dropLast) === 1 && batches > 0 && options.warnSingleSample !== false
      ? Stream.concat(
        Stream.fromEffect(Effect.logWarning(singleSampleWarning(count, batchSize))).pipe(Stream.drain),
        batchesStream
      )
      : batchesStream
  })

/** The warning a loader logs when its last batch holds one sample. */
export const singleSampleWarning = (count: number, batchSize: number): string =>
  `loader: the last batch holds a single sample (${count} samples, batch size ${batchSize}); ` +
  `batch statistics (BatchNorm in train mode) cannot be computed from it — pass dropLast: true to drop it`
