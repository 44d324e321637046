/**
 * Batch normalisation over the columns of [N, C] as fused ops: the train-mode forward
 * (batch statistics, optional affine, optional running statistics) and its gradient are
 * one kernel each (`Backend.batchNormTrain` / `batchNormBackward`), the eval-mode forward
 * one more (`batchNormEval`). Sources: Ioffe & Szegedy, "Batch Normalization" (ICML 2015);
 * PyTorch `F.batch_norm` (biased variance for normalising, unbiased for `running_var`).
 */
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { BatchNormRunning } from "../fused.ts"
import type { Tensor } from "../tensor.ts"
import type { F32 } from "./record.ts"
import { assertFloat, deviceOf, result, retype } from "./record.ts"

/** Running statistics for `batchNormTrain`: PyTorch's three buffers and the momentum. */
export interface BatchNormStats {
  readonly runningMean: Tensor<unknown>
  readonly runningVar: Tensor<unknown>
  readonly numBatchesTracked: Tensor<[], "int32">
  readonly momentum: number
}

/** What `batchNormTrain` returns: the output and, with running statistics, their new values. */
export interface BatchNormTrainOutput<S> {
  readonly output: Tensor<S>
  readonly running?: {
    readonly runningMean: Tensor<unknown>
    readonly runningVar: Tensor<unknown>
    readonly numBatchesTracked: Tensor<[], "int32">
  }
}

const check = (op: string, x: F32, params: ReadonlyArray<[string, Tensor<unknown> | undefined]>): readonly [number, number] => {
  const dims = x.dims
  if (dims.length !== 2) throw new ShapeError({ op, reason: `expects an input [N, C], got ${formatShape(dims)}`, shapes: [dims] })
  const [rows, cols] = dims as [number, number]
  for (const [name, t] of params) {
    if (t === undefined) continue
    if (t.dims.length !== 1 || t.dims[0] !== cols) throw new ShapeError({ op, reason: `${name} must be [${cols}], got ${formatShape(t.dims)}`, shapes: [t.dims, dims] })
    assertFloat(op, t)
  }
  return [rows, cols]
}

/**
 * Train-mode batch norm of x [N, C]: μ and the biased σ² of each column, y = (x − μ)/√(σ² +
 * eps)·weight + bias (weight and bias [C] optional). Differentiable in x, weight and bias
 * (through the batch statistics; the gradient kernel's results are not themselves
 * recorded). With `stats`, also returns the new running statistics (not differentiable):
 * (1 − m)·running_mean + m·μ, (1 − m)·running_var + m·σ²·N/(N − 1), num_batches_tracked + 1.
 * Throws `ShapeError` for an input that is not [N, C], parameters that are not [C], or
 * N < 2 (no variance).
 */
export const batchNormTrain = <S>(
  x: Tensor<S>,
  weight: Tensor<unknown> | undefined,
  bias: Tensor<unknown> | undefined,
  eps: number,
  stats?: BatchNormStats,
  where = "batchNorm"
): BatchNormTrainOutput<S> => {
  const input = assertFloat(where, x)
  const [rows, cols] = check(where, input, [["weight", weight], ["bias", bias], ["running_mean", stats?.runningMean], ["running_var", stats?.runningVar]])
  if (rows < 2) throw new ShapeError({ op: where, reason: `batch statistics need more than 1 value per channel, got input ${formatShape(input.dims)}`, shapes: [input.dims] })
  const w = weight === undefined ? undefined : assertFloat(where, weight)
  const b = bias === undefined ? undefined : assertFloat(where, bias)
  const tensors: Array<Tensor<unknown, "float32" | "int32">> = [input]
  if (w !== undefined) tensors.push(w)
  if (b !== undefined) tensors.push(b)
  if (stats !== undefined) tensors.push(stats.runningMean, stats.runningVar, stats.numBatchesTracked)
  const device = deviceOf(where, ...tensors)
  const spec = { rows, cols, eps }
  const running: BatchNormRunning | undefined = stats === undefined
    ? undefined
    : { mean: stats.runningMean.storage, variance: stats.runningVar.storage, count: stats.numBatchesTracked.storage, momentum: stats.momentum }
  const r = device.backend.batchNormTrain(input.storage, w?.storage, b?.storage, running, spec)
  const mean = result(device, r.mean, [cols], "float32", [])
  const invStd = result(device, r.invStd, [cols], "float32", [])
  const inputs: Array<F32> = [input]
  if (w !== undefined) inputs.push(w)
  if (b !== undefined) inputs.push(b)
  const output = result(device, r.output, [rows, cols], "float32", inputs, (g) => {
    const [dx, dw, db] = device.backend.batchNormBackward(g.storage, input.storage, mean.storage, invStd.storage, w?.storage, spec)
    const grads: Array<F32 | undefined> = [result(device, dx, [rows, cols], "float32", [])]
    if (w !== undefined) grads.push(dw === undefined ? undefined : result(device, dw, [cols], "float32", []))
    if (b !== undefined) {
      // Without a weight the kernel has no parameter gradients; a bias alone gets Σ_rows g.
      const bias = db !== undefined ? db : device.backend.reduceSum(g.storage, 1, rows, cols)
      grads.push(result(device, bias, [cols], "float32", []))
    }
    return grads
  })
  if (r.running === undefined || stats === undefined) return { output: retype(output) }
  return {
    output: retype(output),
    running: {
      runningMean: result(device, r.running.mean, stats.runningMean.dims, "float32", []),
      runningVar: result(device, r.running.variance, stats.runningVar.dims, "float32", []),
      numBatchesTracked: result(device, r.running.count, [] as [], "int32", [])
    }
  }
}

/**
 * Batch norm with given statistics (eval mode): y = (x − mean)/√(variance + eps)·weight +
 * bias per column of x [N, C]. One kernel; not differentiable (eval-mode forwards record
 * nothing; `BatchNorm1d` composes differentiable ops when an input is tracked).
 */
export const batchNormEval = <S>(
  x: Tensor<S>,
  mean: Tensor<unknown>,
  variance: Tensor<unknown>,
  weight: Tensor<unknown> | undefined,
  bias: Tensor<unknown> | undefined,
  eps: number,
  where = "batchNorm"
): Tensor<S> => {
  const input = assertFloat(where, x)
  const [rows, cols] = check(where, input, [["running_mean", mean], ["running_var", variance], ["weight", weight], ["bias", bias]])
  const tensors: Array<Tensor<unknown>> = [input, mean, variance]
  if (weight !== undefined) tensors.push(weight)
  if (bias !== undefined) tensors.push(bias)
  if (tensors.some((t) => t.tracked)) throw new ShapeError({ op: where, reason: "the fused eval-mode batch norm is not differentiable; compose it from ops", shapes: [input.dims] })
  const device = deviceOf(where, ...tensors)
  return retype(result(device, device.backend.batchNormEval(input.storage, mean.storage, variance.storage, weight?.storage, bias?.storage, { rows, cols, eps }), [rows, cols], "float32", []))
}
