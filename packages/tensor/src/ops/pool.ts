/**
 * 2-D max and average pooling over NCHW tensors, with gradients. Sources: PyTorch
 * `F.max_pool2d` and `F.avg_pool2d` (floor mode, `ceil_mode=False`;
 * https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html and
 * https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html).
 */
import type { Shape } from "@effect-nn/shape"
import { ShapeError, formatShape } from "@effect-nn/shape"
import type { AvgPool2dSpec, Pool2dSpec } from "../spatial.ts"
import type { Tensor } from "../tensor.ts"
import type { Size2 } from "./conv.ts"
import { size2, spatialOut } from "./conv.ts"
import type { F32 } from "./record.ts"
import { assertFloat, deviceOf, result } from "./record.ts"

/** A pooling window; PyTorch's defaults (stride = kernel size, no padding, dilation 1). */
export interface Pool2dGeometry {
  readonly kernelSize: Size2
  /** Default: the kernel size. */
  readonly stride?: Size2
  /** Implicit padding on each side (−∞ for max, 0 for average); at most half the kernel. Default 0. */
  readonly padding?: Size2
}

/** Max pooling's window: `Pool2dGeometry` plus dilation (default 1). */
export interface MaxPool2dGeometry extends Pool2dGeometry {
  readonly dilation?: Size2
}

/** Average pooling's window and divisor (PyTorch's defaults: padding counted, no override). */
export interface AvgPool2dGeometry extends Pool2dGeometry {
  /** Count padding positions in the divisor; default true. */
  readonly countIncludePad?: boolean
  /** Divide every window by this instead; default none. */
  readonly divisorOverride?: number
}

/**
 * Validates a pooling window on an input of dims `dims` ([N, C, H, W] or [C, H, W]) and
 * resolves it (what `maxPool2d` / `avgPool2d` do first; `what` names the op in messages).
 * The output dims are [..., outH, outW]. Throws `ShapeError` (op `where`) for a bad rank,
 * a bad geometry, padding over half the kernel span, or an output dim ≤ 0.
 */
export const planPool2d = (where: string, what: string, dims: Shape, geometry: MaxPool2dGeometry): Pool2dSpec => {
  if (dims.length !== 4 && dims.length !== 3) {
    throw new ShapeError({ op: where, reason: `${what} expects an input [N, C, H, W] or [C, H, W], got ${formatShape(dims)}`, shapes: [dims] })
  }
  const [kernelH, kernelW] = size2(where, "kernel_size", geometry.kernelSize, 1, 1)
  const [strideH, strideW] = size2(where, "stride", geometry.stride ?? geometry.kernelSize, 1, 1)
  const [padH, padW] = size2(where, "padding", geometry.padding, 0, 0)
  const [dilationH, dilationW] = size2(where, "dilation", geometry.dilation, 1, 1)
  // PyTorch: "pad should be at most half of effective kernel size".
  const spanH = dilationH * (kernelH - 1) + 1
  const spanW = dilationW * (kernelW - 1) + 1
  if (2 * padH > spanH || 2 * padW > spanW) {
    throw new ShapeError({ op: where, reason: `${what} padding ${JSON.stringify(geometry.padding)} must be at most half the kernel span (${spanH}, ${spanW})`, shapes: [dims] })
  }
  const H = dims[dims.length - 2]!
  const W = dims[dims.length - 1]!
  return {
    planes: dims.slice(0, -2).reduce((p, d) => p * d, 1),
    height: H,
    width: W,
    kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW,
    outH: spatialOut(where, what, "height", H, kernelH, strideH, padH, dilationH, dims),
    outW: spatialOut(where, what, "width", W, kernelW, strideW, padW, dilationW, dims)
  }
}

/**
 * `maxPool2d(x, geometry, where)`: the maximum of each window, [N, C, H, W] (or [C, H, W])
 * → [N, C, OH, OW] with OH = floor((H + 2·padH − dilationH·(KH − 1) − 1)/strideH) + 1.
 * Padding never wins (implicit −∞). Gradient: g goes to the window's arg-max (the first
 * maximum in row-major window order on ties), summed where windows overlap.
 * Throws `ShapeError` (op `where`) for a bad rank, geometry or an output dim ≤ 0.
 */
export const maxPool2d = (x: Tensor<unknown>, geometry: MaxPool2dGeometry, where = "maxPool2d"): Tensor<Shape> => {
  const input = assertFloat(where, x)
  const dims = input.dims
  const spec = planPool2d(where, "max_pool2d", dims, geometry)
  const device = deviceOf(where, input)
  const [values, indexStorage] = device.backend.maxPool2d(input.storage, spec)
  const outDims = [...dims.slice(0, -2), spec.outH, spec.outW]
  // The indices live in the same arena as the output (released with it).
  const indices = result(device, indexStorage, outDims, "int32", [])
  return result(device, values, outDims, "float32", [input], (g) => [
    result(device, device.backend.maxPool2dBackward(g.storage, indices.storage, spec), dims, "float32", []) as F32
  ])
}

/**
 * `avgPool2d(x, geometry, where)`: the mean of each window, [N, C, H, W] (or [C, H, W]) →
 * [N, C, OH, OW] (OH as `maxPool2d`, dilation 1). Divisor: `divisorOverride`, else KH·KW
 * when `countIncludePad` (default), else the window's positions inside the input.
 * Gradient: g/divisor spread over each window's input positions.
 * Throws `ShapeError` (op `where`) for a bad rank, geometry or an output dim ≤ 0.
 */
export const avgPool2d = (x: Tensor<unknown>, geometry: AvgPool2dGeometry, where = "avgPool2d"): Tensor<Shape> => {
  const input = assertFloat(where, x)
  const dims = input.dims
  const divisorOverride = geometry.divisorOverride ?? 0
  if (!(Number.isInteger(divisorOverride) && divisorOverride >= 0)) {
    throw new ShapeError({ op: where, reason: `divisor_override must be a positive integer, got ${divisorOverride}`, shapes: [dims] })
  }
  const spec: AvgPool2dSpec = {
    ...planPool2d(where, "avg_pool2d", dims, { kernelSize: geometry.kernelSize, ...(geometry.stride === undefined ? {} : { stride: geometry.stride }), ...(geometry.padding === undefined ? {} : { padding: geometry.padding }) }),
    countIncludePad: geometry.countIncludePad ?? true,
    divisorOverride
  }
  const device = deviceOf(where, input)
  const outDims = [...dims.slice(0, -2), spec.outH, spec.outW]
  return result(device, device.backend.avgPool2d(input.storage, spec), outDims, "float32", [input], (g) => [
    result(device, device.backend.avgPool2dBackward(g.storage, spec), dims, "float32", []) as F32
  ])
}
