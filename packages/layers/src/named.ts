/** Naming a module: its key in the enclosing record, i.e. PyTorch's attribute name. */
import { checkModule, checkName } from "./keys.ts"
import type { AnyModule } from "./module.ts"

/** `M` with its record key fixed to `N`. */
export type Named<N extends string, M> = M & { readonly name: N }

/**
 * `named("fc1", Linear(784, 128))`: the module's parameters appear under `fc1` (so its
 * state-dict keys are `fc1.weight`, `fc1.bias`), as an attribute would in PyTorch.
 *
 * Errors: throws `ConfigError` at construction (synchronously) when `name` is not a
 * non-empty string without "." — PyTorch's `add_module` rule, since the name becomes one
 * segment of the dotted state-dict keys — e.g. `named: name must be a non-empty string
 * without "." (…), got "a.b"`; or when `module` is not a module (a JavaScript caller
 * passing `ReLU` for `ReLU()`). Two children of one container with the same name are
 * refused by the container (`sequential`, `parallel`).
 */
export const named = <const N extends string, M extends AnyModule>(name: N, module: M): Named<N, M> => {
  checkName("named", "name", name)
  checkModule("named", "module", module)
  return { ...module, name }
}
