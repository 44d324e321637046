/**
 * WebGPU enum values as plain numbers. They are fixed by the WebGPU specification, so the
 * backend does not depend on the `GPUBufferUsage`/`GPUMapMode`/`GPUShaderStage` globals,
 * which Node only has after the `webgpu` package's `globals` are installed.
 */

/** `GPUBufferUsage` flags used by this package. */
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080
} as const

/** `GPUMapMode.READ`. */
export const MapModeRead = 0x0001

/** `GPUShaderStage.COMPUTE`. */
export const ShaderStageCompute = 0x0004
