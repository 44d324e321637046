/**
 * Initialisation schemes for a weight of shape [fan_out, fan_in] (a Linear weight;
 * [out, in, k…] for a convolution) or a bias. Each scheme draws from the seeded `Rng` on
 * the host and returns the values row-major; the caller uploads them. Formulas from
 * PyTorch's `torch.nn.init` (https://pytorch.org/docs/1.13/nn.init.html).
 *
 * Apply a scheme to one layer through its options (`Linear(784, 128, { weightInit })`) or
 * to every matching parameter of a built model with `reinitialize` (`reinit.ts`).
 */
import type { RandomSource } from "@effect-nn/tensor"

/** Fan-in, fan-out and shape of the parameter being initialised. */
export interface Fans {
  /** Inputs feeding one output unit: `shape[1]·∏shape[2:]` for a weight (PyTorch's `fan_in`). */
  readonly fanIn: number
  /** Output units one input feeds: `shape[0]·∏shape[2:]` for a weight (PyTorch's `fan_out`). */
  readonly fanOut: number
  /**
   * The shape of the layer's weight, outermost first (`[out, in]` for a Linear). A bias
   * initialised beside it receives its layer's fans and weight shape, as PyTorch's
   * `reset_parameters` does; `orthogonal` reads the shape.
   */
  readonly shape: ReadonlyArray<number>
}

/**
 * Produces `n` initial values (row-major) for a parameter with the given fans. Pure apart
 * from drawing from `rng`.
 */
export type InitScheme = (rng: RandomSource, n: number, fans: Fans) => Float32Array

/**
 * PyTorch's `_calculate_fan_in_and_fan_out` for a parameter of shape `shape`: with
 * r = ∏shape[2:] (the receptive field, 1 for a matrix), fan_in = shape[1]·r and
 * fan_out = shape[0]·r. PyTorch refuses fewer than 2 dims for the fan-based schemes; here
 * a vector `[n]` gets fan_in = fan_out = n and a scalar 1, 1.
 */
export const fansOf = (shape: ReadonlyArray<number>): Fans => {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1, shape }
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]!, shape }
  const receptive = shape.slice(2).reduce((p, d) => p * d, 1)
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive, shape }
}

/** Nonlinearities known to `calculateGain` (PyTorch 1.13's `nn.init.calculate_gain`). */
export type Nonlinearity =
  | "linear"
  | "conv1d"
  | "conv2d"
  | "conv3d"
  | "conv_transpose1d"
  | "conv_transpose2d"
  | "conv_transpose3d"
  | "sigmoid"
  | "tanh"
  | "relu"
  | "leaky_relu"
  | "selu"

/**
 * PyTorch's `calculate_gain(nonlinearity, param)`: the recommended scale of a layer's
 * weights for the nonlinearity that follows it. linear, conv*, conv_transpose* and
 * sigmoid 1; tanh 5/3; relu √2; leaky_relu √(2/(1 + a²)) with a = `param` (negative slope,
 * default 0.01); selu 3/4. Source: PyTorch 1.13 `torch/nn/init.py`; relu and leaky_relu
 * from He et al. 2015, "Delving Deep into Rectifiers".
 */
export const calculateGain = (nonlinearity: Nonlinearity, param = 0.01): number => {
  switch (nonlinearity) {
    case "relu":
      return Math.SQRT2
    case "tanh":
      return 5 / 3
    case "leaky_relu":
      return Math.sqrt(2 / (1 + param * param))
    case "selu":
      return 3 / 4
    case "linear":
    case "conv1d":
    case "conv2d":
    case "conv3d":
    case "conv_transpose1d":
    case "conv_transpose2d":
    case "conv_transpose3d":
    case "sigmoid":
      return 1
  }
}

/** All values equal to `value` (PyTorch `constant_`). */
export const constant = (value: number): InitScheme => (_rng, n) => new Float32Array(n).fill(value)

/** Zeros (PyTorch `zeros_`). */
export const zeros: InitScheme = constant(0)

/** Ones (PyTorch `ones_`). */
export const ones: InitScheme = constant(1)

/**
 * Uniform values: `uniform(bound)` draws from U(−bound, bound); `uniform({ low, high })`
 * from U(low, high) with PyTorch `uniform_`'s defaults low 0, high 1.
 */
export const uniform = (range: number | { readonly low?: number; readonly high?: number }): InitScheme => {
  const [low, high] = typeof range === "number" ? [-range, range] : [range.low ?? 0, range.high ?? 1]
  return (rng, n) => rng.uniform(n, low, high)
}

/** N(mean, std²) (PyTorch `normal_`, defaults mean 0, std 1). */
export const normal = (options: { readonly mean?: number; readonly std?: number } = {}): InitScheme =>
  (rng, n) => rng.normal(n, options.mean ?? 0, options.std ?? 1)

/**
 * Xavier (Glorot) uniform: U(−a, a) with a = gain·√(6/(fan_in + fan_out)), keeping the
 * variance of activations and gradients equal across layers. `gain` defaults to 1.
 * Source: Glorot & Bengio 2010, "Understanding the difficulty of training deep
 * feedforward neural networks"; PyTorch `xavier_uniform_`.
 */
export const xavierUniform = (options: { readonly gain?: number } = {}): InitScheme =>
  (rng, n, fans) => {
    const bound = (options.gain ?? 1) * Math.sqrt(6 / (fans.fanIn + fans.fanOut))
    return rng.uniform(n, -bound, bound)
  }

/**
 * Xavier (Glorot) normal: N(0, std²) with std = gain·√(2/(fan_in + fan_out)); `gain`
 * defaults to 1. Source: Glorot & Bengio 2010; PyTorch `xavier_normal_`.
 */
export const xavierNormal = (options: { readonly gain?: number } = {}): InitScheme =>
  (rng, n, fans) => rng.normal(n, 0, (options.gain ?? 1) * Math.sqrt(2 / (fans.fanIn + fans.fanOut)))

/** Options of the Kaiming (He) schemes; defaults as PyTorch: a 0, fan_in, leaky_relu. */
export interface KaimingOptions {
  /** The nonlinearity after the layer (default "leaky_relu", whose gain with a = 0 is √2). */
  readonly nonlinearity?: Nonlinearity
  /** The negative slope of a following leaky_relu (default 0). */
  readonly a?: number
  /** "fan_in" (default) keeps the forward variance, "fan_out" the backward variance. */
  readonly mode?: "fan_in" | "fan_out"
}

const kaimingStd = (options: KaimingOptions, fans: Fans): number => {
  const gain = calculateGain(options.nonlinearity ?? "leaky_relu", options.a ?? 0)
  const fan = options.mode === "fan_out" ? fans.fanOut : fans.fanIn
  return fan > 0 ? gain / Math.sqrt(fan) : 0
}

/**
 * Kaiming (He) uniform: U(−b, b) with b = gain·√(3/fan), fan = fan_in (default) or
 * fan_out, gain = `calculateGain(nonlinearity, a)`. Source: He et al. 2015, "Delving Deep
 * into Rectifiers"; PyTorch `kaiming_uniform_`.
 */
export const kaimingUniform = (options: KaimingOptions = {}): InitScheme =>
  (rng, n, fans) => {
    const bound = Math.sqrt(3) * kaimingStd(options, fans)
    return rng.uniform(n, -bound, bound)
  }

/**
 * Kaiming (He) normal: N(0, std²) with std = gain/√fan, fan = fan_in (default) or fan_out,
 * gain = `calculateGain(nonlinearity, a)`. Source: He et al. 2015; PyTorch
 * `kaiming_normal_`.
 */
export const kaimingNormal = (options: KaimingOptions = {}): InitScheme =>
  (rng, n, fans) => rng.normal(n, 0, kaimingStd(options, fans))

/**
 * Q of the QR factorisation of a tall m×k matrix (m ≥ k; column-major `a`, overwritten),
 * by Householder reflections in float64, with each column multiplied by the sign of R's
 * diagonal entry so that the factorisation is the unique one with R's diagonal positive.
 * Returns Q column-major (m×k).
 */
const householderQ = (a: Float64Array, m: number, k: number): Float64Array => {
  const vs: Array<Float64Array | undefined> = []
  const signs = new Float64Array(k)
  for (let j = 0; j < k; j++) {
    const col = j * m
    let norm2 = 0
    for (let i = j; i < m; i++) norm2 += a[col + i]! * a[col + i]!
    const norm = Math.sqrt(norm2)
    // Reflect x = a[j:, j] onto alpha·e₁ with alpha = −sign(x₀)·‖x‖ (no cancellation).
    const alpha = a[col + j]! >= 0 ? -norm : norm
    signs[j] = alpha < 0 ? -1 : 1
    const v = new Float64Array(m - j)
    for (let i = j; i < m; i++) v[i - j] = a[col + i]!
    v[0]! -= alpha
    let vnorm2 = 0
    for (let i = 0; i < v.length; i++) vnorm2 += v[i]! * v[i]!
    if (vnorm2 === 0) {
      vs.push(undefined) // the column is already alpha·e₁: H = I
      continue
    }
    const vnorm = Math.sqrt(vnorm2)
    for (let i = 0; i < v.length; i++) v[i]! /= vnorm
    vs.push(v)
    // a[j:, c] ← (I − 2vvᵀ)·a[j:, c] for the remaining columns.
    for (let c = j; c < k; c++) {
      const base = c * m + j
      let dot = 0
      for (let i = 0; i < v.length; i++) dot += v[i]! * a[base + i]!
      dot *= 2
      for (let i = 0; i < v.length; i++) a[base + i]! -= dot * v[i]!
    }
  }
  // Q = H₀·H₁·…·H_{k−1}·I[:, :k], applied right to left.
  const q = new Float64Array(m * k)
  for (let c = 0; c < k; c++) q[c * m + c] = 1
  for (let j = k - 1; j >= 0; j--) {
    const v = vs[j]
    if (v === undefined) continue
    for (let c = 0; c < k; c++) {
      const base = c * m + j
      let dot = 0
      for (let i = 0; i < v.length; i++) dot += v[i]! * q[base + i]!
      if (dot === 0) continue
      dot *= 2
      for (let i = 0; i < v.length; i++) q[base + i]! -= dot * v[i]!
    }
  }
  // Sign correction (Mezzadri 2007): Q ← Q·diag(sign(diag R)), so Q is Haar-distributed.
  for (let c = 0; c < k; c++) {
    if (signs[c] === 1) continue
    for (let i = 0; i < m; i++) q[c * m + i] = -q[c * m + i]!
  }
  return q
}

/**
 * Orthogonal initialisation: a (semi-)orthogonal matrix times `gain` (default 1). The
 * parameter is viewed as [rows, cols] with rows = shape[0], cols = n / rows (trailing
 * dims flattened, as PyTorch); when the values do not fill `fans.shape` (a bias beside
 * its weight), as a column [n, 1]. A rows×cols matrix of N(0, 1) draws (transposed when
 * rows < cols, so it is tall) is factorised as QR by Householder reflections in float64,
 * Q's columns are multiplied by the signs of R's diagonal (so the distribution is uniform
 * over orthogonal matrices, Mezzadri 2007), and Q (transposed back) is scaled by `gain`.
 * Result: W·Wᵀ = gain²·I when rows ≤ cols, Wᵀ·W = gain²·I when rows ≥ cols.
 * Source: Saxe et al. 2014, "Exact solutions to the nonlinear dynamics of learning in
 * deep linear neural networks"; PyTorch `orthogonal_`.
 */
export const orthogonal = (options: { readonly gain?: number } = {}): InitScheme =>
  (rng, n, fans) => {
    if (n === 0) return new Float32Array(0)
    const gain = options.gain ?? 1
    const shapeNumel = fans.shape.reduce((p, d) => p * d, 1)
    const rows = fans.shape.length >= 1 && shapeNumel === n && fans.shape[0]! > 0 ? fans.shape[0]! : n
    const cols = n / rows
    const flat = rng.normal(n, 0, 1) // [rows, cols] row-major
    const transposed = rows < cols
    const m = transposed ? cols : rows
    const k = transposed ? rows : cols
    // The tall m×k matrix, column-major: tall(i, j) = flat[i, j] or flat[j, i].
    const a = new Float64Array(m * k)
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < m; i++) a[j * m + i] = transposed ? flat[j * cols + i]! : flat[i * cols + j]!
    }
    const q = householderQ(a, m, k)
    const out = new Float32Array(n)
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (transposed ? q[r * m + c]! : q[c * m + r]!)
    }
    return out
  }

/**
 * PyTorch's default `nn.Linear` weight: kaiming_uniform with a = √5, i.e.
 * U(−1/√fan_in, 1/√fan_in). Source: PyTorch `nn.Linear.reset_parameters`.
 */
export const linearDefaultWeight: InitScheme = kaimingUniform({ nonlinearity: "leaky_relu", a: Math.sqrt(5) })

/** PyTorch's default `nn.Linear` bias: U(−1/√fan_in, 1/√fan_in) (0 when fan_in is 0). */
export const linearDefaultBias: InitScheme = (rng, n, fans) => {
  const bound = fans.fanIn > 0 ? 1 / Math.sqrt(fans.fanIn) : 0
  return rng.uniform(n, -bound, bound)
}

/**
 * Applies `scheme` to each of `blocks` equal row blocks of a parameter separately: the
 * shape [R, ...rest] is split into `blocks` parameters [R/blocks, ...rest], each drawn
 * with fans of that block. For a recurrent layer's stacked gates, e.g.
 * `blockwise(4, orthogonal())` gives each LSTM gate's [H, H] block of `weight_hh` its
 * own orthogonal matrix (the whole [4H, H] under `orthogonal()` is only semi-orthogonal).
 * Throws `RangeError` when `blocks` does not divide the rows (or `n` for a vector).
 */
export const blockwise = (blocks: number, scheme: InitScheme): InitScheme =>
  (rng, n, fans) => {
    const shapeNumel = fans.shape.reduce((p, d) => p * d, 1)
    const shape = fans.shape.length >= 1 && shapeNumel === n ? fans.shape : [n]
    const rows = shape[0]!
    if (!(Number.isInteger(blocks) && blocks > 0 && rows % blocks === 0)) {
      throw new RangeError(`blockwise: ${blocks} blocks do not divide the ${rows} rows of [${shape.join(", ")}]`)
    }
    const blockShape = [rows / blocks, ...shape.slice(1)]
    const size = n / blocks
    const out = new Float32Array(n)
    for (let b = 0; b < blocks; b++) out.set(scheme(rng, size, fansOf(blockShape)), b * size)
    return out
  }
