/**
 * Initialisation schemes for a weight of shape [fan_out, fan_in] (a Linear weight) or a
 * bias. Each scheme draws from the seeded `Rng`. Formulas from PyTorch's `torch.nn.init`
 * documentation (https://pytorch.org/docs/stable/nn.init.html).
 */
import type { RandomSource } from "@effect-nn/tensor"

/** Fan-in and fan-out of the parameter being initialised. */
export interface Fans {
  readonly fanIn: number
  readonly fanOut: number
}

/** Produces `n` initial values for a parameter with the given fans. */
export type InitScheme = (rng: RandomSource, n: number, fans: Fans) => Float32Array

/** Nonlinearities known to `calculateGain` (PyTorch `nn.init.calculate_gain`). */
export type Nonlinearity = "linear" | "relu" | "leaky_relu" | "tanh" | "sigmoid"

/** PyTorch's `calculate_gain`: relu √2, tanh 5/3, leaky_relu √(2/(1+a²)), linear/sigmoid 1. */
export const calculateGain = (nonlinearity: Nonlinearity, param = 0.01): number => {
  switch (nonlinearity) {
    case "relu":
      return Math.SQRT2
    case "tanh":
      return 5 / 3
    case "leaky_relu":
      return Math.sqrt(2 / (1 + param * param))
    default:
      return 1
  }
}

/** All values equal to `value`. */
export const constant = (value: number): InitScheme => (_rng, n) => new Float32Array(n).fill(value)

/** Zeros. */
export const zeros: InitScheme = constant(0)

/** Ones. */
export const ones: InitScheme = constant(1)

/** U(−bound, bound). */
export const uniform = (bound: number): InitScheme => (rng, n) => rng.uniform(n, -bound, bound)

/**
 * Kaiming (He) uniform: U(−b, b) with b = gain·√(3/fan), fan = fan_in (default) or fan_out.
 * `a` is the negative slope for leaky_relu. He et al. 2015; PyTorch `kaiming_uniform_`.
 */
export const kaimingUniform = (options: { nonlinearity?: Nonlinearity; a?: number; mode?: "fan_in" | "fan_out" } = {}): InitScheme =>
  (rng, n, fans) => {
    const gain = calculateGain(options.nonlinearity ?? "leaky_relu", options.a ?? 0)
    const fan = options.mode === "fan_out" ? fans.fanOut : fans.fanIn
    const bound = gain * Math.sqrt(3 / fan)
    return rng.uniform(n, -bound, bound)
  }

/**
 * PyTorch's default `nn.Linear` weight: kaiming_uniform with a = √5, i.e.
 * U(−1/√fan_in, 1/√fan_in).
 */
export const linearDefaultWeight: InitScheme = kaimingUniform({ nonlinearity: "leaky_relu", a: Math.sqrt(5) })

/** PyTorch's default `nn.Linear` bias: U(−1/√fan_in, 1/√fan_in). */
export const linearDefaultBias: InitScheme = (rng, n, fans) => {
  const bound = fans.fanIn > 0 ? 1 / Math.sqrt(fans.fanIn) : 0
  return rng.uniform(n, -bound, bound)
}
