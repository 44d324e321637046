/**
 * `sequentialFor<S>()(m1, m2, …)`: a `sequential` whose chain is checked, link by link, on
 * inputs of shape `S` where it is built — so a conv stack's shapes are known and a
 * misfitting layer is a compile error **on that layer's argument**, e.g.
 *
 *   sequentialFor<[Sym<"B">, 1, 28, 28]>()(Conv2d(1, 32, 3), MaxPool2d(2), Flatten(), Linear(5000, 10))
 *   //                                                                               ~~~~~~~~~~~~~~~~
 *   // Linear(5000, 10) expects last dim 5000, got 5408 (input [B, 5408])
 *
 * A plain `sequential` checks its chain on inputs of unknown rank, where a convolution's
 * output size cannot be known: the same error then appears where the network meets a
 * concrete input (`forward`). The result is an ordinary `Sequential` (same keys, same
 * transform); `S` is not enforced at run time beyond what each layer checks.
 */
import type { AnyModule } from "./module.ts"
import type { CheckChain, Sequential } from "./sequential.ts"
import { sequential } from "./sequential.ts"

/**
 * `sequential`, with its chain checked against inputs of shape `S` (see the module
 * comment). Errors: as `sequential`'s — a `ConfigError` at construction for two modules
 * with the same key or an argument that is not a module.
 */
export const sequentialFor = <S>() =>
  <const L extends ReadonlyArray<AnyModule>>(...modules: CheckChain<L, S>): Sequential<L> =>
    sequential<L>(...(modules as unknown as CheckChain<L>))
