/**
 * The optimiser's state in a training checkpoint: per parameter, as PyTorch's
 * `optimizer.state_dict()["state"]` (https://pytorch.org/docs/stable/generated/torch.optim.Optimizer.state_dict.html)
 * keeps it, each tensor under the reserved prefix `__optimizer__.` and PyTorch's name:
 * `__optimizer__.step.<key>` (the parameter's step count, an `I64` scalar),
 * `__optimizer__.exp_avg.<key>`, `__optimizer__.exp_avg_sq.<key>` (Adam's moments),
 * `__optimizer__.momentum_buffer.<key>` (SGD's). A parameter that has never been updated
 * (frozen so far) has no entries. That is format version 2 (`effect_nn.format_version`).
 *
 * Version 1 files (written before steps were per parameter) are read too: they hold every
 * parameter's tensors and one step count in `__metadata__` (`effect_nn.optimizer.step`),
 * which becomes each parameter's step.
 */
import type { RawTensor, TensorBytes } from "@effect-nn/layers"
import { CheckpointError, int64Bytes, tensorBytes, toFloat32, toInt32 } from "@effect-nn/layers"
import type { AdamParamState, AdamState, SgdParamState, SgdState } from "@effect-nn/optim"
import { adamSlots, sgdSlots } from "@effect-nn/optim"
import type { AnyTensor, DeviceError, DeviceHandle } from "@effect-nn/tensor"
import { fromHostSync } from "@effect-nn/tensor"
import { formatShape } from "@effect-nn/shape"
import { Effect, Result } from "effect"

/** The key prefix reserved for optimiser tensors. */
export const optimizerPrefix = "__optimizer__."

/** One parameter's optimiser state as a checkpoint holds it: its tensors by PyTorch's slot names, and its step when the optimiser counts. */
export interface ParamStateRecord {
  readonly tensors: Readonly<Record<string, AnyTensor>>
  readonly step: number | undefined
}

/** How an optimiser's state goes to and from a checkpoint, one parameter at a time. */
export interface OptimizerStateCodec<S> {
  /** The optimiser's names as written (`Adam`); a checkpoint of another optimiser is refused. */
  readonly names: ReadonlyArray<string>
  /** The tensor slots of one parameter's state, PyTorch's names; a parameter's state has all of them or none. */
  readonly slots: ReadonlyArray<string>
  /** Whether a parameter's state has a step count (PyTorch's `state['step']`). */
  readonly counted: boolean
  /** Each parameter's state by parameter path; parameters without state are absent. */
  readonly encode: (state: S) => ReadonlyArray<readonly [string, ParamStateRecord]>
  /** The state from each parameter's record (placed on the parameters' device), or why it cannot be built. */
  readonly decode: (records: ReadonlyArray<readonly [string, ParamStateRecord]>) => Result.Result<S, string>
}

/** Builds a state from records, one parameter at a time, or the first parameter's reason it cannot. */
const decodeEach = <T>(records: ReadonlyArray<readonly [string, ParamStateRecord]>, one: (r: ParamStateRecord) => T | string): Result.Result<{ readonly state: Readonly<Record<string, T>> }, string> => {
  const out: Array<readonly [string, T]> = []
  for (const [path, r] of records) {
    const s = one(r)
    if (typeof s === "string") return Result.fail(`${path}: ${s}`)
    out.push([path, s])
  }
  return Result.succeed({ state: Object.fromEntries(out) })
}

/** Adam's and AdamW's state: per parameter `step`, `exp_avg` (m) and `exp_avg_sq` (v). */
export const adamStateCodec: OptimizerStateCodec<AdamState> = {
  names: ["Adam", "AdamW"],
  slots: ["exp_avg", "exp_avg_sq"],
  counted: true,
  encode: ({ state }) => Object.entries(state).map(([path, s]) => [path, { tensors: Object.fromEntries(adamSlots(s)), step: s.step }] as const),
  decode: (records) =>
    decodeEach(records, (r): AdamParamState | string => {
      const expAvg = r.tensors["exp_avg"]
      const expAvgSq = r.tensors["exp_avg_sq"]
      return r.step === undefined || expAvg === undefined || expAvgSq === undefined ? "Adam's state needs step, exp_avg and exp_avg_sq" : { step: r.step, expAvg, expAvgSq }
    })
}

/** SGD's state: per parameter `momentum_buffer` (none without momentum or before the first step). */
export const sgdStateCodec: OptimizerStateCodec<SgdState> = {
  names: ["SGD"],
  slots: ["momentum_buffer"],
  counted: false,
  encode: ({ state }) => Object.entries(state).map(([path, s]) => [path, { tensors: Object.fromEntries(sgdSlots(s)), step: undefined }] as const),
  decode: (records) =>
    decodeEach(records, (r): SgdParamState | string => {
      const momentumBuffer = r.tensors["momentum_buffer"]
      return momentumBuffer === undefined ? "SGD's state needs momentum_buffer" : { momentumBuffer }
    })
}

const stepName = (key: string): string => `${optimizerPrefix}step.${key}`
const slotName = (slot: string, key: string): string => `${optimizerPrefix}${slot}.${key}`
const maxStep = 2 ** 31 - 1

/**
 * The optimiser's tensors for a checkpoint (format version 2): the step counts, then each
 * slot, every one in parameter order (`keys`, the model's parameter paths). Reads every
 * tensor back from its device. Fails with `CheckpointError` when the state holds a
 * parameter the model lacks, a slot is missing or a step is not an integer in [0, 2³¹).
 */
export const optimizerStateTensors = <S>(keys: ReadonlyArray<string>, state: S, codec: OptimizerStateCodec<S>): Effect.Effect<Array<TensorBytes>, CheckpointError | DeviceError> =>
  Effect.gen(function*() {
    const fail = (reason: string) => new CheckpointError({ file: "<checkpoint>", reason: `cannot write: ${reason}` })
    const records = new Map(codec.encode(state))
    for (const path of records.keys()) {
      if (!keys.includes(path)) return yield* fail(`the optimiser state has an entry for ${path}, which is not a parameter of the model`)
    }
    const out: Array<TensorBytes> = []
    if (codec.counted) {
      for (const key of keys) {
        const record = records.get(key)
        if (record === undefined) continue
        const step = record.step
        if (step === undefined || !Number.isInteger(step) || step < 0 || step > maxStep) return yield* fail(`the optimiser step of ${key} is ${String(step)}, not an integer in [0, 2^31)`)
        out.push({ key: stepName(key), dtype: "I64", shape: [], bytes: int64Bytes(Int32Array.of(step)) })
      }
    }
    for (const slot of codec.slots) {
      for (const key of keys) {
        const record = records.get(key)
        if (record === undefined) continue
        const t = record.tensors[slot]
        if (t === undefined) return yield* fail(`the optimiser state of ${key} has no ${slot}`)
        out.push(yield* tensorBytes(slotName(slot, key), t))
      }
    }
    return out
  })

/** One parameter's optimiser state read from a file, on the host. */
export interface HostParamState {
  /** The parameter's index in `tensorsOf(params)` order. */
  readonly index: number
  readonly key: string
  readonly step: number | undefined
  readonly values: Readonly<Record<string, Float32Array>>
}

/**
 * Reads the optimiser's tensors (`tensors`: every `__optimizer__.` tensor of the file, by
 * key) against the model's parameters, for format `version` 1 or 2, on the host. Returns
 * each parameter's state, or every problem found (missing, mis-shaped or left-over
 * tensors, a bad step), so that nothing is loaded from a file that does not fit.
 */
export const readOptimizerState = <S>(
  tensors: ReadonlyMap<string, RawTensor>,
  params: ReadonlyArray<readonly [string, AnyTensor]>,
  codec: OptimizerStateCodec<S>,
  version: 1 | 2,
  metadata: Readonly<Record<string, string>>
): Result.Result<Array<HostParamState>, Array<string>> => {
  const left = new Map(tensors)
  const problems: Array<string> = []
  const take = (name: string): RawTensor | undefined => {
    const raw = left.get(name)
    left.delete(name)
    return raw
  }
  // Version 1: every parameter has state or none does, and one step count is in the metadata.
  const v1Step = version === 1 && codec.counted ? readV1Step(metadata) : Result.succeed(undefined)
  if (Result.isFailure(v1Step)) problems.push(v1Step.failure)
  const v1Any = params.some(([key]) => codec.slots.some((slot) => tensors.has(slotName(slot, key))))
  const states: Array<HostParamState> = []
  params.forEach(([key, p], index) => {
    const hasStep = version === 2 && codec.counted && tensors.has(stepName(key))
    const has = version === 1 ? v1Any : hasStep || codec.slots.some((slot) => tensors.has(slotName(slot, key)))
    if (!has) return
    let step = Result.isSuccess(v1Step) ? v1Step.success : undefined
    if (version === 2 && codec.counted) {
      const raw = take(stepName(key))
      const value = raw === undefined ? undefined : raw.shape.length === 0 ? toInt32(raw) : Result.fail("not a scalar")
      if (raw === undefined) problems.push(`${stepName(key)} is missing`)
      else if (value === undefined || Result.isFailure(value) || value.success[0]! < 0) problems.push(`${stepName(key)}: ${raw.dtype} ${formatShape(raw.shape)} is not a step count (an integer scalar ≥ 0)`)
      else step = value.success[0]!
    }
    const values: Record<string, Float32Array> = {}
    for (const slot of codec.slots) {
      const name = slotName(slot, key)
      const raw = take(name)
      const host = raw !== undefined && raw.shape.length === p.dims.length && raw.shape.every((d, i) => d === p.dims[i]) ? toFloat32(raw) : undefined
      if (raw === undefined) problems.push(`${name} is missing`)
      else if (host === undefined) problems.push(`${name}: ${raw.dtype} ${formatShape(raw.shape)} against the parameter's float32 ${formatShape(p.dims)}`)
      else values[slot] = host
    }
    states.push({ index, key, step, values })
  })
  for (const key of left.keys()) problems.push(`${key} belongs to no parameter's ${codec.names.join("/")} state`)
  return problems.length > 0 ? Result.fail(problems) : Result.succeed(states)
}

const v1StepKey = "effect_nn.optimizer.step"

/** A version-1 file's one step count (`effect_nn.optimizer.step`). */
const readV1Step = (metadata: Readonly<Record<string, string>>): Result.Result<number, string> => {
  const text = metadata[v1StepKey]
  return text !== undefined && /^\d+$/.test(text) && Number(text) <= maxStep
    ? Result.succeed(Number(text))
    : Result.fail(`${v1StepKey} (format version 1) must be an integer in [0, 2^31), got ${JSON.stringify(text)}`)
}

/**
 * The records of `states` with their tensors on `device`, each shaped as its parameter
 * (`params`, in `tensorsOf` order). Every tensor created is pushed to `created`, so that a
 * caller can release them when a later step fails. Throws when an upload fails.
 */
export const uploadOptimizerState = (
  device: DeviceHandle,
  states: ReadonlyArray<HostParamState>,
  params: ReadonlyArray<readonly [string, AnyTensor]>,
  created: Array<AnyTensor>
): Array<readonly [string, ParamStateRecord]> =>
  states.map((s) => {
    const dims = params[s.index]![1].dims
    const tensors = Object.fromEntries(Object.entries(s.values).map(([slot, v]) => {
      const t = fromHostSync(device, dims, v)
      created.push(t)
      return [slot, t] as const
    }))
    return [s.key, { tensors, step: s.step }] as const
  })
