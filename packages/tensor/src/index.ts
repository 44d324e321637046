/**
 * @effect-nn/tensor — `Tensor<S, D>`, its ops with gradients, reverse-mode autodiff over
 * records of tensors, the `Device` service and the CPU reference backend.
 */
export * from "./tensor.ts"
export * from "./dtype.ts"
export * from "./errors.ts"
export type * from "./backend.ts"
export * from "./device.ts"
export * from "./memory.ts"
export * from "./tree.ts"
export * from "./autodiff.ts"
export * from "./rng.ts"
export * from "./ops/creation.ts"
export * from "./ops/elementwise.ts"
export * from "./ops/matmul.ts"
export * from "./ops/reduce.ts"
export * from "./ops/softmax.ts"
export { reshape, sumToShape } from "./ops/shape-ops.ts"
export { CpuBackend } from "./cpu/backend.ts"
export * as Cpu from "./cpu/layer.ts"
export { assertFloat } from "./ops/record.ts"
export type { Dim, Shape, Sym } from "@effect-nn/shape"
export { sym } from "@effect-nn/shape"
