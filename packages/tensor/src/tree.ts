/**
 * Records of tensors ("trees"): nested objects and arrays whose leaves are tensors, as
 * module parameters, gradients and optimiser states are. Mapping a tree keeps its type.
 */
import type { AnyTensor } from "./tensor.ts"
import { isTensor } from "./tensor.ts"

/** Calls `f` on every tensor in `tree`, depth first, in key order. */
export const forEachTensor = (tree: unknown, f: (t: AnyTensor, path: string) => void, path = ""): void => {
  if (isTensor(tree)) {
    f(tree, path)
  } else if (Array.isArray(tree)) {
    tree.forEach((v, i) => forEachTensor(v, f, path === "" ? `${i}` : `${path}.${i}`))
  } else if (tree !== null && typeof tree === "object" && Object.getPrototypeOf(tree) === Object.prototype) {
    for (const [k, v] of Object.entries(tree)) forEachTensor(v, f, path === "" ? k : `${path}.${k}`)
  }
}

/** All tensors of a tree with their dotted paths (PyTorch state-dict style). */
export const tensorsOf = (tree: unknown): Array<readonly [string, AnyTensor]> => {
  const out: Array<readonly [string, AnyTensor]> = []
  forEachTensor(tree, (t, p) => out.push([p, t]))
  return out
}

/**
 * Maps every tensor of a tree, keeping its structure (plain objects and arrays only;
 * other values are kept as they are). The caller promises `f` keeps each tensor's type.
 */
export const mapTensors = <T>(tree: T, f: (t: AnyTensor, path: string) => AnyTensor, path = ""): T => {
  const go = (node: unknown, p: string): unknown => {
    if (isTensor(node)) return f(node, p)
    if (Array.isArray(node)) return node.map((v, i) => go(v, p === "" ? `${i}` : `${p}.${i}`))
    if (node !== null && typeof node === "object" && Object.getPrototypeOf(node) === Object.prototype) {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(node)) out[k] = go(v, p === "" ? k : `${p}.${k}`)
      return out
    }
    return node
  }
  return go(tree, path) as T
}
