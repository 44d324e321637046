/**
 * The rules for module names and container keys, checked where a module is built — what
 * PyTorch's `add_module` checks: a name is a string, not empty and without "." (it becomes
 * one segment of the dotted state-dict keys), and no two children of one container share
 * a key ("attribute 'fc' already exists"). Without these checks a bad name surfaces only
 * later, as duplicated or ambiguous state-dict keys, a forward that reads the wrong
 * parameters, or a save that refuses a repeated key.
 */
import { ConfigError } from "./errors.ts"
import type { AnyModule } from "./module.ts"

/** What a name must be, in a `ConfigError`'s words. */
const validName = `a non-empty string without "." (it becomes one segment of the state-dict keys, as PyTorch's add_module requires)`

/**
 * How a received value reads in a message: strings quoted, functions by their name,
 * arrays and objects by their length or first keys.
 */
export const showValue = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "function") return `the function ${value.name === "" ? "(anonymous)" : value.name}`
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value)
    return `an object {${keys.slice(0, 4).join(", ")}${keys.length > 4 ? ", …" : ""}}`
  }
  return String(value)
}

/** True for a non-empty string without ".". */
export const isValidName = (name: unknown): name is string => typeof name === "string" && name !== "" && !name.includes(".")

/**
 * `name`, checked as a module name. Throws `ConfigError` naming `module` and `argument`
 * when it is not a non-empty string without ".".
 */
export const checkName = <N>(module: string, argument: string, name: N): N => {
  if (!isValidName(name)) throw new ConfigError({ module, argument, expected: validName, value: showValue(name) })
  return name
}

/** True when `value` looks like a module description (what containers need of a child). */
export const isModule = (value: unknown): value is AnyModule =>
  typeof value === "object" && value !== null && "run" in value && typeof value.run === "function" &&
  "children" in value && Array.isArray(value.children) && "parameterCount" in value && typeof value.parameterCount === "number"

/**
 * `value`, checked as a module. Throws `ConfigError` naming `container` and `argument`
 * otherwise (a JavaScript caller passing `ReLU` instead of `ReLU()`, or `undefined`).
 */
export const checkModule = (container: string, argument: string, value: unknown): AnyModule => {
  if (!isModule(value)) {
    const expected = typeof value === "function" && value.name !== ""
      ? `a module, not a module constructor (call it: ${value.name}(…))`
      : "a module"
    throw new ConfigError({ module: container, argument, expected, value: showValue(value) })
  }
  return value
}

/**
 * The keyed children of `container`, checked: each child a module, each key a valid name,
 * no key used twice. `argumentOf(i)` names child `i` as the constructor's caller wrote it
 * (`modules[2]`, `branches.fc`). Throws `ConfigError` naming the container, the child and
 * the key, e.g. `sequential: the key of modules[2] must be unique among the container's
 * children (modules[0] already has the key "fc"; give one another name with named(…)), got "fc"`.
 */
export const checkChildren = (
  container: string,
  children: ReadonlyArray<readonly [string, unknown]>,
  argumentOf: (index: number) => string
): Array<readonly [string, AnyModule]> => {
  const seen = new Map<string, number>()
  return children.map(([key, child], i) => {
    const argument = argumentOf(i)
    const module = checkModule(container, argument, child)
    checkName(container, `the key of ${argument}`, key)
    const first = seen.get(key)
    if (first !== undefined) {
      throw new ConfigError({
        module: container,
        argument: `the key of ${argument}`,
        expected: `unique among the container's children (${argumentOf(first)} already has the key ${JSON.stringify(key)}; give one another name with named(…))`,
        value: JSON.stringify(key)
      })
    }
    seen.set(key, i)
    return [key, module] as const
  })
}
