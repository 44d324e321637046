/**
 * @effect-nn/gpu — the WebGPU device: `WebGpu.layer` provides `@effect-nn/tensor`'s
 * `Device` on a WebGPU device (Dawn in Node, `navigator.gpu` in browsers), with WGSL
 * kernels for every `Backend` op, pooled buffers, batched command submission and
 * paced readback.
 */
export { acquireWebGpu, type WebGpuOptions } from "./acquire.ts"
export { type MatmulTuning, measureMatmulConfigs, type MeasureOptions, tuneMatmul, tuningOf, type TuneStore } from "./autotune.ts"
export { WebGpuBackend, type WebGpuBackendConfig, type WebGpuStats } from "./backend.ts"
export type { GpuStorage, KernelContext, MatmulVariant } from "./kernels/context.ts"
export type { TexturePolicy } from "./kernels/matmul-texture.ts"
export type { KernelTime } from "./profile.ts"
export * as WebGpu from "./layer.ts"
