/**
 * @effect-nn/shape — dimensions and shapes in the type system, and their run-time twins.
 */
export * from "./dim.ts"
export * from "./errors.ts"
export * from "./check.ts"
export * from "./arith.ts"
