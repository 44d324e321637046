/**
 * The printed form of a module, as PyTorch's `print(model)`: a leaf prints its repr, a
 * container its class name and its children, `(key): child`, indented by two spaces.
 */
import type { AnyModule } from "./module.ts"

const indent = (text: string): string => text.split("\n").map((line, i) => (i === 0 ? line : `  ${line}`)).join("\n")

/** `print(model)` text of a description (needs no device). */
export const printModule = (module: AnyModule): string => {
  if (module.children.length === 0) return module.label
  if (module.children.length === 1 && module.children[0]![0] === "") return printModule(module.children[0]![1])
  const lines = module.children.map(([key, child]) => `  (${key}): ${indent(printModule(child))}`)
  return `${module.label}(\n${lines.join("\n")}\n)`
}
