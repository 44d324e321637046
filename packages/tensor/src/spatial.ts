/**
 * Geometry of the spatial (NCHW) kernels: 2-D convolution and pooling. A backend receives
 * a spec with every size resolved (output sizes included); the ops in `ops/conv.ts` and
 * `ops/pool.ts` build and validate them.
 */

/**
 * The output size of one spatial dim of a convolution or pooling window:
 *
 *     floor((size + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1
 *
 * (H_out of PyTorch's `Conv2d`, https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html;
 * `MaxPool2d` and `AvgPool2d` with `ceil_mode=False` use the same formula, the latter with
 * dilation 1). The result may be ≤ 0 for a window larger than the padded input: callers
 * refuse that with a `ShapeError`. The run-time twin of the type-level `ConvOut`.
 */
export const convOutSize = (size: number, kernel: number, stride = 1, padding = 0, dilation = 1): number =>
  Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1

/**
 * A 2-D convolution (cross-correlation, zero padding) of an input [batch, inChannels,
 * height, width] with a weight [outChannels, inChannels/groups, kernelH, kernelW], giving
 * [batch, outChannels, outH, outW] (PyTorch's `F.conv2d`):
 *
 *     out[n, o, y, x] = bias[o] + Σ_{c, i, j} w[o, c, i, j] · in[n, g·Cg + c, y·sH − pH + i·dH, x·sW − pW + j·dW]
 *
 * with g = floor(o / OCg) the group of output channel o, Cg = inChannels/groups and
 * OCg = outChannels/groups; input positions outside [0, height) × [0, width) read 0.
 * `outH`/`outW` are `convOutSize` of the other fields and are ≥ 1; `inChannels` and
 * `outChannels` are multiples of `groups`.
 */
export interface Conv2dSpec {
  readonly batch: number
  readonly inChannels: number
  readonly height: number
  readonly width: number
  readonly outChannels: number
  readonly kernelH: number
  readonly kernelW: number
  readonly strideH: number
  readonly strideW: number
  readonly padH: number
  readonly padW: number
  readonly dilationH: number
  readonly dilationW: number
  readonly groups: number
  readonly outH: number
  readonly outW: number
}

/**
 * A 2-D pooling window over `planes` independent [height, width] planes (batch × channels
 * of an NCHW tensor), giving [planes, outH, outW]. Window (y, x) covers input rows
 * y·strideH − padH + i·dilationH (i < kernelH) and columns likewise; `outH`/`outW` are
 * `convOutSize` of the other fields (floor mode) and are ≥ 1, and padding is at most half
 * the kernel (PyTorch's rule), so every window holds at least one input position.
 */
export interface Pool2dSpec {
  readonly planes: number
  readonly height: number
  readonly width: number
  readonly kernelH: number
  readonly kernelW: number
  readonly strideH: number
  readonly strideW: number
  readonly padH: number
  readonly padW: number
  /** Spacing of the window's taps (max pooling; 1 for average pooling). */
  readonly dilationH: number
  readonly dilationW: number
  readonly outH: number
  readonly outW: number
}

/**
 * Average pooling's extra choices (PyTorch's `AvgPool2d`): the divisor of each window is
 * `divisorOverride` when given (> 0), else kernelH·kernelW when `countIncludePad` (padding
 * counts as zeros), else the number of window positions inside the input.
 */
export interface AvgPool2dSpec extends Pool2dSpec {
  readonly countIncludePad: boolean
  /** 0 for none. */
  readonly divisorOverride: number
}

/**
 * The divisor of average-pooling window (y, x) (see `AvgPool2dSpec`); with floor mode the
 * window never reaches past the padded input, so `countIncludePad` gives kernelH·kernelW.
 */
export const avgPoolDivisor = (spec: AvgPool2dSpec, y: number, x: number): number => {
  if (spec.divisorOverride > 0) return spec.divisorOverride
  if (spec.countIncludePad) return spec.kernelH * spec.kernelW
  const h0 = y * spec.strideH - spec.padH
  const w0 = x * spec.strideW - spec.padW
  const rows = Math.min(h0 + spec.kernelH, spec.height) - Math.max(h0, 0)
  const cols = Math.min(w0 + spec.kernelW, spec.width) - Math.max(w0, 0)
  return rows * cols
}
