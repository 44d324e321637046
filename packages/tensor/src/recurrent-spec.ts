/**
 * Geometry of the fused LSTM sequence kernels (`Backend.lstmSequence` and its backward).
 *
 * A batch of B sequences of T steps is held in row-major matrices of B·T rows, one row per
 * (sequence b, step t), at row `b·batchStride + t·stepStride`: batch-first data [B, T, ·]
 * has batchStride T and stepStride 1, time-major data [T, B, ·] has batchStride 1 and
 * stepStride B. The kernels read and write every per-step matrix in that one layout, so
 * neither layout needs a transpose.
 */

/** Sizes and row layout of one LSTM layer over a batch of sequences. */
export interface LstmSequenceSpec {
  /** Sequences (B ≥ 1). */
  readonly batch: number
  /** Steps per sequence (T ≥ 1). */
  readonly steps: number
  /** Hidden units (H ≥ 1); the gates are 4H wide. */
  readonly hidden: number
  /** Row distance between sequences b and b + 1 at the same step. */
  readonly batchStride: number
  /** Row distance between steps t and t + 1 of the same sequence. */
  readonly stepStride: number
}

/** The row of (sequence b, step t) under `spec`'s layout. */
export const lstmRow = (spec: LstmSequenceSpec, b: number, t: number): number => b * spec.batchStride + t * spec.stepStride
