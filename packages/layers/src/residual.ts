/**
 * `residual(block)`: y = block(x) + x. The block must keep the shape; otherwise it is a
 * compile error naming both shapes. Transparent for state: the block's parameters and
 * buffers keep their own keys (so a residual of `named("fc1", …), named("bn1", …)`
 * has the keys `fc1.weight`, `bn1.running_mean`, as the tutorial's ResidualBlock).
 */
import type { ShapeMismatch, ShapeText } from "@effect-nn/shape"
import { ShapeError, formatShape, shapeEquals } from "@effect-nn/shape"
import { add, isTensor } from "@effect-nn/tensor"
import { Effect } from "effect"
import { ConfigError } from "./errors.ts"
import { checkModule, isModule, showValue } from "./keys.ts"
import { run } from "./run.ts"
import type { AnyModule, Apply, BuffersOf, FnOf, Module, ParamsOf, RequirementsOf, ShapeFn } from "./module.ts"
import type { UnknownRankShape } from "./sequential.ts"

/** True when two shape types are identical. */
type SameShapeType<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

/** Shape transform of `residual(block)` on input S. */
export interface ResidualFn<M> extends ShapeFn {
  readonly Out: Apply<FnOf<M>, this["In"]> extends infer O
    ? O extends ShapeMismatch<string>
      ? O
      : SameShapeType<O, this["In"]> extends true
        ? this["In"]
        : ShapeMismatch<`residual: block maps ${ShapeText<this["In"]>} to ${ShapeText<O>}; output must equal input`>
    : never
}

/**
 * `unknown` when the block can keep a shape; otherwise the mismatch. Checked by feeding
 * the block's own output (for an unpinned input) back into it.
 */
export type ResidualCheck<M> = Apply<FnOf<M>, UnknownRankShape> extends infer O
  ? O extends ShapeMismatch<string>
    ? O
    : Apply<FnOf<M>, O> extends infer O2
      ? O2 extends ShapeMismatch<infer Msg>
        ? ShapeMismatch<`residual: block output ${ShapeText<O>} does not fit its input (${Msg}); output must equal input`>
        : SameShapeType<O2, O> extends true
          ? unknown
          : ShapeMismatch<`residual: block maps ${ShapeText<O>} to ${ShapeText<O2>}; output must equal input`>
      : never
  : never

/**
 * What activation `A` adds to a train forward's requirements: its own (`Rng` for a
 * dropout), or nothing when its type is not known statically (`AnyModule`, as when the
 * options are typed `ResidualOptions`), so that such code still runs a train forward;
 * an activation needing a service then asks for it at run time, as before `A` was typed.
 */
export type ActivationRequirements<A> = unknown extends RequirementsOf<A> ? never : RequirementsOf<A>

/**
 * A residual description: block `M`, and `A` the activation applied after the addition
 * (`undefined` when none; by default any, so `Residual<Block>` also names a block with a
 * ReLU), `AR` what the activation adds to a train forward's requirements (`residual`
 * sets it to `ActivationRequirements<A>`: `Rng` for a dropout). A separate parameter, not
 * computed here, so that `A` stays covariant.
 */
export interface Residual<M extends AnyModule, A extends AnyModule | undefined = AnyModule | undefined, AR = never>
  extends Module<ResidualFn<M>, ParamsOf<M>, BuffersOf<M>, RequirementsOf<M> | AR>
{
  readonly _tag: "Residual"
  readonly block: M
  /** The module applied after the addition, if any. */
  readonly activation: A | undefined
}

/** True when `module` is a `residual(…)` (what `printModule` shows as `Residual(…)`). */
export const isResidual = (module: AnyModule): module is Residual<AnyModule, AnyModule | undefined, unknown> => module._tag === "Residual"

/** Options of `residual`. */
export interface ResidualOptions<A extends AnyModule | undefined = AnyModule | undefined> {
  /**
   * A parameter-free, shape-keeping module applied after the addition, y = act(block(x) + x)
   * — the ResNet and tutorial ResidualBlock pattern (`relu(... + x)`).
   */
  readonly activation?: A
}

/**
 * `residual(block, { activation? })`: adds the block's input to its output (He et al.
 * 2016, "Deep Residual Learning"), then applies `activation` if given. A block that changes
 * the shape is a compile error naming both shapes, and a `ShapeError` naming the path when
 * the dims are only known at run time.
 *
 * Errors: throws `ConfigError` at construction (synchronously) when `block` is not a
 * module, or when `activation` is not a module without parameters or buffers (its state
 * would never be initialised or saved), e.g. `residual: activation must be a module without
 * parameters or buffers (…), got Linear(in_features=4, out_features=4, bias=True)`.
 *
 * Prints (`printModule`) as `Residual(` with the block, then `(activation): …` when given.
 */
export const residual = <M extends AnyModule, A extends AnyModule | undefined = undefined>(
  block: M & ResidualCheck<M>,
  options: ResidualOptions<A> = {}
): Residual<M, A, ActivationRequirements<A>> => {
  checkModule("residual", "block", block)
  const activation = options.activation
  if (activation !== undefined && !(isModule(activation) && activation.parameterCount === 0 && activation.bufferCount === 0)) {
    throw new ConfigError({
      module: "residual",
      argument: "activation",
      expected: "a module without parameters or buffers (an activation such as ReLU())",
      value: isModule(activation) ? activation.label : showValue(activation)
    })
  }
  return {
    _tag: "Residual",
    label: "Residual",
    name: undefined,
    block,
    activation,
    children: block.children.length > 0 ? block.children : [["", block]],
    parameterCount: block.parameterCount,
    bufferCount: block.bufferCount,
    init: block.init as Residual<M, A, ActivationRequirements<A>>["init"],
    run: (ctx, model, x, path) =>
      Effect.gen(function*() {
        const ran = yield* block.run(ctx, model, x, path)
        const sum = yield* run(() => {
          if (!isTensor(x)) throw new ShapeError({ op: path === "" ? "residual" : path, reason: "residual takes one tensor", shapes: [] })
          if (!shapeEquals(ran.output.dims, x.dims)) {
            throw new ShapeError({ op: path === "" ? "residual" : path, reason: `residual block maps ${formatShape(x.dims)} to ${formatShape(ran.output.dims)}; output must equal input`, shapes: [x.dims, ran.output.dims] })
          }
          return add(ran.output, x)
        })
        const output = activation === undefined ? sum : (yield* activation.run(ctx, { params: {}, buffers: {} }, sum, path)).output
        return { output, buffers: ran.buffers as BuffersOf<M> }
      }),
    outputShape: (input, path) => {
      const out = block.outputShape(input, path)
      if (!shapeEquals(out, input)) {
        throw new ShapeError({ op: path === "" ? "residual" : path, reason: `residual block maps ${formatShape(input)} to ${formatShape(out)}; output must equal input`, shapes: [input, out] })
      }
      return input
    }
  }
}
