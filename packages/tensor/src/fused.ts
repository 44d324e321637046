/**
 * Geometry and results of the fused `Backend` kernels: ops that do in one pass over
 * memory what the composed ops do in several (a linear layer with its bias and ReLU, the
 * weight and bias gradients of a linear layer, cross-entropy from logits, batch norm
 * with its statistics and running averages, dropout, gathering a batch from a resident
 * dataset). The CPU backend implements each of them as the reference; the ops in
 * `ops/` use them and define their gradients.
 */
import type { Storage } from "./backend.ts"

/** Geometry of `Backend.linear`: y = act(x·Wᵀ + b) for x [rows, inFeatures], W [outFeatures, inFeatures]. */
export interface LinearSpec {
  readonly rows: number
  readonly inFeatures: number
  readonly outFeatures: number
  /** Apply ReLU to the result: y = max(x·Wᵀ + b, 0), NaN kept NaN (as `torch.relu`). */
  readonly relu: boolean
}

/** Geometry of the batch-norm kernels: per-column statistics of a [rows, cols] input. */
export interface BatchNormSpec {
  readonly rows: number
  readonly cols: number
  /** Added to the variance before the square root. */
  readonly eps: number
}

/** Running statistics a train-mode batch norm updates (PyTorch's buffers). */
export interface BatchNormRunning {
  /** running_mean [cols]. */
  readonly mean: Storage
  /** running_var [cols] (unbiased). */
  readonly variance: Storage
  /** num_batches_tracked, int32 [1]. */
  readonly count: Storage
  /** running ← (1 − momentum)·running + momentum·batch. */
  readonly momentum: number
}

/** What `Backend.batchNormTrain` returns. */
export interface BatchNormTrainResult {
  /** y = (x − μ)·γ/√(σ² + eps) + β, [rows, cols]. */
  readonly output: Storage
  /** The batch mean μ [cols]. */
  readonly mean: Storage
  /** 1/√(σ² + eps) [cols], σ² the biased batch variance. */
  readonly invStd: Storage
  /** The updated running statistics, when `running` was given. */
  readonly running?: {
    readonly mean: Storage
    readonly variance: Storage
    readonly count: Storage
  }
}
