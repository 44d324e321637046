/**
 * Per-parameter optimiser state, PyTorch's `optimizer.state`: a record from a parameter's
 * path (`fc1.weight`, as `tensorsOf` names it) to that parameter's own state. A
 * parameter gets its state the first time it is stepped with a gradient (PyTorch's lazy
 * `state` initialisation in `_init_group`); a frozen parameter — PyTorch's parameter whose
 * `grad` is None — is skipped entirely and has no state until it is stepped unfrozen.
 *
 * And `checkStep`, the check every optimiser makes on the host before it touches device
 * memory: the gradients and the state must fit the parameters being stepped.
 */
import type { AnyTensor } from "@effect-nn/tensor"
import { DeviceError, tensorsOf } from "@effect-nn/tensor"
import { ShapeError, formatShape, shapeEquals } from "@effect-nn/shape"

/** Per-parameter state by parameter path; a parameter that has never been stepped unfrozen has no entry. */
export type ParamStates<T> = Readonly<Record<string, T>>

/** The state of the parameter at `path`, or undefined (own entries only: `constructor` is not inherited). */
export const stateOf = <T>(states: ParamStates<T>, path: string): T | undefined => (Object.hasOwn(states, path) ? states[path] : undefined)

/** One parameter of a step: its path, its value and its gradient. */
export interface Stepping {
  readonly path: string
  readonly param: AnyTensor
  readonly grad: AnyTensor
}

/**
 * The parameters of a step with their gradients, in `tensorsOf(params)` order, after
 * checking on the host — before any device work, so a failed step changes nothing — that:
 * - `grads` has the paths and shapes of `params` (`ShapeError`);
 * - every parameter that will be updated (not frozen) and its gradient are float32 (`ShapeError`);
 * - every entry of `state` belongs to one of the parameters being stepped (a state made
 *   for other parameters is refused, as PyTorch's `load_state_dict` refuses a state whose
 *   parameter groups do not match), and each of its tensors (`slotsOf`, named as
 *   PyTorch names them: `exp_avg`) has the parameter's shape and float32 dtype
 *   (`ShapeError` naming the path and both shapes) and lies on the parameter's device
 *   (`DeviceError`).
 * A parameter without an entry is simply new: its state is created at its first update.
 * Throws; the optimisers run it inside `run`, which turns the throw into the Effect's failure.
 */
export const checkStep = <T>(
  optimizer: string,
  params: unknown,
  grads: unknown,
  state: ParamStates<T>,
  slotsOf: (s: T) => ReadonlyArray<readonly [string, AnyTensor]>
): ReadonlyArray<Stepping> => {
  const op = `${optimizer}.step`
  const ps = tensorsOf(params)
  const gs = tensorsOf(grads)
  if (ps.length !== gs.length) {
    throw new ShapeError({ op, reason: `${ps.length} parameters but ${gs.length} gradients; grads must have the structure of params`, shapes: [] })
  }
  const byPath = new Map<string, AnyTensor>()
  const stepping = ps.map(([path, param], i): Stepping => {
    const [gpath, grad] = gs[i]!
    if (gpath !== path || !shapeEquals(grad.dims, param.dims)) {
      throw new ShapeError({ op, reason: `gradient "${gpath}" ${formatShape(grad.dims)} does not match parameter "${path}" ${formatShape(param.dims)}`, shapes: [grad.dims, param.dims] })
    }
    if (byPath.has(path)) throw new ShapeError({ op, reason: `two parameters have the path "${path}"; paths must be unique`, shapes: [param.dims] })
    if (!param.frozen && (param.dtype !== "float32" || grad.dtype !== "float32")) {
      const [what, t] = param.dtype !== "float32" ? ["parameter", param] : ["gradient of", grad]
      throw new ShapeError({ op, reason: `${what} "${path}" is ${t.dtype} ${formatShape(t.dims)}; optimisers update float32 parameters with float32 gradients (freeze it to leave it alone)`, shapes: [t.dims] })
    }
    byPath.set(path, param)
    return { path, param, grad }
  })
  for (const [path, entry] of Object.entries(state)) {
    const param = byPath.get(path)
    const slots = slotsOf(entry)
    if (param === undefined) {
      const known = [...byPath.keys()]
      throw new ShapeError({
        op,
        reason: `the state has an entry for parameter "${path}", which is not among the parameters being stepped (${known.length === 0 ? "none" : known.join(", ")}); this state was made for other parameters`,
        shapes: slots.map(([, t]) => t.dims)
      })
    }
    for (const [slot, t] of slots) {
      if (!shapeEquals(t.dims, param.dims) || t.dtype !== "float32") {
        throw new ShapeError({
          op,
          reason: `the state of parameter "${path}" (${slot}) is ${t.dtype} ${formatShape(t.dims)} but the parameter is ${formatShape(param.dims)}; this state was made for other parameters`,
          shapes: [t.dims, param.dims]
        })
      }
      if (t.device.backend !== param.device.backend) {
        throw new DeviceError({ reason: `${op}: the state of parameter "${path}" (${slot}) is on ${t.device.backend.kind}, the parameter on ${param.device.backend.kind}; keep the state on its parameters' device` })
      }
    }
  }
  return stepping
}

/**
 * The next state: for each parameter in order, its new state when it was updated, else
 * its old one (a frozen parameter keeps what it had), else none. Built with
 * `Object.fromEntries` so every path, however spelled, is an own entry.
 */
export const nextStates = <T>(stepping: ReadonlyArray<Stepping>, previous: ParamStates<T>, updated: ReadonlyMap<string, T>): ParamStates<T> =>
  Object.fromEntries(stepping.flatMap(({ path }): Array<readonly [string, T]> => {
    const s = updated.get(path) ?? stateOf(previous, path)
    return s === undefined ? [] : [[path, s]]
  }))
