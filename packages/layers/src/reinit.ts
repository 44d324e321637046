/**
 * `reinitialize(module, model, spec)`: applies initialisation schemes to every parameter
 * of a kind across a built model — the tutorial's `model.apply(init_fn)`, e.g.
 *
 * ```ts
 * const fresh = yield* reinitialize(net, model, {
 *   Linear: { weight: kaimingUniform({ nonlinearity: "relu" }), bias: zeros }
 * })
 * ```
 *
 * returns a new model in which every `Linear`'s weight and bias were redrawn; nothing is
 * mutated. The spec is typed from the module's description: its keys are the `_tag`s of
 * the modules inside it and, under each, the names of their tensor parameters, so a typo
 * (`Linaer`, `weigth`) is a compile error.
 */
import { ShapeError } from "@effect-nn/shape"
import type { AnyTensor, DType, Tensor } from "@effect-nn/tensor"
import { Device, DeviceError, Rng, freezeTensor, fromHostSync, isTensor } from "@effect-nn/tensor"
import { Effect } from "effect"
import type { Fans, InitScheme } from "./init.ts"
import { fansOf } from "./init.ts"
import type { AnyModule, ModelOf, ParamsOf } from "./module.ts"
import type { ParallelFn } from "./parallel.ts"

/** What the type-level walk treats as a module (structural, cheap to check). */
interface ModuleLike {
  readonly _tag: string
  readonly children: ReadonlyArray<unknown>
  readonly parameterCount: number
}

/** Fields of a module that never hold sub-modules of its own description. */
type NonModuleField = "_tag" | "label" | "name" | "_F" | "_R" | "children" | "init" | "run" | "outputShape" | "parameterCount" | "bufferCount"

/** True when some parameter entry of `M` is a record rather than a tensor (a container). */
type HoldsRecords<M> = ParamsOf<M> extends infer P
  ? unknown extends P ? false
  : true extends { [K in keyof P]: P[K] extends Tensor<unknown, DType> ? false : true }[keyof P] ? true
  : false
  : false

/** The branches of a `parallel` (kept only in its type parameters). */
type ParallelBranches<T> = T extends { readonly _tag: "Parallel"; readonly _F?: ParallelFn<infer Bs, infer _M> } ? Bs : never

/** The modules found in the fields of module `T` (and, for `parallel`, its branches). */
type InnerModules<T, D extends ReadonlyArray<0>> =
  | ModulesIn<ParallelBranches<T>, D>
  | { [K in Exclude<keyof T, NonModuleField>]-?: ModulesIn<T[K], D> }[Exclude<keyof T, NonModuleField>]

/**
 * Every module in a description: `T` itself and, recursively, the modules held in its
 * fields (`modules` of a `sequential`, `block` of a `residual`, `blocks` of a `repeat`,
 * `parts` of a custom `module`, the branches of a `parallel`, or any field holding a
 * module, an array or a record of modules). A container whose parts cannot be seen in its
 * type, and any description deeper than 10 levels, answers `AnyModule` there: the spec
 * then accepts any tag and parameter name.
 */
export type ModulesIn<T, D extends ReadonlyArray<0> = []> = D["length"] extends 10 ? AnyModule
  : T extends ModuleLike ? T | (InnerModules<T, [...D, 0]> extends infer I
    ? [I] extends [never] ? (HoldsRecords<T> extends true ? AnyModule : never) : I
    : never)
  : T extends ReadonlyArray<infer E> ? ModulesIn<E, D>
  : T extends { readonly [key: string]: ModuleLike } ? ModulesIn<T[keyof T], D>
  : never

/** The `_tag` of each module of a union. */
type TagOf<T> = T extends { readonly _tag: infer G extends string } ? G : never

/** The names of the tensor-valued parameters of module `M` (any string when `M` is not precise). */
export type TensorParamNames<M> = M extends unknown
  ? ParamsOf<M> extends infer P
    ? unknown extends P ? string
    : { [K in keyof P & string]: P[K] extends Tensor<unknown, DType> ? K : never }[keyof P & string]
    : never
  : never

/**
 * A reinitialisation spec for module `M`: for each module `_tag` found in `M`'s
 * description, an optional scheme per tensor parameter name.
 */
export type ReinitSpec<M> = {
  readonly [T in TagOf<ModulesIn<M>>]?: SchemesFor<TensorParamNames<Extract<ModulesIn<M>, { readonly _tag: T }>>>
}

/** A scheme per parameter name; a module without parameters accepts none. */
type SchemesFor<Names extends string> = [Names] extends [never] ? { readonly [name: string]: never }
  : { readonly [K in Names]?: InitScheme }

/** A spec as the run-time walk reads it. */
type LooseSpec = Readonly<Record<string, Readonly<Record<string, InitScheme | undefined>> | undefined>>

/**
 * The fans a scheme sees for parameter `t` of a module's record: its own (PyTorch's
 * `_calculate_fan_in_and_fan_out`) when it has 2 or more dims; for a vector (a bias), the
 * fans and shape of the module's `weight` when it has one — PyTorch's `reset_parameters`
 * bounds a Linear bias by the layer's fan_in, and `linearDefaultBias` expects that —
 * otherwise the vector's own ([n]: fan_in = fan_out = n).
 */
const fansFor = (record: Readonly<Record<string, unknown>>, t: AnyTensor): Fans => {
  if (t.dims.length >= 2) return fansOf(t.dims)
  const weight = record["weight"]
  return isTensor(weight) && weight.dims.length >= 2 ? fansOf(weight.dims) : fansOf(t.dims)
}

/**
 * `reinitialize(module, model, spec)`: a new model in which every parameter named in
 * `spec[tag]` of every module whose `_tag` is `tag` — the module itself and all modules
 * below it, found through `module.children` — holds fresh values drawn by its scheme from
 * the `Rng` and uploaded to the current `Device`. Children are visited before their parent
 * and in order (PyTorch's `Module.apply` order). The scheme receives the parameter's
 * element count and fans (see `fansOf`; a vector beside a `weight` gets the weight's fans
 * and shape). Parameters not matched, and the buffers, stay the very same tensors; a
 * frozen parameter stays frozen. Old tensors are not disposed: the caller decides (they
 * belong to whatever scope created them).
 *
 * Fails with `ShapeError` when a matched parameter is not float32, `DeviceError` when the
 * device cannot allocate. Source: PyTorch `nn.Module.apply` with `torch.nn.init` schemes
 * (https://pytorch.org/docs/1.13/generated/torch.nn.Module.html#torch.nn.Module.apply).
 */
export const reinitialize = <M extends AnyModule>(
  module: M,
  model: ModelOf<M>,
  spec: ReinitSpec<M>
): Effect.Effect<ModelOf<M>, ShapeError | DeviceError, Device | Rng> =>
  Effect.gen(function*() {
    const device = yield* Device
    const rng = yield* Rng
    const rules = spec as LooseSpec

    const visit = (m: AnyModule, params: unknown): unknown => {
      if (params === null || typeof params !== "object" || isTensor(params)) return params
      let current = params as Readonly<Record<string, unknown>>
      let copied = false
      const set = (key: string, value: unknown) => {
        if (!copied) {
          current = { ...current }
          copied = true
        }
        ;(current as Record<string, unknown>)[key] = value
      }
      for (const [key, child] of m.children) {
        if (key === "") {
          // A transparent wrapper (`residual` of a leaf): the child's record is this one.
          const next = visit(child, current) as Readonly<Record<string, unknown>>
          if (next !== current) {
            current = next
            copied = true
          }
          continue
        }
        const sub = current[key]
        if (sub === undefined) continue
        const next = visit(child, sub)
        if (next !== sub) set(key, next)
      }
      const rule = rules[m._tag]
      if (rule !== undefined) {
        for (const [name, scheme] of Object.entries(rule)) {
          const t = current[name]
          if (scheme === undefined || !isTensor(t)) continue
          if (t.dtype !== "float32") {
            throw new ShapeError({ op: `reinitialize ${m._tag}.${name}`, reason: `can only initialise float32 parameters, got ${t.dtype}`, shapes: [t.dims] })
          }
          const values = scheme(rng, t.numel, fansFor(current, t))
          if (values.length !== t.numel) {
            throw new ShapeError({ op: `reinitialize ${m._tag}.${name}`, reason: `the scheme returned ${values.length} values for ${t.numel} elements`, shapes: [t.dims] })
          }
          const fresh = fromHostSync(device, t.dims, values)
          set(name, t.frozen ? freezeTensor(fresh) : fresh)
        }
      }
      return current
    }

    const params = yield* Effect.try({
      try: () => visit(module, model.params) as ParamsOf<M>,
      catch: (e) => (e instanceof ShapeError || e instanceof DeviceError ? e : new DeviceError({ reason: `reinitialize failed: ${String(e)}`, cause: e }))
    })
    return { params, buffers: model.buffers } as ModelOf<M>
  })
