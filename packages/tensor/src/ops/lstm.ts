/**
 * `lstmSequence`: one LSTM layer's recurrence over a whole batch of sequences as a single
 * differentiable op, on the backend's fused kernels (`Backend.lstmSequence` and its
 * backward). Composing the cell from element-wise ops costs some 60 kernels per step
 * with their backward passes; this op costs 2 per step forward (the recurrent matmul
 * and the fused cell) and 2 per step backward. Source: PyTorch `nn.LSTM` (equations,
 * gate order i, f, g, o); backpropagation through time as in Graves 2012, "Supervised
 * Sequence Labelling with Recurrent Neural Networks", ch. 4.
 */
import { ShapeError, formatShape, shapeEquals } from "@effect-nn/shape"
import type { LstmSequenceSpec } from "../recurrent-spec.ts"
import type { Tensor } from "../tensor.ts"
import type { F32 } from "./record.ts"
import { assertFloat, deviceOf, result, retype } from "./record.ts"

/**
 * The LSTM recurrence of one layer: `xw` [B·T, 4H] (the input projections xₜ·W_ihᵀ, one
 * row per (b, t) in `spec`'s layout), `whh` [4H, H], `bias` [4H] (b_ih + b_hh, added to
 * every row; none when undefined), and the initial state `h0`, `c0` [B, H] (zeros when
 * undefined) → [B·T, 2H] whose row for (b, t) is hₜ | cₜ. Gradients flow to `xw`,
 * `whh`, `bias`, `h0` and `c0`, from both halves of the output. Throws `ShapeError`
 * naming the shapes when they do not fit `spec`.
 */
export const lstmSequence = (
  xw: Tensor<unknown>,
  whh: Tensor<unknown>,
  bias: Tensor<unknown> | undefined,
  h0: Tensor<unknown> | undefined,
  c0: Tensor<unknown> | undefined,
  spec: LstmSequenceSpec
): Tensor<[number, number]> => {
  const x = assertFloat("lstm", xw)
  const w = assertFloat("lstm", whh)
  const bi = bias === undefined ? undefined : assertFloat("lstm", bias)
  const h = h0 === undefined ? undefined : assertFloat("lstm", h0)
  const c = c0 === undefined ? undefined : assertFloat("lstm", c0)
  const { batch: B, steps: T, hidden: H } = spec
  const rows = B * T
  const bad = (what: string, got: F32, want: ReadonlyArray<number>): never => {
    throw new ShapeError({ op: "lstm", reason: `${what} must be ${formatShape(want)} for ${B} sequences of ${T} steps and ${H} hidden units, got ${formatShape(got.dims)}`, shapes: [got.dims, want] })
  }
  if (!(B >= 1 && T >= 1 && H >= 1)) throw new ShapeError({ op: "lstm", reason: `needs at least one sequence, step and hidden unit, got batch ${B}, steps ${T}, hidden ${H}`, shapes: [] })
  if (!shapeEquals(x.dims, [rows, 4 * H])) bad("the input projections", x, [rows, 4 * H])
  if (!shapeEquals(w.dims, [4 * H, H])) bad("weight_hh", w, [4 * H, H])
  if (bi !== undefined && !shapeEquals(bi.dims, [4 * H])) bad("the bias", bi, [4 * H])
  if (h !== undefined && !shapeEquals(h.dims, [B, H])) bad("h0", h, [B, H])
  if (c !== undefined && !shapeEquals(c.dims, [B, H])) bad("c0", c, [B, H])
  const inputs: Array<F32> = [x, w]
  if (bi !== undefined) inputs.push(bi)
  if (h !== undefined) inputs.push(h)
  if (c !== undefined) inputs.push(c)
  const device = deviceOf("lstm", ...inputs)
  const backend = device.backend
  const [hcStorage, gatesStorage] = backend.lstmSequence(x.storage, w.storage, bi?.storage, h?.storage, c?.storage, spec)
  if (!inputs.some((t) => t.tracked)) {
    backend.release(gatesStorage)
    return retype(result(device, hcStorage, [rows, 2 * H], "float32", []))
  }
  // Kept for the backward pass; released with the op's arena.
  const gates = result(device, gatesStorage, [rows, 4 * H], "float32", [])
  let out: F32
  out = result(device, hcStorage, [rows, 2 * H], "float32", inputs, (g, needs) => {
    const [dxw, dwhh, dbias, dh0, dc0] = backend.lstmSequenceBackward(g.storage, w.storage, h?.storage, c?.storage, out.storage, gates.storage, spec)
    const keep = (storage: typeof dxw, need: boolean | undefined, dims: ReadonlyArray<number>): F32 | undefined => {
      if (need === true) return result(device, storage, [...dims], "float32", [])
      backend.release(storage)
      return undefined
    }
    const grads: Array<F32 | undefined> = [keep(dxw, needs[0], [rows, 4 * H]), keep(dwhh, needs[1], [4 * H, H])]
    let k = 2
    const gb = keep(dbias, bi !== undefined ? needs[k++] : false, [4 * H])
    const gh = keep(dh0, h !== undefined ? needs[k++] : false, [B, H])
    const gc = keep(dc0, c !== undefined ? needs[k++] : false, [B, H])
    if (bi !== undefined) grads.push(gb)
    if (h !== undefined) grads.push(gh)
    if (c !== undefined) grads.push(gc)
    return grads
  })
  return retype(out)
}
