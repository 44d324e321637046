/** Concatenation along the last dim and its inverse, slicing, with gradients. */
import type { Shape } from "@effect-nn/shape"
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { Tensor } from "../tensor.ts"
import type { F32 } from "./record.ts"
import { assertFloat, deviceOf, result } from "./record.ts"

/**
 * Columns [start, start + width) of the last dim: [..., C] → [..., width].
 * Throws `ShapeError` when the range leaves [0, C).
 */
export const sliceLast = (a: Tensor<unknown>, start: number, width: number): Tensor<Shape> => {
  const x = assertFloat("sliceLast", a)
  const dims = x.dims
  const cols = dims[dims.length - 1] ?? 0
  if (start < 0 || width < 0 || start + width > cols) {
    throw new ShapeError({ op: "sliceLast", reason: `columns [${start}, ${start + width}) are outside ${formatShape(dims)}`, shapes: [dims] })
  }
  const rows = x.numel / Math.max(cols, 1)
  const device = deviceOf("sliceLast", x)
  const outShape = [...dims.slice(0, -1), width]
  return result(device, device.backend.sliceColumns(x.storage, rows, cols, start, width), outShape, "float32", [x], (g) => {
    const parts: Array<F32> = []
    const widths: Array<number> = []
    const zeros = (w: number) => result(device, device.backend.fill(rows * w, 0, "float32"), [...dims.slice(0, -1), w], "float32", [])
    if (start > 0) {
      parts.push(zeros(start))
      widths.push(start)
    }
    parts.push(g)
    widths.push(width)
    if (cols - start - width > 0) {
      parts.push(zeros(cols - start - width))
      widths.push(cols - start - width)
    }
    return [result(device, device.backend.concatColumns(parts.map((p) => p.storage), rows, widths), dims, "float32", [])]
  })
}

/**
 * Concatenates along the last dim: [..., C₁], [..., C₂], … → [..., ΣCᵢ]. The leading dims
 * must agree (`ShapeError` naming the shapes otherwise).
 */
export const concatLast = (tensors: ReadonlyArray<Tensor<unknown>>): Tensor<Shape> => {
  if (tensors.length === 0) throw new ShapeError({ op: "concat", reason: "needs at least one tensor", shapes: [] })
  const xs = tensors.map((t) => assertFloat("concat", t))
  const lead = xs[0]!.dims.slice(0, -1)
  for (const t of xs) {
    const l = t.dims.slice(0, -1)
    if (t.dims.length !== xs[0]!.dims.length || l.some((d, i) => d !== lead[i])) {
      throw new ShapeError({ op: "concat", reason: `leading dims differ: ${xs.map((u) => formatShape(u.dims)).join(", ")}`, shapes: xs.map((u) => u.dims) })
    }
  }
  const widths = xs.map((t) => t.dims[t.dims.length - 1]!)
  const rows = lead.reduce((a, b) => a * b, 1)
  const device = deviceOf("concat", ...xs)
  const total = widths.reduce((a, b) => a + b, 0)
  const starts = widths.map((_, i) => widths.slice(0, i).reduce((a, b) => a + b, 0))
  return result(device, device.backend.concatColumns(xs.map((t) => t.storage), rows, widths), [...lead, total], "float32", xs, (g, needs) =>
    xs.map((_, i) => (needs[i] ? (sliceLast(g, starts[i]!, widths[i]!) as F32) : undefined)))
}
