/** The networks `train` can build, by name (the tutorial's initialisation). */
import { ConditionalNet } from "./conditional-net.ts"
import { DeepMLP } from "./deep-mlp.ts"
import { ResidualNetwork } from "./residual-network.ts"
import { ShallowMLP } from "./shallow-mlp.ts"
import { SequenceLSTM } from "./sequence-lstm.ts"
import { CNN } from "./cnn.ts"

export * from "./conditional-net.ts"
export * from "./deep-mlp.ts"
export * from "./residual-network.ts"
export * from "./shallow-mlp.ts"
export * from "./sequence-lstm.ts"
export * from "./cnn.ts"

/** Model constructors (tutorial initialisation) by command-line name. */
export const models = {
  shallow: () => ShallowMLP("tutorial"),
  deep: () => DeepMLP("tutorial"),
  residual: () => ResidualNetwork("tutorial"),
  conditional: () => ConditionalNet({ useBatchNorm: true, useDropout: true }),
  "conditional-plain": () => ConditionalNet({ useBatchNorm: false, useDropout: false }),
  lstm: () => SequenceLSTM(),
  cnn: () => CNN()
} as const

/** Names accepted by `--model`. */
export const modelNames = ["shallow", "deep", "residual", "conditional", "conditional-plain", "lstm", "cnn"] as const
