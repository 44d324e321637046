/**
 * Hyperparameters are checked at construction as PyTorch checks them (torch/optim/sgd.py,
 * adam.py, adamw.py raise ValueError: lr ≥ 0, eps ≥ 0, 0 ≤ beta < 1, weight_decay ≥ 0,
 * momentum ≥ 0, Nesterov only with a momentum), with the layers' `ConfigError` naming the
 * optimiser, the option, what is allowed and the value. No device is needed.
 */
import { ConfigError } from "@effect-nn/layers"
import { adam, adamw, sgd } from "@effect-nn/optim"
import { describe, expect, it } from "vitest"

/** The ConfigError `make` throws, or undefined when it does not throw. */
const thrown = (make: () => unknown): ConfigError | undefined => {
  try {
    make()
    return undefined
  } catch (e) {
    if (e instanceof ConfigError) return e
    throw e
  }
}

describe("optimiser hyperparameters", () => {
  const refused: ReadonlyArray<readonly [string, () => unknown, string]> = [
    ["sgd lr −1", () => sgd({ lr: -1 }), "SGD: lr must be a finite number ≥ 0, got -1"],
    ["sgd lr NaN", () => sgd({ lr: Number.NaN }), "SGD: lr must be a finite number ≥ 0, got NaN"],
    ["sgd lr Infinity", () => sgd({ lr: Infinity }), "SGD: lr must be a finite number ≥ 0, got Infinity"],
    ["sgd momentum −0.9", () => sgd({ lr: 0.1, momentum: -0.9 }), "SGD: momentum must be a finite number ≥ 0, got -0.9"],
    ["sgd weightDecay −1e-4", () => sgd({ lr: 0.1, weightDecay: -1e-4 }), "SGD: weightDecay must be a finite number ≥ 0, got -0.0001"],
    [
      "sgd nesterov without momentum",
      () => sgd({ lr: 0.1, nesterov: true }),
      "SGD: nesterov must be false when momentum is 0 (Nesterov momentum requires a momentum and zero dampening), got true"
    ],
    ["adam lr NaN", () => adam({ lr: Number.NaN }), "Adam: lr must be a finite number ≥ 0, got NaN"],
    ["adam lr −0.001", () => adam({ lr: -0.001 }), "Adam: lr must be a finite number ≥ 0, got -0.001"],
    ["adam betas[0] = 1", () => adam({ betas: [1, 0.999] }), "Adam: betas[0] must be in [0, 1), got 1"],
    ["adam betas[1] = −0.1", () => adam({ betas: [0.9, -0.1] }), "Adam: betas[1] must be in [0, 1), got -0.1"],
    ["adam betas[1] NaN", () => adam({ betas: [0.9, Number.NaN] }), "Adam: betas[1] must be in [0, 1), got NaN"],
    ["adam eps −1e-8", () => adam({ eps: -1e-8 }), "Adam: eps must be a finite number ≥ 0, got -1e-8"],
    ["adam weightDecay −0.1", () => adam({ weightDecay: -0.1 }), "Adam: weightDecay must be a finite number ≥ 0, got -0.1"],
    ["adamw weightDecay −0.01", () => adamw({ weightDecay: -0.01 }), "AdamW: weightDecay must be a finite number ≥ 0, got -0.01"],
    ["adamw betas[0] = 1.5", () => adamw({ betas: [1.5, 0.999] }), "AdamW: betas[0] must be in [0, 1), got 1.5"],
    ["adamw lr −1", () => adamw({ lr: -1 }), "AdamW: lr must be a finite number ≥ 0, got -1"]
  ]
  for (const [name, make, message] of refused) {
    it(`refuses ${name} with a ConfigError at construction`, () => {
      const e = thrown(make)
      expect(e).toBeInstanceOf(ConfigError)
      expect(e?.message).toBe(message)
    })
  }

  it("accepts PyTorch's boundary values: lr 0, momentum 0, eps 0, weight decay 0, beta 0, Nesterov with momentum", () => {
    expect(thrown(() => sgd({ lr: 0, momentum: 0, weightDecay: 0 }))).toBeUndefined()
    expect(thrown(() => sgd({ lr: 0.1, momentum: 0.9, nesterov: true }))).toBeUndefined()
    expect(thrown(() => adam({ lr: 0, betas: [0, 0], eps: 0, weightDecay: 0 }))).toBeUndefined()
    expect(thrown(() => adamw({ betas: [0.99, 0.9999], weightDecay: 0 }))).toBeUndefined()
    expect(thrown(() => adam())).toBeUndefined()
  })

  it("the error's fields name the optimiser, the option, the rule and the value", () => {
    const e = thrown(() => adam({ betas: [0.9, 1] }))
    expect({ module: e?.module, argument: e?.argument, expected: e?.expected, value: e?.value }).toEqual({ module: "Adam", argument: "betas[1]", expected: "in [0, 1)", value: 1 })
  })
})
