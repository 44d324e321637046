/**
 * An in-memory dataset of fixed-size unsigned-byte samples with integer class labels.
 *
 * - `count`: number of samples.
 * - `features`: bytes per sample (MNIST: 28 × 28 = 784).
 * - `images`: `count * features` bytes, sample after sample (`images[i * features + j]`),
 *   raw values 0–255.
 * - `labels`: `count` class indices, one byte each.
 *
 * The arrays may be views into a larger buffer (e.g. the file they were read from);
 * treat them as read-only.
 */
export interface Dataset<Features extends number = number> {
  readonly count: number
  readonly features: Features
  readonly images: Uint8Array
  readonly labels: Uint8Array
}
