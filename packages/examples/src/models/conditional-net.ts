/**
 * The nn.Module tutorial's `ConditionalNet(use_batch_norm, use_dropout)`: fc1 (784→256),
 * optional bn1, ReLU, optional dropout (p = 0.5), fc2 (256→10). The construction options
 * change the type: without batch norm the model has no `bn1` parameters or buffers, and
 * without dropout its train forward needs no `Rng`.
 */
import type { BatchNorm1d as BatchNorm1dType, Bound, Dropout as DropoutType, Linear as LinearType } from "@effect-nn/layers"
import { BatchNorm1d, Dropout, Linear, module, run } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/tensor"
import { relu } from "@effect-nn/tensor"
import { Effect } from "effect"
import type { InitChoice } from "./shallow-mlp.ts"
import { linearInit } from "./shallow-mlp.ts"

/** The parts of a ConditionalNet for the given options (absent parts are absent from the type). */
export type ConditionalParts<BN extends boolean, DO extends boolean> =
  & { readonly fc1: LinearType<784, 256> }
  & (BN extends true ? { readonly bn1: BatchNorm1dType<256> } : {})
  & (DO extends true ? { readonly dropout: DropoutType } : {})
  & { readonly fc2: LinearType<256, 10> }

/** Every part, the conditional ones optional, as the forward sees them. */
type AllParts =
  & Bound<{ readonly fc1: LinearType<784, 256>; readonly fc2: LinearType<256, 10> }>
  & Partial<Bound<{ readonly bn1: BatchNorm1dType<256>; readonly dropout: DropoutType }>>

/** Options of `ConditionalNet`; defaults as the tutorial (both on, dropout 0.5). */
export interface ConditionalOptions<BN extends boolean, DO extends boolean> {
  readonly useBatchNorm: BN
  readonly useDropout: DO
  readonly dropout?: number
  readonly init?: InitChoice
}

/** `ConditionalNet({ useBatchNorm, useDropout })`. */
export const ConditionalNet = <const BN extends boolean = true, const DO extends boolean = true>(
  options: ConditionalOptions<BN, DO>
) => {
  const init = linearInit(options.init ?? "tutorial")
  const parts = {
    fc1: Linear(784, 256, init),
    ...(options.useBatchNorm ? { bn1: BatchNorm1d(256) } : {}),
    ...(options.useDropout ? { dropout: Dropout(options.dropout ?? 0.5) } : {}),
    fc2: Linear(256, 10, init)
  } as ConditionalParts<BN, DO>
  return module("ConditionalNet", parts).forward<[Sym<"B">, 784], [Sym<"B">, 10]>((m, x) =>
    Effect.gen(function*() {
      // The parts present depend on the options: look at them through the optional view.
      const p = m as unknown as AllParts
      const h1 = yield* p.fc1(x)
      const h = p.bn1 === undefined ? h1 : yield* p.bn1(h1)
      const a = yield* run(() => relu(h))
      const d = p.dropout === undefined ? a : yield* p.dropout(a)
      return yield* p.fc2(d)
    })
  )
}
