/** Naming a module: its key in the enclosing record, i.e. PyTorch's attribute name. */
import type { AnyModule } from "./module.ts"

/** `M` with its record key fixed to `N`. */
export type Named<N extends string, M> = M & { readonly name: N }

/**
 * `named("fc1", Linear(784, 128))`: the module's parameters appear under `fc1` (so its
 * state-dict keys are `fc1.weight`, `fc1.bias`), as an attribute would in PyTorch.
 */
export const named = <const N extends string, M extends AnyModule>(name: N, module: M): Named<N, M> => ({ ...module, name })
