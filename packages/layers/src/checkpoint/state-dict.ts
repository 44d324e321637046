/**
 * State dicts: a module's parameters and buffers keyed as PyTorch's `state_dict()`
 * (`fc1.weight`, `net.1.running_mean`, `blocks.3.bn1.num_batches_tracked`), to and from
 * safetensors bytes.
 *
 * Saving reads every tensor back from its device and writes float32 tensors as `F32` and
 * int32 ones (the batch-norm counter `num_batches_tracked`) as `I64`, PyTorch's dtype for
 * them, so PyTorch's `load_state_dict(strict=True)` accepts the file for the same
 * architecture.
 *
 * Loading checks the whole file against the module before touching the device: every
 * missing, unexpected and mis-shaped key is found in one pass and reported together in
 * one `CheckpointError`; only when nothing is wrong (or, with `strict: false`, when
 * nothing but missing or unexpected keys is wrong) is a new model built. The caller's
 * model is never changed (models are immutable records), so a failed load leaves it as
 * it was. Source for the rules: PyTorch `nn.Module.load_state_dict`
 * (https://pytorch.org/docs/1.13/generated/torch.nn.Module.html#torch.nn.Module.load_state_dict):
 * `strict` governs missing and unexpected keys; a size mismatch is an error in both modes.
 */
import type { AnyTensor, DType, DeviceError } from "@effect-nn/tensor"
import { Device, dispose, freezeTensor, fromHostSync, mapTensors, toArray } from "@effect-nn/tensor"
import { formatShape } from "@effect-nn/shape"
import { Effect, Result } from "effect"
import { stateEntries } from "../introspect.ts"
import type { AnyModule, ModelOf } from "../module.ts"
import type { KeyMismatch, LoadReport } from "./error.ts"
import { CheckpointError, bytesName } from "./error.ts"
import { formatVersion, formatVersionKey } from "./format.ts"
import type { RawTensor } from "./reader.ts"
import { decodeSafetensors, toFloat32, toInt32 } from "./reader.ts"
import type { TensorBytes } from "./writer.ts"
import { encodeSafetensors, float32Bytes, int64Bytes } from "./writer.ts"

/** Options of saving a state dict. */
export interface SaveOptions {
  /**
   * Written before every key, e.g. `"module."` to write what PyTorch's `DataParallel`
   * writes. Default none.
   */
  readonly prefix?: string
  /** Extra string metadata for `__metadata__` (the format entries are always added). */
  readonly metadata?: Readonly<Record<string, string>>
}

/** Options of loading a state dict. */
export interface LoadOptions {
  /**
   * `true` (default): missing and unexpected keys are errors. `false`: they are returned
   * in the report and every key that fits is loaded. Shape, dtype and range mismatches
   * are errors either way (nothing is broadcast or truncated).
   */
  readonly strict?: boolean
  /**
   * Removed from the start of every checkpoint key that has it, e.g. `"module."` for a
   * file saved from PyTorch's `DataParallel` (PyTorch's
   * `consume_prefix_in_state_dict_if_present`). Applied before `addPrefix`.
   */
  readonly stripPrefix?: string
  /** Put before every checkpoint key (loading a bare file into a wrapped module). */
  readonly addPrefix?: string
  /** The name of the source in errors (a path); default `<bytes>`. */
  readonly file?: string
}

/** A loaded model and how the checkpoint met the module. */
export interface Loaded<M> {
  readonly model: ModelOf<M>
  readonly report: LoadReport
}

/** The metadata every state dict written here carries: PyTorch's and this library's format entries. */
export const formatMetadata: Readonly<Record<string, string>> = { format: "pt", [formatVersionKey]: formatVersion }

/** One tensor's safetensors bytes: float32 as `F32`, int32 as `I64` (read back from its device). */
export const tensorBytes = (key: string, t: AnyTensor): Effect.Effect<TensorBytes, DeviceError> =>
  Effect.map(toArray(t), (values) =>
    values instanceof Int32Array
      ? { key, dtype: "I64" as const, shape: t.dims, bytes: int64Bytes(values) }
      : { key, dtype: "F32" as const, shape: t.dims, bytes: float32Bytes(values) })

/**
 * The state dict of `model` as safetensors tensors, in PyTorch's `state_dict` order,
 * each key preceded by `prefix` (default none). Reads every tensor back (one readback
 * each).
 */
export const stateDictTensors = (module: AnyModule, model: ModelOf<AnyModule>, prefix = ""): Effect.Effect<Array<TensorBytes>, DeviceError> =>
  Effect.forEach(stateEntries(module, model), (e) => tensorBytes(`${prefix}${e.key}`, e.tensor))

/**
 * `model`'s state dict as a safetensors file in memory (for browsers, or to send
 * elsewhere): keys, shapes and dtypes as PyTorch's `state_dict()` of the same
 * architecture, `__metadata__` with `format: pt` and `effect_nn.format_version`.
 */
export const saveStateDictBytes = <M extends AnyModule>(
  module: M,
  model: ModelOf<M>,
  options: SaveOptions = {}
): Effect.Effect<Uint8Array, CheckpointError | DeviceError> =>
  Effect.flatMap(stateDictTensors(module, model as ModelOf<AnyModule>, options.prefix ?? ""), (tensors) =>
    encodeSafetensors(tensors, { ...options.metadata, ...formatMetadata }))

/** How many keys a message lists per kind (the report has them all). */
const listed = 12

const listKeys = <T>(items: ReadonlyArray<T>, show: (t: T) => string): string =>
  items.length <= listed ? items.map(show).join(", ") : `${items.slice(0, listed).map(show).join(", ")}, … and ${items.length - listed} more`

/**
 * A fix when the two key sets differ only by a prefix: the checkpoint's keys are the
 * module's with a prefix (strip it), or the module's are the checkpoint's with one (add it).
 */
const prefixHint = (missing: ReadonlyArray<string>, unexpected: ReadonlyArray<string>): string | undefined => {
  if (missing.length === 0 || unexpected.length === 0) return undefined
  const find = (longer: ReadonlyArray<string>, shorter: ReadonlyArray<string>): string | undefined => {
    const longSet = new Set(longer)
    const first = shorter[0]!
    let tried = 0
    for (const candidate of longer) {
      if (!(candidate.length > first.length && candidate.endsWith(first))) continue
      if (++tried > 16) break
      const prefix = candidate.slice(0, candidate.length - first.length)
      if (shorter.every((k) => longSet.has(prefix + k))) return prefix
    }
    return undefined
  }
  const strip = find(unexpected, missing)
  if (strip !== undefined) {
    return `the checkpoint's keys differ from the module's only by the prefix ${JSON.stringify(strip)} (${JSON.stringify(strip + missing[0])} for ${JSON.stringify(missing[0])}): load with { stripPrefix: ${JSON.stringify(strip)} }`
  }
  const add = find(missing, unexpected)
  if (add !== undefined) {
    return `the module's keys differ from the checkpoint's only by the prefix ${JSON.stringify(add)} (${JSON.stringify(add + unexpected[0])} for ${JSON.stringify(unexpected[0])}): load with { addPrefix: ${JSON.stringify(add)} }`
  }
  return undefined
}

/** The values to upload for one key. */
interface Matched {
  readonly target: AnyTensor
  readonly values: Float32Array | Int32Array
}

const shapesEqual = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.length === b.length && a.every((d, i) => d === b[i])

/** Host values of `raw` for a target of dtype `dtype`, or the reason they do not fit. */
const valuesFor = (raw: RawTensor, dtype: DType): Result.Result<Float32Array | Int32Array, string> => {
  if (dtype === "float32") {
    const values = toFloat32(raw)
    return values === undefined ? Result.fail(`dtype ${raw.dtype} against float32 (a float dtype is needed)`) : Result.succeed(values)
  }
  const values = toInt32(raw)
  return Result.isSuccess(values) ? values : Result.fail(`${values.failure} (target int32)`)
}

/**
 * Matches a checkpoint's tensors against `model`'s state dict, checking keys, shapes and
 * dtypes, without touching the device. Returns the report and, for every key that fits,
 * the values to load.
 */
export const matchStateDict = (
  module: AnyModule,
  model: ModelOf<AnyModule>,
  tensors: ReadonlyArray<RawTensor>,
  options: LoadOptions = {}
): { readonly report: LoadReport; readonly matched: ReadonlyArray<Matched> } => {
  const rename = (key: string): string => {
    const stripped = options.stripPrefix !== undefined && options.stripPrefix !== "" && key.startsWith(options.stripPrefix) ? key.slice(options.stripPrefix.length) : key
    return `${options.addPrefix ?? ""}${stripped}`
  }
  const fromFile = new Map<string, RawTensor>()
  const mismatched: Array<KeyMismatch> = []
  for (const raw of tensors) {
    const key = rename(raw.key)
    const earlier = fromFile.get(key)
    if (earlier !== undefined) {
      mismatched.push({ key, actual: raw.shape, expected: earlier.shape, actualDtype: raw.dtype, expectedDtype: earlier.dtype, reason: `checkpoint keys ${JSON.stringify(earlier.key)} and ${JSON.stringify(raw.key)} both map to it` })
      continue
    }
    fromFile.set(key, raw)
  }
  const entries = stateEntries(module, model)
  const used = new Set<string>()
  const missing: Array<{ key: string; shape: ReadonlyArray<number> }> = []
  const matched: Array<Matched> = []
  const loaded: Array<string> = []
  for (const e of entries) {
    const raw = fromFile.get(e.key)
    if (raw === undefined) {
      missing.push({ key: e.key, shape: e.tensor.dims })
      continue
    }
    used.add(e.key)
    const expectedDtype = e.tensor.dtype
    if (!shapesEqual(raw.shape, e.tensor.dims)) {
      mismatched.push({ key: e.key, actual: raw.shape, expected: e.tensor.dims, actualDtype: raw.dtype, expectedDtype, reason: `shape ${formatShape(raw.shape)} against ${formatShape(e.tensor.dims)}` })
      continue
    }
    const values = valuesFor(raw, expectedDtype)
    if (Result.isFailure(values)) {
      mismatched.push({ key: e.key, actual: raw.shape, expected: e.tensor.dims, actualDtype: raw.dtype, expectedDtype, reason: values.failure })
      continue
    }
    matched.push({ target: e.tensor, values: values.success })
    loaded.push(e.key)
  }
  const unexpected = tensors.filter((t) => !used.has(rename(t.key))).map((t) => ({ key: t.key, shape: t.shape }))
  const hint = prefixHint(missing.map((m) => m.key), unexpected.map((u) => u.key))
  return { report: { loaded, missing, unexpected, mismatched, hint }, matched }
}

/** The reason of a failed load: every kind of problem, with counts and keys. */
export const describeReport = (moduleLabel: string, report: LoadReport, strict: boolean): string => {
  const counts: Array<string> = []
  const lines: Array<string> = []
  if (strict && report.missing.length > 0) {
    counts.push(`${report.missing.length} missing`)
    lines.push(`  missing keys (in the module, not in the checkpoint): ${listKeys(report.missing, (m) => `${m.key} ${formatShape(m.shape)}`)}`)
  }
  if (strict && report.unexpected.length > 0) {
    counts.push(`${report.unexpected.length} unexpected`)
    lines.push(`  unexpected keys (in the checkpoint, not in the module): ${listKeys(report.unexpected, (u) => `${u.key} ${formatShape(u.shape)}`)}`)
  }
  if (report.mismatched.length > 0) {
    counts.push(`${report.mismatched.length} mis-shaped`)
    lines.push(`  mis-shaped keys (checkpoint against module): ${listKeys(report.mismatched, (m) => `${m.key}: ${m.reason}`)}`)
  }
  if (report.hint !== undefined) lines.push(`  hint: ${report.hint}`)
  const name = moduleLabel.split("\n")[0]!
  return [`the state dict does not fit ${name} (${counts.join(", ")} keys); nothing was loaded`, ...lines].join("\n")
}

/**
 * Loads validated checkpoint tensors into a new model of `module` on the current device.
 * Fails with one `CheckpointError` listing every problem (missing and unexpected keys in
 * strict mode; shape, dtype and range mismatches always), before any upload. In
 * non-strict mode the keys the checkpoint lacks keep `model`'s tensors (shared, not
 * copied). Frozen parameters stay frozen. `model`'s own tensors are not released.
 */
export const applyStateDict = <M extends AnyModule>(
  module: M,
  model: ModelOf<M>,
  tensors: ReadonlyArray<RawTensor>,
  options: LoadOptions = {}
): Effect.Effect<Loaded<M>, CheckpointError | DeviceError, Device> =>
  Effect.gen(function*() {
    const strict = options.strict ?? true
    const file = options.file ?? bytesName
    const { report, matched } = matchStateDict(module, model as ModelOf<AnyModule>, tensors, options)
    const fails = report.mismatched.length > 0 || (strict && (report.missing.length > 0 || report.unexpected.length > 0))
    if (fails) return yield* new CheckpointError({ file, reason: describeReport(module.label, report, strict), report })
    const device = yield* Device
    const created: Array<AnyTensor> = []
    const replacement = yield* Effect.try({
      try: () => {
        const map = new Map<AnyTensor, AnyTensor>()
        for (const m of matched) {
          const fresh = fromHostSync(device, m.target.dims, m.values, m.target.dtype)
          created.push(fresh)
          map.set(m.target, m.target.frozen ? freezeTensor(fresh) : fresh)
        }
        return map
      },
      catch: (e) => new CheckpointError({ file, reason: `uploading the checkpoint failed: ${e instanceof Error ? e.message : String(e)}`, cause: e })
    }).pipe(Effect.tapError(() => dispose(created)))
    const swap = (t: AnyTensor) => replacement.get(t) ?? t
    const next = { params: mapTensors(model.params, swap), buffers: mapTensors(model.buffers, swap) } as ModelOf<M>
    return { model: next, report }
  })

/**
 * Loads a safetensors state dict held in memory (a browser `fetch`, a file input) into a
 * new model of `module` on the current device; see `applyStateDict` for the rules and
 * `decodeSafetensors` for the checks made on the bytes.
 */
export const loadStateDictBytes = <M extends AnyModule>(
  bytes: Uint8Array,
  module: M,
  model: ModelOf<M>,
  options: LoadOptions = {}
): Effect.Effect<Loaded<M>, CheckpointError | DeviceError, Device> =>
  Effect.flatMap(decodeSafetensors(bytes, options.file ?? bytesName), (file) => applyStateDict(module, model, file.tensors, options))
