/**
 * Size limits and size classes. Every storage a kernel binds must fit the effective
 * `maxStorageBufferBindingSize`; requests over it are refused with a `DeviceError` that
 * names the requested bytes and the limit, before anything is encoded.
 */
import { DeviceError, type DType } from "@effect-nn/tensor"

/** Bytes of one element (float32 and int32 alike). */
export const elementBytes = 4

/** Smallest buffer the pool creates, and the granularity of small size classes. */
export const minClassBytes = 256

/**
 * The pooled size for a request of `bytes`: at least 256 bytes, then rounded up to a
 * quarter of the request's power of two (at most 25% waste, typically far less), and
 * never above `cap` (the effective binding limit, itself ≥ `bytes`).
 */
export const sizeClass = (bytes: number, cap: number): number => {
  if (bytes <= minClassBytes) return Math.max(Math.min(minClassBytes, cap), bytes, elementBytes)
  const pow = 2 ** Math.floor(Math.log2(bytes))
  const step = Math.max(minClassBytes, pow / 4)
  const rounded = Math.ceil(bytes / step) * step
  return Math.max(bytes, Math.min(rounded, cap))
}

/**
 * Throws `DeviceError` when `numel` elements of `dtype` exceed `limitBytes`, e.g.
 * "tensor of 1025 float32 values (4100 bytes) exceeds maxStorageBufferBindingSize 4096 bytes".
 */
export const checkBindingSize = (numel: number, dtype: DType, limitBytes: number, what = "tensor"): void => {
  const bytes = numel * elementBytes
  if (!Number.isSafeInteger(numel) || numel < 0) {
    throw new DeviceError({ reason: `${what} of ${numel} ${dtype} values is not a valid size` })
  }
  if (bytes > limitBytes) {
    throw new DeviceError({
      reason: `${what} of ${numel} ${dtype} values (${bytes} bytes) exceeds maxStorageBufferBindingSize ${limitBytes} bytes`
    })
  }
}

/**
 * A 2-D dispatch grid for `groups` workgroups that respects `maxPerDimension`
 * (65535 by default in WebGPU). Shaders recover the linear workgroup index as
 * `wid.y * num_workgroups.x + wid.x` and must ignore indices past their work.
 */
export const grid2d = (groups: number, maxPerDimension: number): readonly [number, number] => {
  const g = Math.max(1, Math.ceil(groups))
  if (g <= maxPerDimension) return [g, 1]
  const y = Math.ceil(g / maxPerDimension)
  if (y > maxPerDimension) {
    throw new DeviceError({ reason: `dispatch of ${g} workgroups exceeds ${maxPerDimension}² (maxComputeWorkgroupsPerDimension)` })
  }
  return [Math.ceil(g / y), y]
}
