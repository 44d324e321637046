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
