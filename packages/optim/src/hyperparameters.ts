/**
 * Hyperparameter checks made when an optimiser is constructed, PyTorch's
 * (torch/optim/sgd.py, adam.py, adamw.py `__init__`: "Invalid learning rate", "Invalid
 * epsilon value", "Invalid beta parameter at index i", "Invalid weight_decay value",
 * "Invalid momentum value", "Nesterov momentum requires a momentum and zero dampening").
 * Each throws the layers' `ConfigError` naming the optimiser, the option, what is allowed
 * and the value received: `Adam: betas[0] must be in [0, 1), got 1`. Stricter than
 * PyTorch in one way: an infinite lr, eps, weight decay or momentum is refused too.
 */
import { ConfigError } from "@effect-nn/layers"

const fail = (optimizer: string, argument: string, expected: string, value: unknown): never => {
  throw new ConfigError({ module: optimizer, argument, expected, value })
}

/** `value` when it is a finite number ≥ 0 (lr, eps, weightDecay, momentum); else throws `ConfigError`. */
export const nonNegative = (optimizer: string, argument: string, value: number): number =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : fail(optimizer, argument, "a finite number ≥ 0", value)

/** Adam's `betas` when each lies in [0, 1); else throws `ConfigError` naming `betas[i]`. */
export const betaPair = (optimizer: string, value: readonly [number, number]): readonly [number, number] => {
  if (!Array.isArray(value) || value.length !== 2) return fail(optimizer, "betas", "a pair [beta1, beta2]", JSON.stringify(value))
  value.forEach((b, i) => {
    if (!(typeof b === "number" && b >= 0 && b < 1)) fail(optimizer, `betas[${i}]`, "in [0, 1)", b)
  })
  return value
}

/** SGD's `nesterov` flag, refused (`ConfigError`) with a zero momentum as PyTorch refuses it. */
export const nesterovFlag = (optimizer: string, nesterov: boolean, momentum: number): boolean =>
  nesterov && momentum === 0
    ? fail(optimizer, "nesterov", "false when momentum is 0 (Nesterov momentum requires a momentum and zero dampening)", nesterov)
    : nesterov
