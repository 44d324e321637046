/**
 * @effect-nn/data — datasets and loaders as Effect streams: the IDX format, MNIST,
 * normalisation, seeded shuffling and batching. Knows nothing of tensors or devices.
 */
export * from "./batching.ts"
export * from "./dataset.ts"
export * from "./errors.ts"
export * from "./idx.ts"
export * from "./loader.ts"
export * from "./mnist.ts"
export * from "./normalize.ts"
export * from "./read-file.ts"
export * from "./shuffle.ts"
