/**
 * Checkpoints: safetensors state dicts keyed as PyTorch's, validated before they are
 * trusted, written atomically. One concept a file: `format` (dtypes, header schema,
 * limits), `reader` and `writer` (bytes ↔ tensors, pure), `state-dict` (a module's
 * parameters and buffers ↔ safetensors tensors, with the missing/unexpected/mis-shaped
 * report), `file` (the `FileSystem` service, atomic writes), `error` (`CheckpointError`).
 */
export * from "./error.ts"
export * from "./format.ts"
export * from "./reader.ts"
export * from "./writer.ts"
export * from "./state-dict.ts"
export * from "./file.ts"
