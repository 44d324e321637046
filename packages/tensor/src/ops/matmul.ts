/** Matrix products and the affine map of a `Linear` layer, with gradients. */
import type { Shape } from "@effect-nn/shape"
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { MatmulSpec } from "../backend.ts"
import type { Tensor } from "../tensor.ts"
import type { F32 } from "./record.ts"
import { assertFloat, deviceOf, result, retype } from "./record.ts"
import { reshape, sumToShape } from "./shape-ops.ts"

const mm = (a: F32, b: F32, spec: MatmulSpec): F32 => {
  const device = deviceOf("matmul", a, b)
  return result(device, device.backend.matmul(a.storage, b.storage, spec), [spec.m, spec.n], "float32", [a, b], (g, [needA, needB]) => [
    // C = op(A)·op(B). dA = g·op(B)ᵀ (stored in A's layout), dB = op(A)ᵀ·g (in B's layout).
    !needA
      ? undefined
      : spec.transA
        ? mm(b, g, { m: spec.k, k: spec.n, n: spec.m, transA: spec.transB, transB: true })
        : mm(g, b, { m: spec.m, k: spec.n, n: spec.k, transA: false, transB: !spec.transB }),
    !needB
      ? undefined
      : spec.transB
        ? mm(g, a, { m: spec.n, k: spec.m, n: spec.k, transA: true, transB: spec.transA })
        : mm(a, g, { m: spec.k, k: spec.m, n: spec.n, transA: !spec.transA, transB: false })
  ])
}

/**
 * [M, K] · [K, N] → [M, N]. Throws `ShapeError` naming both shapes when the inner
 * dims differ.
 */
export const matmul = <M, K, N>(a: Tensor<[M, K]>, b: Tensor<[K, N]>): Tensor<[M, N]> => {
  const x = assertFloat("matmul", a)
  const y = assertFloat("matmul", b)
  if (x.dims.length !== 2 || y.dims.length !== 2 || x.dims[1] !== y.dims[0]) {
    throw new ShapeError({ op: "matmul", reason: `shapes ${formatShape(x.dims)} and ${formatShape(y.dims)} cannot be multiplied (expects [M, K] · [K, N])`, shapes: [x.dims, y.dims] })
  }
  return retype(mm(x, y, { m: x.dims[0]!, k: x.dims[1]!, n: y.dims[1]!, transA: false, transB: false }))
}

/**
 * x · Wᵀ + b, PyTorch's `F.linear`: x [..., in], weight [out, in], bias [out] →
 * [..., out]. `where` names the layer in errors (its path in the network). One fused
 * kernel (`Backend.linear`: the bias is added as the product is stored); the backward
 * computes dW and db in one pass (`Backend.matmulRowSums`) and dx = g·W.
 */
export const linear = <Pre extends Array<number>, I, O>(
  x: Tensor<[...Pre, I]>,
  weight: Tensor<[O, I]>,
  bias?: Tensor<[O]>,
  where = "linear"
): Tensor<[...Pre, O]> => {
  const input = assertFloat(where, x)
  const w = assertFloat(where, weight)
  const dims = input.dims
  const [outF, inF] = w.dims as [number, number]
  if (dims.length < 1 || dims[dims.length - 1] !== inF) {
    throw new ShapeError({
      op: where,
      reason: `expects input [..., ${inF}] (in_features ${inF}), got ${formatShape(dims)}`,
      shapes: [dims, w.dims]
    })
  }
  const lead: Shape = dims.slice(0, -1)
  const rows = lead.reduce((p, d) => p * d, 1)
  const x2 = dims.length === 2 ? input : reshape(input, [rows, inF])
  const b = bias === undefined ? undefined : assertFloat(where, bias)
  if (b !== undefined && (b.dims.length !== 1 || b.dims[0] !== outF)) {
    throw new ShapeError({ op: where, reason: `bias must be [${outF}], got ${formatShape(b.dims)}`, shapes: [b.dims] })
  }
  const device = b === undefined ? deviceOf(where, x2, w) : deviceOf(where, x2, w, b)
  const storage = device.backend.linear(x2.storage, w.storage, b?.storage, { rows, inFeatures: inF, outFeatures: outF, relu: false })
  const inputs: Array<F32> = b === undefined ? [x2, w] : [x2, w, b]
  const y = result(device, storage, [rows, outF], "float32", inputs, (g, [needX, needW, needB]) => {
    // dx = g·W; dW = gᵀ·x and db = Σ_rows g from one pass over g and x (that kernel's
    // results are not recorded for differentiation, like log-softmax's backward).
    const dx = needX ? mm(g, w, { m: rows, k: outF, n: inF, transA: false, transB: false }) : undefined
    const wSpec = { m: outF, k: rows, n: inF, transA: true, transB: false }
    if (needW && needB === true) {
      const [dw, db] = device.backend.matmulRowSums(g.storage, x2.storage, wSpec)
      return [dx, result(device, dw, [outF, inF], "float32", []), result(device, db, [outF], "float32", [])]
    }
    return [dx, needW ? mm(g, x2, wSpec) : undefined, needB === true ? sumToShape(g, [outF]) : undefined]
  })
  return retype(dims.length === 2 ? y : reshape(y, [...lead, outF]))
}
