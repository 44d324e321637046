/**
 * Misuse of the toolbox is a compile error naming the shapes:
 * a shape-changing block inside `residual`, mismatched `parallel(..., "add")` branches,
 * a custom module fed the wrong width, and a train forward through Dropout (in a chain, or
 * as a residual's activation) run without `Rng`.
 */
import type { ModelOf } from "@effect-nn/layers"
import { BatchNorm1d, Dropout, Linear, Mode, ReLU, forward, module, parallel, parallelInputs, residual, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import { Effect } from "effect"

// expect-error: residual: block output [..., 64] does not fit its input (Linear(256, 128) expects last dim 256, got 64
const shrinking = residual(sequential(Linear(256, 128), ReLU(), Linear(128, 64)))

const sums = parallel([Linear(784, 32), Linear(784, 16)], "add")
// expect-error: parallel(add): branch outputs differ: [..., 32] vs [..., 16]
const useSums = sequential(Linear(784, 784), sums)

const Block = module("Block", { fc: Linear(256, 256) }).forward<[Sym<"B">, 256], [Sym<"B">, 256]>((m, h) => m.fc(h))
// expect-error: Block expects input [B, 256], got [..., 128]
const wrong = sequential(Linear(784, 128), Block)

const net = sequential(Linear(784, 10), Dropout(0.5))
declare const model: ModelOf<typeof net>
declare const x: Tensor<[Sym<"B">, 784]>
// expect-error: Type 'Rng' is not assignable to type 'never'
Effect.runPromise(forward(net, model, x, Mode.train))

// A residual whose activation needs Rng (a dropout after the addition): its train forward needs Rng too.
const dropAfter = residual(Linear(10, 10), { activation: Dropout(0.5) })
declare const dropModel: ModelOf<typeof dropAfter>
declare const x10: Tensor<[Sym<"B">, 10]>
// expect-error: Type 'Rng' is not assignable to type 'never'
Effect.runPromise(forward(dropAfter, dropModel, x10, Mode.train))

// A batch of one through BatchNorm in train mode: refused at compile time (eval is fine).
const bnNet = sequential(Linear(3, 3), BatchNorm1d(3))
declare const bnModel: ModelOf<typeof bnNet>
declare const one: Tensor<[1, 3]>
forward(bnNet, bnModel, one, Mode.eval)
// expect-error: BatchNorm in train mode needs more than one value per channel, got input [1, 3]; use Mode.eval or a batch larger than 1
forward(bnNet, bnModel, one, Mode.train)

// parallelInputs: an input of the wrong width for its branch.
const mm = parallelInputs({ tabular: Linear(10, 32), image: Linear(784, 64) }, "concat")
declare const mmModel: ModelOf<typeof mm>
declare const tab: Tensor<[Sym<"B">, 10]>
declare const img: Tensor<[Sym<"B">, 785]>
// expect-error: Linear(784, 64) expects last dim 784, got 785 (input [B, 785])
forward(mm, mmModel, { tabular: tab, image: img }, Mode.eval)
