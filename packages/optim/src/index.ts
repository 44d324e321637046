/** @effect-nn/optim — optimisers as pure (params, grads, state) → (params, state) steps. */
export * from "./optimizer.ts"
export * from "./sgd.ts"
export * from "./adam.ts"
