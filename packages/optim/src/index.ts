/** @effect-nn/optim — optimisers as pure (params, grads, state) → (params, state) steps. */
export * from "./optimizer.ts"
export type { ParamStates, Stepping } from "./param-state.ts"
export { checkStep, stateOf } from "./param-state.ts"
export * from "./sgd.ts"
export * from "./adam.ts"
