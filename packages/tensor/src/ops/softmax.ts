/** Log-softmax and cross-entropy from logits. */
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { Tensor } from "../tensor.ts"
import type { F32 } from "./record.ts"
import { assertFloat, deviceOf, result, retype } from "./record.ts"

/**
 * log(softmax(x)) along the last dim, computed as x − max − log Σ exp(x − max), so it
 * is finite for any finite input (1e8 included). Source: PyTorch `F.log_softmax`.
 */
export const logSoftmax = <S>(a: Tensor<S>): Tensor<S> => {
  const x = assertFloat("logSoftmax", a)
  const dims = x.dims
  if (dims.length < 1) throw new ShapeError({ op: "logSoftmax", reason: "needs at least one dim", shapes: [dims] })
  const cols = dims[dims.length - 1]!
  const rows = x.numel / Math.max(cols, 1)
  const device = deviceOf("logSoftmax", x)
  let y: F32
  y = result(device, device.backend.logSoftmax(x.storage, rows, cols), dims, "float32", [x], (g) => [
    result(device, device.backend.logSoftmaxBackward(y.storage, g.storage, rows, cols), dims, "float32", [])
  ])
  return retype(y)
}

/** out[r] = a[r, index[r]]: [N, C] and int32 [N] → [N]. */
export const pick = <N, C>(a: Tensor<[N, C]>, index: Tensor<[N], "int32">): Tensor<[N]> => {
  const x = assertFloat("pick", a)
  const [rows, cols] = x.dims as [number, number]
  if (x.dims.length !== 2 || index.dims.length !== 1 || index.dims[0] !== rows) {
    throw new ShapeError({ op: "pick", reason: `expects [N, C] and [N], got ${formatShape(x.dims)} and ${formatShape(index.dims)}`, shapes: [x.dims, index.dims] })
  }
  if (index.dtype !== "int32") throw new ShapeError({ op: "pick", reason: "class indices must be int32", shapes: [index.dims] })
  const device = deviceOf("pick", x, index)
  return retype(result(device, device.backend.pick(x.storage, index.storage, rows, cols), [rows], "float32", [x], (g) => [
    result(device, device.backend.pickBackward(g.storage, index.storage, rows, cols), [rows, cols], "float32", [])
  ]))
}

/**
 * Cross-entropy of logits [N, C] against int32 class indices [N], mean over the batch:
 * −(1/V) Σ_{n: 0 ≤ yₙ < C} log_softmax(x)[n, yₙ], V the number of such rows. Takes
 * logits, never probabilities. A row whose index is outside [0, C) is ignored (no loss,
 * no gradient, not counted in V), as PyTorch ignores `ignore_index` (−100 by default);
 * PyTorch raises for other out-of-range indices, which would need a read back here. With
 * no row counted the loss is NaN, as PyTorch's. Source: PyTorch `nn.CrossEntropyLoss`
 * (reduction "mean", no weights).
 */
export const crossEntropy = <N, C>(logits: Tensor<[N, C]>, targets: Tensor<[N], "int32">): Tensor<[]> => {
  const x = assertFloat("crossEntropy", logits)
  if (x.dims.length !== 2 || targets.dims.length !== 1 || targets.dims[0] !== x.dims[0]) {
    throw new ShapeError({
      op: "crossEntropy",
      reason: `expects logits [N, C] and targets [N], got ${formatShape(x.dims)} and ${formatShape(targets.dims)}`,
      shapes: [x.dims, targets.dims]
    })
  }
  if (targets.dtype !== "int32") throw new ShapeError({ op: "crossEntropy", reason: "class indices must be int32", shapes: [targets.dims] })
  const [rows, cols] = x.dims as [number, number]
  const device = deviceOf("crossEntropy", x, targets)
  // One kernel forward (it keeps each row's max and log-sum-exp), one backward: the same value as
  // −mean(pick(logSoftmax(x), targets)) in 2 dispatches instead of about 12.
  const [loss, stats] = device.backend.crossEntropy(x.storage, targets.storage, rows, cols)
  const rowStats = result(device, stats, [2 * rows + 1], "float32", [])
  return retype(result(device, loss, [], "float32", [x], (g) => [
    result(device, device.backend.crossEntropyBackward(x.storage, rowStats.storage, targets.storage, g.storage, rows, cols), [rows, cols], "float32", [])
  ]))
}
