const checkArgs = (n: number, batchSize: number, op: string): void => {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${op}: n must be a non-negative integer, got ${n}`)
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`${op}: batchSize must be a positive integer, got ${batchSize}`)
  }
}

/**
 * Number of batches an epoch of `n` samples gives: `ceil(n / batchSize)`, or
 * `floor(n / batchSize)` when `dropLast` drops a final partial batch (as PyTorch's
 * `DataLoader(drop_last=...)`). E.g. 60,000 / 64 → 938, or 937 with `dropLast`.
 *
 * @throws RangeError when `n` is not a non-negative integer or `batchSize` not a positive one.
 */
export const batchCount = (n: number, batchSize: number, dropLast: boolean): number => {
  checkArgs(n, batchSize, "batchCount")
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize)
}

/**
 * Size of the last batch of an epoch of `n` samples; 0 when there are no batches.
 * E.g. 60,000 / 64 → 32 (or 64 with `dropLast`).
 *
 * A result of 1 with `dropLast` false warns of a one-sample batch, which a train-mode
 * batch normalisation cannot use (PyTorch raises "Expected more than 1 value per
 * channel when training"); callers can then choose `dropLast` or another batch size.
 *
 * @throws RangeError as {@link batchCount}.
 */
export const lastBatchSize = (n: number, batchSize: number, dropLast: boolean): number => {
  checkArgs(n, batchSize, "lastBatchSize")
  if (dropLast) return n >= batchSize ? batchSize : 0
  if (n === 0) return 0
  const rest = n % batchSize
  return rest === 0 ? batchSize : rest
}
