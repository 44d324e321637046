/**
 * 2-D convolution over NCHW tensors, with gradients. Source: PyTorch `F.conv2d`
 * (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html): cross-correlation
 * (the kernel is not flipped), zero padding, stride, dilation and groups.
 */
import type { Shape } from "@effect-nn/shape"
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { Conv2dSpec } from "../spatial.ts"
import { convOutSize } from "../spatial.ts"
import type { Tensor } from "../tensor.ts"
import { assertFloat, deviceOf, result } from "./record.ts"

/** A size given once for both spatial dims (`3`) or as (height, width) (`[3, 5]`). */
export type Size2 = number | readonly [number, number]

/** The geometry of a convolution beyond its weight; PyTorch's defaults. */
export interface Conv2dGeometry {
  /** Step between windows; default 1. */
  readonly stride?: Size2
  /** Zeros added on each side; default 0. */
  readonly padding?: Size2
  /** Spacing between kernel taps; default 1. */
  readonly dilation?: Size2
  /** Channel groups (C and OC split into `groups` independent convolutions); default 1. */
  readonly groups?: number
}

/**
 * `[height, width]` from a `Size2`; throws `ShapeError` (op `where`) unless both are
 * integers ≥ `min`.
 */
export const size2 = (where: string, name: string, value: Size2 | undefined, fallback: number, min: number): readonly [number, number] => {
  const pair: readonly [number, number] = value === undefined ? [fallback, fallback] : typeof value === "number" ? [value, value] : value
  if (pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v >= min)) {
    throw new ShapeError({ op: where, reason: `${name} must be ${min === 0 ? "a non-negative" : "a positive"} integer or a pair of them, got ${JSON.stringify(value)}`, shapes: [] })
  }
  return pair
}

/**
 * The output size of one spatial dim, or a `ShapeError` naming the dim and the sizes
 * when the window is larger than the padded input.
 */
export const spatialOut = (where: string, what: string, dim: "height" | "width", size: number, kernel: number, stride: number, padding: number, dilation: number, shape: Shape): number => {
  const out = convOutSize(size, kernel, stride, padding, dilation)
  if (out < 1) {
    throw new ShapeError({
      op: where,
      reason: `${what} output ${dim} would be ${out} (≤ 0) for input ${formatShape(shape)}: the padded ${dim} ${size} + 2·${padding} = ${size + 2 * padding} is smaller than the kernel span ${dilation}·(${kernel} − 1) + 1 = ${dilation * (kernel - 1) + 1}`,
      shapes: [shape]
    })
  }
  return out
}

/** A validated convolution: the backend's spec and the output dims. */
export interface Conv2dPlan {
  readonly spec: Conv2dSpec
  /** [N, OC, OH, OW], or [OC, OH, OW] for an unbatched input. */
  readonly outDims: Shape
}

/**
 * Validates a convolution of an input of dims `x` with a weight of dims `weight` (and a
 * bias of dims `bias`) and resolves its geometry — what `conv2d` does before computing,
 * usable for output shapes without tensors. Throws `ShapeError` (op `where`, the layer's
 * path) when x is not rank 3 or 4, the weight not rank 4, the channels do not match
 * (C ≠ weight[1]·groups, or groups does not divide OC), the bias is not [OC], the
 * geometry is invalid, or an output dim would be ≤ 0 — naming the shapes.
 */
export const planConv2d = (where: string, x: Shape, weight: Shape, bias: Shape | undefined, geometry: Conv2dGeometry = {}): Conv2dPlan => {
  if (x.length !== 4 && x.length !== 3) {
    throw new ShapeError({ op: where, reason: `conv2d expects an input [N, C, H, W] or [C, H, W], got ${formatShape(x)}`, shapes: [x] })
  }
  if (weight.length !== 4) {
    throw new ShapeError({ op: where, reason: `conv2d expects a weight [out_channels, in_channels/groups, kH, kW], got ${formatShape(weight)}`, shapes: [weight] })
  }
  const batched = x.length === 4
  const [batch, C, H, W] = batched ? (x as [number, number, number, number]) : [1, ...(x as [number, number, number])]
  const [OC, Cg, KH, KW] = weight as [number, number, number, number]
  const groups = geometry.groups ?? 1
  if (!(Number.isInteger(groups) && groups >= 1)) {
    throw new ShapeError({ op: where, reason: `groups must be a positive integer, got ${groups}`, shapes: [] })
  }
  if (OC % groups !== 0) {
    throw new ShapeError({ op: where, reason: `out_channels ${OC} is not divisible by groups ${groups} (weight ${formatShape(weight)})`, shapes: [weight] })
  }
  if (Cg * groups !== C) {
    const expected = Cg * groups
    throw new ShapeError({
      op: where,
      reason: `expects ${expected} input channels (in_channels ${expected}${groups > 1 ? ` = ${Cg}·groups ${groups}` : ""}), got ${C} (input ${formatShape(x)}, weight ${formatShape(weight)})`,
      shapes: [x, weight]
    })
  }
  if (bias !== undefined && (bias.length !== 1 || bias[0] !== OC)) {
    throw new ShapeError({ op: where, reason: `bias must be [${OC}] (out_channels), got ${formatShape(bias)}`, shapes: [bias] })
  }
  const [strideH, strideW] = size2(where, "stride", geometry.stride, 1, 1)
  const [padH, padW] = size2(where, "padding", geometry.padding, 0, 0)
  const [dilationH, dilationW] = size2(where, "dilation", geometry.dilation, 1, 1)
  const outH = spatialOut(where, "conv2d", "height", H, KH, strideH, padH, dilationH, x)
  const outW = spatialOut(where, "conv2d", "width", W, KW, strideW, padW, dilationW, x)
  return {
    spec: { batch, inChannels: C, height: H, width: W, outChannels: OC, kernelH: KH, kernelW: KW, strideH, strideW, padH, padW, dilationH, dilationW, groups, outH, outW },
    outDims: batched ? [batch, OC, outH, outW] : [OC, outH, outW]
  }
}

/**
 * `conv2d(x, weight, bias, geometry, where)`: x [N, C, H, W] (or unbatched [C, H, W]),
 * weight [OC, C/groups, KH, KW], bias [OC] or undefined → [N, OC, OH, OW] (or
 * [OC, OH, OW]) with OH = floor((H + 2·padH − dilationH·(KH − 1) − 1)/strideH) + 1 and
 * likewise OW (the formula of `Conv2dSpec`).
 *
 * Gradients: input (`conv2dBackwardInput`, a transposed convolution), weight
 * (`conv2dBackwardWeight`) and bias (Σ of g over N, OH, OW); each only when needed.
 *
 * Throws `ShapeError` (op `where`) as `planConv2d` says, or when a tensor is not float32.
 */
export const conv2d = (x: Tensor<unknown>, weight: Tensor<unknown>, bias: Tensor<unknown> | undefined, geometry: Conv2dGeometry = {}, where = "conv2d"): Tensor<Shape> => {
  const input = assertFloat(where, x)
  const w = assertFloat(where, weight)
  const b = bias === undefined ? undefined : assertFloat(where, bias)
  const { spec, outDims } = planConv2d(where, input.dims, w.dims, b?.dims, geometry)
  const dims = input.dims
  const { batch, outChannels: OC, outH, outW } = spec
  const device = b === undefined ? deviceOf(where, input, w) : deviceOf(where, input, w, b)
  const storage = device.backend.conv2d(input.storage, w.storage, b?.storage, spec)
  const inputs = b === undefined ? [input, w] : [input, w, b]
  return result(device, storage, outDims, "float32", inputs, (g, needs) => {
    const backend = device.backend
    const dx = needs[0] ? result(device, backend.conv2dBackwardInput(g.storage, w.storage, spec), dims, "float32", []) : undefined
    const dw = needs[1] ? result(device, backend.conv2dBackwardWeight(g.storage, input.storage, spec), w.dims, "float32", []) : undefined
    let db: Tensor<Shape> | undefined
    if (needs[2]) {
      // Σ over the positions of each (n, o) plane, then over the batch.
      const perPlane = backend.reduceSum(g.storage, batch * OC, outH * outW, 1)
      db = result(device, backend.reduceSum(perPlane, 1, batch, OC), [OC], "float32", [])
      backend.release(perPlane)
    }
    return [dx, dw, db]
  })
}
