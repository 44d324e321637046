/** Introspection: named parameters (state-dict keys) and parameter counts. */
import type { AnyTensor } from "@effect-nn/tensor"
import { tensorsOf } from "@effect-nn/tensor"

/**
 * The parameters of a record with their dotted paths, in record order — the keys
 * PyTorch's `state_dict()` gives for the same architecture (`fc1.weight`, `0.bias`).
 */
export const namedParameters = (params: unknown): Array<readonly [string, AnyTensor]> => tensorsOf(params)

/** Number of scalar parameters in a record. */
export const countParameters = (params: unknown): number =>
  tensorsOf(params).reduce((n, [, t]) => n + t.numel, 0)
