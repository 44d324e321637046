/** Element types a tensor can hold: `float32` values, `int32` class indices and counters. */
export type DType = "float32" | "int32"

/** The typed array that holds a dtype's values on the host. */
export type HostArray<D extends DType> = D extends "int32" ? Int32Array : Float32Array

/** Bytes per element (both dtypes are 4 bytes). */
export const bytesPerElement = 4
