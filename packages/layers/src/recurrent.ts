/**
 * Recurrent layers: `LSTM(inputSize, hiddenSize, options)` and `GRU(…)`, PyTorch's
 * `nn.LSTM` and `nn.GRU` (unidirectional, no projection, no inter-layer dropout).
 *
 * - Layouts: `[T, B, I]` (default, PyTorch's `batch_first=False`), `[B, T, I]` with
 *   `batchFirst: true`, or an unbatched `[T, I]`; the output keeps the layout with the
 *   last dim `hiddenSize`. The sequence length `T` and the batch are never inspected by
 *   the types, so they stay generic (`[B, T, 28]` → `[B, T, 128]` for any `T`).
 * - Parameters, per layer k (`_l0`, `_l1`, …), in PyTorch's state-dict order:
 *   `weight_ih_lk` [G·H, I_k] (I₀ = inputSize, Iₖ = hiddenSize above), `weight_hh_lk`
 *   [G·H, H], and when `bias` `bias_ih_lk` [G·H], `bias_hh_lk` [G·H]; G = 4 gates for the
 *   LSTM in the order i, f, g, o and 3 for the GRU in the order r, z, n.
 * - Initialisation: every parameter U(−1/√H, 1/√H) (PyTorch `RNNBase.reset_parameters`);
 *   `weightInit`, `recurrentInit` and `biasInit` replace it, e.g.
 *   `recurrentInit: blockwise(4, orthogonal())` for an orthogonal matrix per gate.
 * - State: as a module (in `sequential`, a custom module's part) the layer starts from
 *   zeros and returns the output sequence; `forwardLSTM` / `forwardGRU` take an explicit
 *   initial state and also return the final state (h_n, c_n), each [numLayers, B, H]
 *   ([numLayers, H] unbatched) whatever the layout, as PyTorch.
 *
 * Backpropagation through time on every backend: an LSTM layer is one `linear` for the
 * input projections of all steps and one fused `lstmSequence` op over all steps (the
 * backend's recurrence kernels with their backward, 2 kernels per step each way); the
 * GRU cell is composed of differentiable ops (`linear`, `sigmoid`, `tanh`, `mul`, `add`,
 * `sliceLast`, `select`, `stack`) looped over T, so autodiff differentiates it.
 * Sources: PyTorch `torch.nn.LSTM` and `torch.nn.GRU` documentation (equations, gate
 * order, shapes, initialisation); Hochreiter & Schmidhuber 1997 (LSTM, with the forget
 * gate of Gers et al. 2000); Cho et al. 2014 (GRU).
 */
import type { DimText, Mul, Shape, ShapeMismatch, ShapeText } from "@effect-nn/shape"
import { ShapeError, formatShape, shapeEquals } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"
import type { LstmSequenceSpec } from "@effect-nn/tensor"
import { Device, Rng, add, detach, fromHostSync, linear, lstmSequence, mapTensors, mul, reshape, select, sigmoid, sliceLast, stack, sub, tanh } from "@effect-nn/tensor"
import { Effect } from "effect"
import { ConfigError, pythonBoolRepr } from "./errors.ts"
import type { InputCheck } from "./forward.ts"
import type { InitScheme } from "./init.ts"
import { fansOf, uniform } from "./init.ts"
import { leaf } from "./leaf.ts"
import type { Eval, Train } from "./mode.ts"
import type { ForwardError, Model, Module, OutputOf, ShapeFn } from "./module.ts"
import { run } from "./run.ts"

/** The recurrent cells. */
export type RecurrentKind = "LSTM" | "GRU"

/** Gates per cell: 4 for the LSTM (i, f, g, o), 3 for the GRU (r, z, n). */
export type GateCount<K extends RecurrentKind> = K extends "LSTM" ? 4 : 3

/** `0 | 1 | … | N−1` for a literal layer count N (up to 64); `number` otherwise. */
export type LayerIndex<N extends number, Acc extends ReadonlyArray<unknown> = []> = number extends N ? number
  : Acc["length"] extends 64 ? number
  : Acc["length"] extends N ? Acc[number]
  : LayerIndex<N, [...Acc, Acc["length"]]>

type WeightKey<N extends number> = `weight_ih_l${LayerIndex<N>}` | `weight_hh_l${LayerIndex<N>}`
type BiasKey<N extends number> = `bias_ih_l${LayerIndex<N>}` | `bias_hh_l${LayerIndex<N>}`

/** The shape of parameter `K` of a recurrent layer with G gates, input I and hidden H. */
export type RecurrentParamShape<K, G extends number, I extends number, H extends number> = K extends `weight_ih_l${infer J}`
  ? J extends "0" ? [Mul<G, H>, I] : "0" extends J ? [Mul<G, H>, number] : [Mul<G, H>, H]
  : K extends `weight_hh_l${string}` ? [Mul<G, H>, H]
  : [Mul<G, H>]

type Flat<T> = { [K in keyof T]: T[K] }

/**
 * The parameter record of a recurrent layer: `weight_ih_lk`, `weight_hh_lk` and, when
 * `Bias` is true, `bias_ih_lk`, `bias_hh_lk` for k < N (optional when `Bias` is only known
 * as `boolean`). E.g. `LSTM(28, 128)`: `weight_ih_l0: Tensor<[512, 28]>`,
 * `weight_hh_l0: Tensor<[512, 128]>`, `bias_ih_l0`, `bias_hh_l0: Tensor<[512]>`.
 */
export type RecurrentParams<G extends number, I extends number, H extends number, N extends number, Bias extends boolean> = Flat<
  & { readonly [K in WeightKey<N> | ([Bias] extends [true] ? BiasKey<N> : never)]: Tensor<RecurrentParamShape<K, G, I, H>> }
  & { readonly [K in (boolean extends Bias ? BiasKey<N> : never)]?: Tensor<RecurrentParamShape<K, G, I, H>> }
>

type LayoutText<BF extends boolean, I extends number> = [BF] extends [true] ? `[B, T, ${I}]` : [BF] extends [false] ? `[T, B, ${I}]` : `[B, T, ${I}] or [T, B, ${I}]`

/** The output of a recurrent layer on `S`: the last dim `I` becomes `H` (see `RecurrentFn`). */
export type RecurrentOut<Name extends string, I extends number, H extends number, BF extends boolean, S> = number[] extends S ? Array<number> // rank unknown until run time: checked there
  : S extends readonly [...infer Pre, infer L]
    ? number extends Pre["length"] ? RecurrentLastDim<Name, I, H, S, Pre, L>
    : Pre["length"] extends 1 | 2 ? RecurrentLastDim<Name, I, H, S, Pre, L>
    : ShapeMismatch<`${Name}(${I}, ${H}) expects an input ${LayoutText<BF, I>} or unbatched [T, ${I}], got ${ShapeText<S>}`>
  : ShapeMismatch<`${Name}(${I}, ${H}) expects an input ${LayoutText<BF, I>} or unbatched [T, ${I}], got ${ShapeText<S>}`>

type RecurrentLastDim<Name extends string, I extends number, H extends number, S, Pre extends ReadonlyArray<unknown>, L> = number extends L ? [...Pre, H]
  : [L] extends [I] ? [...Pre, H]
  : ShapeMismatch<`${Name}(${I}, ${H}) expects last dim ${I} (input_size), got ${DimText<L>} (input ${ShapeText<S>})`>

/**
 * Shape transform of a recurrent layer: `[T, B, I]` (or `[B, T, I]` when batch-first, or
 * `[T, I]`) → the same with last dim `H`. A literal last dim other than `I`, or a rank
 * other than 2 or 3, is a `ShapeMismatch` naming the dims.
 */
export interface RecurrentFn<Name extends string, I extends number, H extends number, BF extends boolean> extends ShapeFn {
  readonly Out: RecurrentOut<Name, I, H, BF, this["In"]>
}

/**
 * The shape of the state (h₀, c₀, h_n, c_n) for an input of shape `S`: `[N, B, H]`
 * with B the batch dim of the layout, `[N, H]` for an unbatched `[T, I]` input.
 */
export type RecurrentStateShape<S, BF extends boolean, N extends number, H extends number> = S extends readonly [unknown, unknown] ? [N, H]
  : S extends readonly [infer A, infer Bt, unknown] ? [N, [BF] extends [true] ? A : [BF] extends [false] ? Bt : number, H]
  : Array<number>

/** Options of `LSTM` and `GRU`; defaults are PyTorch's. */
export interface RecurrentOptions<N extends number = number, BF extends boolean = boolean, Bias extends boolean = boolean> {
  /** Stacked layers, each reading the previous one's output sequence; default 1. */
  readonly numLayers?: N
  /** Input and output as `[B, T, F]` instead of `[T, B, F]`; default false. */
  readonly batchFirst?: BF
  /** Use `bias_ih_lk` and `bias_hh_lk`; default true. */
  readonly bias?: Bias
  /** Initialisation of every `weight_ih_lk`; default U(−1/√H, 1/√H). */
  readonly weightInit?: InitScheme
  /**
   * Initialisation of every `weight_hh_lk` (the recurrent weights) [G·H, H]; default
   * U(−1/√H, 1/√H). `orthogonal()` makes the whole matrix semi-orthogonal;
   * `blockwise(G, orthogonal())` makes each gate's [H, H] block orthogonal.
   */
  readonly recurrentInit?: InitScheme
  /** Initialisation of every bias; default U(−1/√H, 1/√H). */
  readonly biasInit?: InitScheme
}

/** What every recurrent description carries besides the module fields. */
export interface RecurrentFields<K extends RecurrentKind, I extends number, H extends number, N extends number, BF extends boolean, Bias extends boolean> {
  readonly _tag: K
  readonly inputSize: I
  readonly hiddenSize: H
  readonly numLayers: N
  readonly batchFirst: BF
  readonly bias: Bias
}

/** A recurrent description of kind `K`. */
export interface Recurrent<K extends RecurrentKind, I extends number, H extends number, N extends number, BF extends boolean, Bias extends boolean>
  extends Module<RecurrentFn<K, I, H, BF>, RecurrentParams<GateCount<K>, I, H, N, Bias>, {}>
{
  readonly _tag: K
  readonly inputSize: I
  readonly hiddenSize: H
  readonly numLayers: N
  readonly batchFirst: BF
  readonly bias: Bias
}

/** A loose view of the parameters, whatever the options (run-time code). */
type LooseParams = Readonly<Record<string, Tensor<unknown> | undefined>>

/** The run-time configuration of one recurrent layer stack. */
interface Config {
  readonly kind: RecurrentKind
  readonly inputSize: number
  readonly hiddenSize: number
  readonly numLayers: number
  readonly batchFirst: boolean
  readonly bias: boolean
}

/** A forward pass's sequence output and final states. */
interface Core {
  readonly output: Tensor<unknown>
  /** h_n, when the state was asked for. */
  readonly h: Tensor<unknown> | undefined
  /** c_n (LSTM), when the state was asked for. */
  readonly c: Tensor<unknown> | undefined
}

const gates = (kind: RecurrentKind): number => (kind === "LSTM" ? 4 : 3)

const expectedLayout = (cfg: Config): string =>
  `${cfg.batchFirst ? `[B, T, ${cfg.inputSize}]` : `[T, B, ${cfg.inputSize}]`} or unbatched [T, ${cfg.inputSize}]`

/**
 * Run-time output shape (summaries); throws `ShapeError` naming the path when the input
 * is not of rank 2 or 3 or its last dim is not `inputSize`.
 */
const outputShapeOf = (cfg: Config, input: Shape, where: string): Shape => {
  if ((input.length !== 2 && input.length !== 3) || input[input.length - 1] !== cfg.inputSize) {
    throw new ShapeError({
      op: where,
      reason: `${cfg.kind}(${cfg.inputSize}, ${cfg.hiddenSize}) expects input ${expectedLayout(cfg)} (input_size ${cfg.inputSize}), got ${formatShape(input)}`,
      shapes: [input]
    })
  }
  return [...input.slice(0, -1), cfg.hiddenSize]
}

/** One GRU step: (xₜ, hₜ₋₁) → hₜ; an undefined state is zeros. */
const gruStep = (x: Tensor<unknown>, h: Tensor<unknown> | undefined, w: LayerWeights, hidden: number): Tensor<unknown> => {
  // W_i·xₜ + b_i and W_h·hₜ₋₁ + b_h, [B, 3H] in the order r, z, n (W_h·0 + b_h = b_h).
  const gi = linear(x as Tensor<[number, number]>, w.ih, w.bih)
  const gh = h === undefined ? w.bhh : linear(h as Tensor<[number, number]>, w.hh, w.bhh)
  // r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz)
  const rzPre = sliceLast(gi, 0, 2 * hidden)
  const rz = sigmoid(gh === undefined ? rzPre : add(rzPre, sliceLast(gh, 0, 2 * hidden)))
  const r = sliceLast(rz, 0, hidden)
  const z = sliceLast(rz, hidden, hidden)
  // n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
  const nPre = sliceLast(gi, 2 * hidden, hidden)
  const n = tanh(gh === undefined ? nPre : add(nPre, mul(r, sliceLast(gh, 2 * hidden, hidden))))
  // h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n)
  return h === undefined ? sub(n, mul(z, n)) : add(n, mul(z, sub(h, n)))
}

interface LayerWeights {
  readonly ih: Tensor<[number, number]>
  readonly hh: Tensor<[number, number]>
  readonly bih: Tensor<[number]> | undefined
  readonly bhh: Tensor<[number]> | undefined
}

/**
 * The recurrence over a whole input: checks shapes, runs every layer over every step and
 * stacks the outputs. `h0`/`c0` are [L, B, H] ([L, H] unbatched) or undefined (zeros).
 * Throws `ShapeError` naming `where`.
 */
const recur = (cfg: Config, params: LooseParams, x: Tensor<unknown>, where: string, wantState: boolean, h0?: Tensor<unknown>, c0?: Tensor<unknown>): Core => {
  const dims = x.dims
  outputShapeOf(cfg, dims, where)
  const unbatched = dims.length === 2
  const T = unbatched || !cfg.batchFirst ? dims[0]! : dims[1]!
  const B = unbatched ? 1 : cfg.batchFirst ? dims[0]! : dims[1]!
  const H = cfg.hiddenSize
  const L = cfg.numLayers
  if (T === 0) throw new ShapeError({ op: where, reason: `${cfg.kind} needs a sequence of at least one step, got input ${formatShape(dims)}`, shapes: [dims] })
  const stateShape = unbatched ? [L, H] : [L, B, H]
  const checkState = (name: string, s: Tensor<unknown> | undefined): Tensor<unknown> | undefined => {
    if (s === undefined) return undefined
    if (!shapeEquals(s.dims, stateShape)) {
      throw new ShapeError({
        op: where,
        reason: `${cfg.kind} ${name} must be ${formatShape(stateShape)} (num_layers, ${unbatched ? "" : "batch, "}hidden_size) for input ${formatShape(dims)}, got ${formatShape(s.dims)}`,
        shapes: [s.dims, dims]
      })
    }
    return unbatched ? reshape(s, [L, 1, H]) : s
  }
  const h0s = checkState("h0", h0)
  const c0s = cfg.kind === "LSTM" ? checkState("c0", c0) : undefined
  const missing = (key: string): never => {
    throw new ShapeError({ op: where, reason: `${cfg.kind} model lacks its ${key} parameter (was it initialised with other options?)`, shapes: [dims] })
  }
  const param = (key: string): Tensor<unknown> => params[key] ?? missing(key)
  const weights = (l: number): LayerWeights => ({
    ih: param(`weight_ih_l${l}`) as Tensor<[number, number]>,
    hh: param(`weight_hh_l${l}`) as Tensor<[number, number]>,
    bih: cfg.bias ? (param(`bias_ih_l${l}`) as Tensor<[number]>) : undefined,
    bhh: cfg.bias ? (param(`bias_hh_l${l}`) as Tensor<[number]>) : undefined
  })
  // The input in time-major or batch-first form ([T, 1, I] for an unbatched [T, I]).
  const x3 = unbatched ? reshape(x, [T, 1, cfg.inputSize]) : x
  const timeDim = !unbatched && cfg.batchFirst ? 1 : 0
  const seqShape = (width: number): Shape => (timeDim === 1 ? [B, T, width] : [T, B, width])
  const finalState = (parts: ReadonlyArray<Tensor<unknown>>): Tensor<unknown> => {
    const s = stack(parts, 0)
    return unbatched ? reshape(s, [L, H]) : s
  }
  const hn: Array<Tensor<unknown>> = []
  const cn: Array<Tensor<unknown>> = []
  if (cfg.kind === "LSTM") {
    // Every layer is one fused op over all steps: rows of the [B·T, ·] matrices in the
    // input's own order (row b·T + t batch-first, t·B + b time-major).
    const spec: LstmSequenceSpec = { batch: B, steps: T, hidden: H, batchStride: timeDim === 1 ? T : 1, stepStride: timeDim === 1 ? 1 : B }
    let rows: Tensor<[number, number]> = reshape(x3, [B * T, cfg.inputSize])
    for (let l = 0; l < L; l++) {
      const w = weights(l)
      // xw = x·W_ihᵀ for every step at once (one matmul per layer); the fused op adds
      // b_ih + b_hh inside its cell kernel.
      const bias = w.bih === undefined || w.bhh === undefined ? undefined : add(w.bih, w.bhh)
      const xw = linear(rows, w.ih)
      const hc = lstmSequence(xw, w.hh, bias, h0s === undefined ? undefined : select(h0s, 0, l), c0s === undefined ? undefined : select(c0s, 0, l), spec)
      rows = sliceLast(hc, 0, H) as Tensor<[number, number]>
      if (wantState) {
        const last = select(reshape(hc, seqShape(2 * H)), timeDim, T - 1) // [B, 2H]: h_T | c_T
        hn.push(sliceLast(last, 0, H))
        cn.push(sliceLast(last, H, H))
      }
    }
    const seq = reshape(rows, seqShape(H))
    return {
      output: unbatched ? reshape(seq, [T, H]) : seq,
      h: wantState ? finalState(hn) : undefined,
      c: wantState ? finalState(cn) : undefined
    }
  }
  // GRU: the cell composed of differentiable ops, step by step.
  let layerInput: ReadonlyArray<Tensor<unknown>> | undefined
  for (let l = 0; l < L; l++) {
    const w = weights(l)
    let h: Tensor<unknown> | undefined = h0s === undefined ? undefined : select(h0s, 0, l)
    const outputs: Array<Tensor<unknown>> = []
    for (let t = 0; t < T; t++) {
      const xt = layerInput === undefined ? select(x3, timeDim, t) : layerInput[t]!
      h = gruStep(xt, h, w, H)
      outputs.push(h)
    }
    layerInput = outputs
    hn.push(h!)
  }
  const seq = stack(layerInput!, timeDim)
  return { output: unbatched ? reshape(seq, [T, H]) : seq, h: wantState ? finalState(hn) : undefined, c: undefined }
}

const refuse = (module: string, argument: string, expected: string, value: unknown): never => {
  throw new ConfigError({ module, argument, expected, value })
}

/** PyTorch's `RNNBase.extra_repr`: sizes, then the options that differ from the defaults. */
const labelOf = (cfg: Config): string => {
  let s = `${cfg.kind}(${cfg.inputSize}, ${cfg.hiddenSize}`
  if (cfg.numLayers !== 1) s += `, num_layers=${cfg.numLayers}`
  if (!cfg.bias) s += `, bias=${pythonBoolRepr(cfg.bias)}`
  if (cfg.batchFirst) s += `, batch_first=${pythonBoolRepr(cfg.batchFirst)}`
  return `${s})`
}

const recurrent = <K extends RecurrentKind, I extends number, H extends number, N extends number, BF extends boolean, Bias extends boolean>(
  kind: K,
  inputSize: I,
  hiddenSize: H,
  options: RecurrentOptions<N, BF, Bias>
): Recurrent<K, I, H, N, BF, Bias> => {
  const positive = (argument: string, value: number) => {
    if (!(Number.isInteger(value) && value > 0)) refuse(kind, argument, "a positive integer", value)
  }
  positive("inputSize", inputSize)
  positive("hiddenSize", hiddenSize)
  const numLayers = options.numLayers ?? (1 as N)
  positive("numLayers", numLayers)
  const batchFirst = options.batchFirst ?? (false as BF)
  const bias = options.bias ?? (true as Bias)
  const cfg: Config = { kind, inputSize, hiddenSize, numLayers, batchFirst, bias }
  const G = gates(kind)
  const k = 1 / Math.sqrt(hiddenSize)
  const weightInit = options.weightInit ?? uniform(k)
  const recurrentInit = options.recurrentInit ?? uniform(k)
  const biasInit = options.biasInit ?? uniform(k)
  type P = RecurrentParams<GateCount<K>, I, H, N, Bias>
  let parameterCount = 0
  for (let l = 0; l < numLayers; l++) {
    const inF = l === 0 ? inputSize : hiddenSize
    parameterCount += G * hiddenSize * (inF + hiddenSize) + (bias ? 2 * G * hiddenSize : 0)
  }
  const init = Effect.gen(function*() {
    const device = yield* Device
    const rng = yield* Rng
    return yield* Effect.sync(() => {
      const params: Record<string, Tensor<unknown>> = {}
      // PyTorch's order: per layer weight_ih, weight_hh, bias_ih, bias_hh.
      for (let l = 0; l < numLayers; l++) {
        const inF = l === 0 ? inputSize : hiddenSize
        const ihShape = [G * hiddenSize, inF]
        const hhShape = [G * hiddenSize, hiddenSize]
        const ihFans = fansOf(ihShape)
        const hhFans = fansOf(hhShape)
        params[`weight_ih_l${l}`] = fromHostSync(device, ihShape, weightInit(rng, G * hiddenSize * inF, ihFans))
        params[`weight_hh_l${l}`] = fromHostSync(device, hhShape, recurrentInit(rng, G * hiddenSize * hiddenSize, hhFans))
        if (bias) {
          params[`bias_ih_l${l}`] = fromHostSync(device, [G * hiddenSize], biasInit(rng, G * hiddenSize, ihFans))
          params[`bias_hh_l${l}`] = fromHostSync(device, [G * hiddenSize], biasInit(rng, G * hiddenSize, hhFans))
        }
      }
      // The keys built here are exactly those P names for these options.
      return { params: params as unknown as P, buffers: {} }
    })
  })
  return leaf<RecurrentFn<K, I, H, BF>, P, {}, never, RecurrentFields<K, I, H, N, BF, Bias>>({
    tag: kind,
    label: labelOf(cfg),
    parameterCount,
    init,
    apply: (_ctx, model, x, path) => ({
      output: recur(cfg, model.params as LooseParams, x, path === "" ? kind : path, false).output,
      buffers: model.buffers
    }),
    outputShape: (input, path) => outputShapeOf(cfg, input, path === "" ? kind : path)
  }, { _tag: kind, inputSize, hiddenSize, numLayers, batchFirst, bias })
}

/** An `LSTM` description. */
export interface LSTM<I extends number, H extends number, N extends number = 1, BF extends boolean = false, Bias extends boolean = true>
  extends Recurrent<"LSTM", I, H, N, BF, Bias>
{}

/**
 * `LSTM(inputSize, hiddenSize, { numLayers = 1, batchFirst = false, bias = true })`:
 * a long short-term memory network over a sequence, PyTorch's `nn.LSTM`. For each layer
 * and step t:
 *
 *   i = σ(W_ii xₜ + b_ii + W_hi hₜ₋₁ + b_hi)    f = σ(W_if xₜ + b_if + W_hf hₜ₋₁ + b_hf)
 *   g = tanh(W_ig xₜ + b_ig + W_hg hₜ₋₁ + b_hg)  o = σ(W_io xₜ + b_io + W_ho hₜ₋₁ + b_ho)
 *   cₜ = f ⊙ cₜ₋₁ + i ⊙ g                          hₜ = o ⊙ tanh(cₜ)
 *
 * with h₀ = c₀ = 0; layer k > 0 reads layer k−1's hₜ. Maps `[T, B, I]` (`[B, T, I]`
 * batch-first, `[T, I]` unbatched) to the last layer's hₜ for every t, `[T, B, H]`
 * (`[B, T, H]`, `[T, H]`). Parameters: `weight_ih_lk` [4H, I_k] = W_ii|W_if|W_ig|W_io
 * stacked, `weight_hh_lk` [4H, H], `bias_ih_lk`, `bias_hh_lk` [4H]; all U(±1/√H) by
 * default. For explicit (h₀, c₀) and the final (h_n, c_n) use `forwardLSTM`.
 *
 * Errors: throws `ConfigError` at construction when a size or `numLayers` is not a
 * positive integer; a forward fails with `ShapeError` naming the layer path when the
 * input is not `[…, I]` of rank 2 or 3 or has no steps.
 * Source: PyTorch `torch.nn.LSTM` (equations, gate order, shapes, init).
 */
export const LSTM = <const I extends number, const H extends number, const N extends number = 1, const BF extends boolean = false, const Bias extends boolean = true>(
  inputSize: I,
  hiddenSize: H,
  options: RecurrentOptions<N, BF, Bias> = {}
): LSTM<I, H, N, BF, Bias> => recurrent("LSTM", inputSize, hiddenSize, options)

/** A `GRU` description. */
export interface GRU<I extends number, H extends number, N extends number = 1, BF extends boolean = false, Bias extends boolean = true>
  extends Recurrent<"GRU", I, H, N, BF, Bias>
{}

/**
 * `GRU(inputSize, hiddenSize, { numLayers = 1, batchFirst = false, bias = true })`:
 * a gated recurrent unit network, PyTorch's `nn.GRU`. For each layer and step t:
 *
 *   r = σ(W_ir xₜ + b_ir + W_hr hₜ₋₁ + b_hr)    z = σ(W_iz xₜ + b_iz + W_hz hₜ₋₁ + b_hz)
 *   n = tanh(W_in xₜ + b_in + r ⊙ (W_hn hₜ₋₁ + b_hn))
 *   hₜ = (1 − z) ⊙ n + z ⊙ hₜ₋₁
 *
 * with h₀ = 0 (note b_hn inside the product with r, as PyTorch). Shapes as `LSTM`, with 3
 * gates: `weight_ih_lk` [3H, I_k] = W_ir|W_iz|W_in, `weight_hh_lk` [3H, H], biases [3H].
 * For an explicit h₀ and the final h_n use `forwardGRU`.
 * Errors as `LSTM`. Sources: PyTorch `torch.nn.GRU`; Cho et al. 2014, "Learning Phrase
 * Representations using RNN Encoder–Decoder for Statistical Machine Translation".
 */
export const GRU = <const I extends number, const H extends number, const N extends number = 1, const BF extends boolean = false, const Bias extends boolean = true>(
  inputSize: I,
  hiddenSize: H,
  options: RecurrentOptions<N, BF, Bias> = {}
): GRU<I, H, N, BF, Bias> => recurrent("GRU", inputSize, hiddenSize, options)

/** An LSTM's state: hidden and cell, each [numLayers, B, H] ([numLayers, H] unbatched). */
export interface LSTMState<St> {
  readonly h: Tensor<St>
  readonly c: Tensor<St>
}

/** What `forwardLSTM` returns: the output sequence and the final state (h_n, c_n). */
export interface LSTMResult<Out, St> {
  /** The last layer's hₜ for every step, in the input's layout. */
  readonly output: Tensor<Out>
  /** Every layer's h at the last step, [numLayers, B, H]. */
  readonly h_n: Tensor<St>
  /** Every layer's c at the last step, [numLayers, B, H]. */
  readonly c_n: Tensor<St>
}

/** What `forwardGRU` returns: the output sequence and the final hidden state h_n. */
export interface GRUResult<Out, St> {
  /** The last layer's hₜ for every step, in the input's layout. */
  readonly output: Tensor<Out>
  /** Every layer's h at the last step, [numLayers, B, H]. */
  readonly h_n: Tensor<St>
}

const where = (m: { readonly _tag: string; readonly name: string | undefined }): string => m.name ?? m._tag

const detachAll = <T>(tree: T): T => mapTensors(tree, (t) => detach(t))

const cfgOf = (m: { readonly _tag: RecurrentKind; readonly inputSize: number; readonly hiddenSize: number; readonly numLayers: number; readonly batchFirst: boolean; readonly bias: boolean }): Config => ({
  kind: m._tag,
  inputSize: m.inputSize,
  hiddenSize: m.hiddenSize,
  numLayers: m.numLayers,
  batchFirst: m.batchFirst,
  bias: m.bias
})

/**
 * Runs an `LSTM` from an explicit initial state and returns the output with the final
 * state, PyTorch's `output, (h_n, c_n) = lstm(x, (h0, c0))`. `state` omitted means zeros.
 * `x` is `[T, B, I]` (`[B, T, I]` batch-first, `[T, I]` unbatched); `h`, `c`, `h_n`,
 * `c_n` are `[numLayers, B, H]` (`[numLayers, H]` unbatched) in every layout.
 * Train mode records for backward when parameters, input or state are tracked (inside
 * `valueAndGrad`: gradients reach h₀ and c₀ too); eval mode detaches everything.
 * Fails with `ShapeError` when the input or a state has the wrong shape.
 */
export const forwardLSTM = <I extends number, H extends number, N extends number, BF extends boolean, Bias extends boolean, S>(
  lstm: LSTM<I, H, N, BF, Bias>,
  model: NoInfer<Model<RecurrentParams<4, I, H, N, Bias>, {}>>,
  x: Tensor<S> & InputCheck<LSTM<I, H, N, BF, Bias>, S>,
  mode: Train | Eval,
  state?: NoInfer<LSTMState<RecurrentStateShape<S, BF, N, H>>>
): Effect.Effect<LSTMResult<OutputOf<LSTM<I, H, N, BF, Bias>, S>, RecurrentStateShape<S, BF, N, H>>, ForwardError> =>
  run(() => {
    const ev = mode._tag === "eval"
    const params = (ev ? detachAll(model.params) : model.params) as LooseParams
    const input: Tensor<unknown> = ev ? detach(x) : x
    const s = state === undefined ? undefined : ev ? detachAll(state) : state
    const r = recur(cfgOf(lstm), params, input, where(lstm), true, s?.h, s?.c)
    type R = LSTMResult<OutputOf<LSTM<I, H, N, BF, Bias>, S>, RecurrentStateShape<S, BF, N, H>>
    return { output: r.output, h_n: r.h, c_n: r.c } as R
  })

/**
 * Runs a `GRU` from an explicit initial hidden state `h0` and returns the output with the
 * final state, PyTorch's `output, h_n = gru(x, h0)`. `h0` omitted means zeros. Shapes,
 * modes and errors as `forwardLSTM`.
 */
export const forwardGRU = <I extends number, H extends number, N extends number, BF extends boolean, Bias extends boolean, S>(
  gru: GRU<I, H, N, BF, Bias>,
  model: NoInfer<Model<RecurrentParams<3, I, H, N, Bias>, {}>>,
  x: Tensor<S> & InputCheck<GRU<I, H, N, BF, Bias>, S>,
  mode: Train | Eval,
  h0?: NoInfer<Tensor<RecurrentStateShape<S, BF, N, H>>>
): Effect.Effect<GRUResult<OutputOf<GRU<I, H, N, BF, Bias>, S>, RecurrentStateShape<S, BF, N, H>>, ForwardError> =>
  run(() => {
    const ev = mode._tag === "eval"
    const params = (ev ? detachAll(model.params) : model.params) as LooseParams
    const input: Tensor<unknown> = ev ? detach(x) : x
    const h = h0 === undefined ? undefined : ev ? detach(h0) : h0
    const r = recur(cfgOf(gru), params, input, where(gru), true, h)
    return { output: r.output, h_n: r.h } as GRUResult<OutputOf<GRU<I, H, N, BF, Bias>, S>, RecurrentStateShape<S, BF, N, H>>
  })
