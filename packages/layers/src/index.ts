/**
 * @effect-nn/layers — modules as pure descriptions with typed shape transforms,
 * combinators, explicit train/eval modes, initialisation schemes and losses.
 */
export * from "./module.ts"
export * from "./mode.ts"
export * from "./leaf.ts"
export * from "./init.ts"
export * from "./linear.ts"
export * from "./activation.ts"
export * from "./sequential.ts"
export * from "./named.ts"
export * from "./forward.ts"
export * from "./loss.ts"
export * from "./introspect.ts"
export * from "./residual.ts"
export * from "./repeat.ts"
export * from "./custom.ts"
export * from "./trace.ts"
export * from "./errors.ts"; export * from "./dropout.ts"; export * from "./batchnorm1d.ts"
export * from "./parallel.ts"
export * from "./print.ts"
export * from "./summary.ts"
export * from "./reinit.ts"
