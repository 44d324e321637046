/** The networks `train` can build, by name. */
import { ShallowMLP } from "./shallow-mlp.ts"

export { ShallowMLP } from "./shallow-mlp.ts"

/** Model constructors (tutorial initialisation) by command-line name. */
export const models = {
  shallow: () => ShallowMLP("tutorial")
} as const

/** Names accepted by `--model`. */
export const modelNames = ["shallow"] as const
