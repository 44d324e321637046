/** @effect-nn/examples — the tutorial's networks and the training program's building blocks. */
export * from "./models/index.ts"
export * from "./training/step.ts"
export * from "./training/epoch.ts"
export * from "./training/resident.ts"
export * from "./training/evaluate.ts"
export * from "./training/run.ts"
export * from "./training/checkpoint.ts"
export * from "./stop-signal.ts"
