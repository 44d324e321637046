/**
 * The printed form of a module, as PyTorch's `print(model)`: a leaf prints its repr, a
 * container its class name and its children, `(key): child`, indented by two spaces.
 *
 * A `residual(block, { activation })` prints as `Residual(`, then the block without a key
 * (the residual is transparent for state: the block's keys are the residual's, so no
 * `(key)` segment is shown for it — it reads as PyTorch's unkeyed `extra_repr` lines),
 * then `(activation): …` when one is given; a leaf block without activation fits on one
 * line, as PyTorch prints a module whose repr is one line: `Residual(Linear(…))`.
 */
import type { AnyModule } from "./module.ts"
import { isResidual } from "./residual.ts"

const indent = (text: string): string => text.split("\n").map((line, i) => (i === 0 ? line : `  ${line}`)).join("\n")

/** PyTorch's `Module.__repr__` layout: `Name(` + unkeyed lines + `(key): child` lines + `)`. */
const layout = (label: string, extra: ReadonlyArray<string>, children: ReadonlyArray<readonly [string, string]>): string => {
  if (children.length === 0 && extra.length === 1 && !extra[0]!.includes("\n")) return `${label}(${extra[0]})`
  const lines = [...extra.map((text) => `  ${indent(text)}`), ...children.map(([key, text]) => `  (${key}): ${indent(text)}`)]
  return `${label}(\n${lines.join("\n")}\n)`
}

/** `print(model)` text of a description (needs no device). */
export const printModule = (module: AnyModule): string => {
  if (isResidual(module)) {
    return layout(module.label, [printModule(module.block)], module.activation === undefined ? [] : [["activation", printModule(module.activation)]])
  }
  if (module.children.length === 0) return module.label
  if (module.children.length === 1 && module.children[0]![0] === "") return printModule(module.children[0]![1])
  return layout(module.label, [], module.children.map(([key, child]) => [key, printModule(child)] as const))
}
