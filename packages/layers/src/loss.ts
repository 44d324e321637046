/**
 * Losses. They take logits, never probabilities (PyTorch's `CrossEntropyLoss` and
 * `BCEWithLogitsLoss` semantics): the softmax/sigmoid is applied inside, stably.
 */
export * from "./losses/reduction.ts"
export * from "./losses/cross-entropy.ts"
export * from "./losses/binary-cross-entropy.ts"
export * from "./losses/mse.ts"
