/**
 * Reverse-mode automatic differentiation over records of tensors.
 *
 * `valueAndGrad(loss)(params)` marks every tensor of `params` as a leaf, runs `loss`
 * (an Effect), then walks the recorded ops backwards from the scalar it returns. Ops
 * record only when an input is tracked, so code run outside `valueAndGrad` (evaluation)
 * records nothing. There is no global tape: what is tracked travels with the tensors.
 */
import type { Shape } from "@effect-nn/shape"
import { ShapeError, formatShape, shapeEquals } from "@effect-nn/shape"
import { Effect } from "effect"
import { DeviceError, GradientError } from "./errors.ts"
import { addSame } from "./ops/elementwise.ts"
import type { F32 } from "./ops/record.ts"
import { result } from "./ops/record.ts"
import type { AnyTensor, Tensor } from "./tensor.ts"
import { view } from "./tensor.ts"
import { mapTensors } from "./tree.ts"

/** Order in which to visit nodes: every tensor after all tensors computed from it. */
const reverseTopological = (root: AnyTensor): Array<AnyTensor> => {
  const order: Array<AnyTensor> = []
  const seen = new Set<number>()
  const stack: Array<[AnyTensor, number]> = [[root, 0]]
  seen.add(root.id)
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!
    const [t, i] = top
    const inputs = t.node?.inputs ?? []
    if (i < inputs.length) {
      top[1] = i + 1
      const next = inputs[i]!
      if (next.tracked && !seen.has(next.id)) {
        seen.add(next.id)
        stack.push([next, 0])
      }
    } else {
      stack.pop()
      order.push(t)
    }
  }
  return order.reverse()
}

/**
 * Gradients of scalar `loss` with respect to every tracked tensor it depends on,
 * keyed by tensor id. Throws `ShapeError` when `loss` is not a one-element tensor.
 */
export const backward = (loss: Tensor<unknown>): Map<number, F32> => {
  const l = loss as F32
  if (l.numel !== 1) {
    throw new ShapeError({ op: "backward", reason: `the loss must be a single value, got ${formatShape(l.dims)}; reduce it with sum or mean`, shapes: [l.dims] })
  }
  const grads = new Map<number, F32>()
  const device = l.device
  grads.set(l.id, result(device, device.backend.fill(1, 1, "float32"), l.dims, "float32", []))
  for (const t of reverseTopological(l)) {
    const g = grads.get(t.id)
    if (g === undefined || t.node === undefined) continue
    const inputGrads = t.node.backward(g, t.node.inputs.map((input) => input.tracked))
    t.node.inputs.forEach((input, i) => {
      const gi = inputGrads[i]
      if (gi === undefined || !input.tracked) return
      if (!shapeEquals(gi.dims, input.dims)) {
        throw new ShapeError({ op: "backward", reason: `internal: gradient ${formatShape(gi.dims)} for input ${formatShape(input.dims)}`, shapes: [gi.dims, input.dims] })
      }
      const prev = grads.get(input.id)
      grads.set(input.id, prev === undefined ? gi : addSame(prev, gi))
    })
  }
  return grads
}

/** The loss and the gradients of a differentiated function. */
export interface ValueAndGrad<P> {
  /** The scalar loss (untracked). */
  readonly value: Tensor<[]>
  /** One gradient per parameter, in a record of exactly the parameters' type. */
  readonly grads: P
}

/**
 * `valueAndGrad(loss)(params)`: runs `loss(params)` and returns its value with the
 * gradient of every tensor in `params` (zeros where the loss does not depend on one).
 * The result's `grads` has the type of `params`. Fails with `ShapeError` when the loss is
 * not a single value or an op inside `loss` threw one (ops throw; a `ShapeError` or
 * `DeviceError` thrown inside `loss` comes out here as a failure, not a defect), and with
 * `GradientError` when the loss was recorded from none of the unfrozen tensors of
 * `params` (an eval-mode forward, detached values, or a nested `valueAndGrad`'s
 * gradients; PyTorch raises in that case too). Source: JAX's `jax.value_and_grad`.
 */
export const valueAndGrad = <P, E, R>(loss: (params: P) => Effect.Effect<Tensor<[]>, E, R>) =>
  (params: P): Effect.Effect<ValueAndGrad<P>, E | ShapeError | DeviceError | GradientError, R> =>
    Effect.map(valueAndGradWithAux((p: P) => Effect.map(loss(p), (value) => [value, undefined] as const))(params), (r) => ({ value: r.value, grads: r.grads }))

/** `valueAndGrad`'s result plus the auxiliary value the loss returned. */
export interface ValueAndGradWithAux<P, A> extends ValueAndGrad<P> {
  readonly aux: A
}

/**
 * Like `valueAndGrad`, for a loss that also returns an auxiliary value that is not
 * differentiated (a train forward's new buffers, the logits): `loss` returns
 * `[scalar, aux]`. Source: JAX's `value_and_grad(has_aux=True)`.
 * Frozen tensors of `params` (see `freeze`) are not differentiated: their gradient is zeros.
 * Fails as `valueAndGrad` does.
 */
export const valueAndGradWithAux = <P, A, E, R>(loss: (params: P) => Effect.Effect<readonly [Tensor<[]>, A], E, R>) =>
  (params: P): Effect.Effect<ValueAndGradWithAux<P, A>, E | ShapeError | DeviceError | GradientError, R> =>
    Effect.gen(function*() {
      const leaves: Array<AnyTensor | undefined> = []
      const tracked = mapTensors(params, (t) => {
        if (t.frozen) {
          leaves.push(undefined)
          return t
        }
        const leaf = view(t, t.shape, undefined, true)
        leaves.push(leaf)
        return leaf
      })
      // Ops throw their ShapeError or DeviceError (a defect inside Effect.map / Effect.sync);
      // as the type says, they come out as failures that Effect.catchTag can handle.
      const [value, aux] = yield* Effect.catchDefect(loss(tracked), (defect) =>
        defect instanceof ShapeError || defect instanceof DeviceError ? Effect.fail(defect) : Effect.die(defect))
      if (!value.tracked && leaves.some((leaf) => leaf !== undefined)) {
        return yield* new GradientError({
          reason: "valueAndGrad: the loss was not computed from the parameters being differentiated, so every gradient would be zero. " +
            "An eval-mode forward records nothing for backward (differentiate a Mode.train forward; gradients with eval-mode " +
            "behaviour, as for saliency maps or adversarial inputs, are not supported yet), values read back or detached are constants, " +
            "and the gradients of a valueAndGrad inside the loss are constants (higher-order gradients are not supported)."
        })
      }
      const grads = yield* Effect.try({
        try: () => backward(value),
        catch: (e) => (e instanceof ShapeError || e instanceof DeviceError ? e : new DeviceError({ reason: `backward failed: ${String(e)}`, cause: e }))
      })
      let i = 0
      const gradTree = mapTensors(params, (t) => {
        const leaf = leaves[i++]
        const g = leaf === undefined ? undefined : grads.get(leaf.id)
        if (g !== undefined) return view(g, t.shape)
        return result(t.device, t.device.backend.fill(t.numel, 0, "float32"), t.shape, "float32", [])
      })
      return { value: view(value, [] as []), grads: gradTree, aux }
    })

/** Only the gradients of `valueAndGrad`. */
export const grad = <P, E, R>(loss: (params: P) => Effect.Effect<Tensor<[]>, E, R>) =>
  (params: P) => Effect.map(valueAndGrad(loss)(params), (r) => r.grads)

export type { Shape }
