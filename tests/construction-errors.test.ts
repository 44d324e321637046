/**
 * Arguments PyTorch refuses when a module is built are refused here too, at construction,
 * with a `ConfigError` naming the module, the argument, the value and what is allowed —
 * not later as an untyped defect in `init`, duplicated state-dict keys or a failing save:
 * negative or fractional sizes, duplicate child names (PyTorch: "attribute 'fc' already
 * exists"), names that are empty or contain "." (PyTorch's `add_module`), negative
 * `repeat` counts, unknown `parallel` merge modes (a compile error in TypeScript, checked
 * for JavaScript callers). And how `residual` blocks print.
 */
import type { AnyModule, Merge } from "@effect-nn/layers"
import {
  BatchNorm1d,
  ConfigError,
  Conv2d,
  Dropout,
  GRU,
  LSTM,
  Linear,
  Mode,
  ReLU,
  forward,
  module,
  named,
  parallel,
  parallelInputs,
  printModule,
  repeat,
  residual,
  sequential,
  stateEntries,
  summary
} from "@effect-nn/layers"
import { fromArray, toArray } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { run, runtimes } from "./harness.ts"

/** The `ConfigError` that `build` throws; fails the test when it throws nothing or something else. */
const refused = (build: () => unknown): ConfigError => {
  let caught: unknown
  try {
    build()
  } catch (e) {
    caught = e
  }
  if (!(caught instanceof ConfigError)) return expect.fail(`expected a ConfigError, got ${caught === undefined ? "no error" : String(caught)}`)
  expect(caught._tag).toBe("ConfigError")
  return caught
}

/** A value as a JavaScript caller may pass it, past the type checker. */
const untyped = <T>(value: unknown): T => value as T

describe("size arguments are non-negative integers, checked at construction", () => {
  it("Linear(-1, 3), Linear(2.5, 3), Linear(3, -2), Linear(NaN, 3) and Linear(\"4\", 3) are ConfigErrors naming the argument and the value", () => {
    const cases: ReadonlyArray<readonly [() => unknown, string, unknown, string]> = [
      [() => Linear(-1, 3), "inFeatures", -1, "Linear: inFeatures must be a non-negative integer, got -1"],
      [() => Linear(2.5, 3), "inFeatures", 2.5, "Linear: inFeatures must be a non-negative integer, got 2.5"],
      [() => Linear(3, -2), "outFeatures", -2, "Linear: outFeatures must be a non-negative integer, got -2"],
      [() => Linear(Number.NaN, 3), "inFeatures", Number.NaN, "Linear: inFeatures must be a non-negative integer, got NaN"],
      [() => Linear(untyped<number>("4"), 3), "inFeatures", "\"4\"", "Linear: inFeatures must be a non-negative integer, got \"4\""]
    ]
    for (const [build, argument, value, message] of cases) {
      const error = refused(build)
      expect(error.module).toBe("Linear")
      expect(error.argument).toBe(argument)
      expect(error.value).toEqual(value)
      expect(error.message).toBe(message)
    }
  })

  it("the other layers' sizes are checked the same way (recurrent sizes, BatchNorm1d features, Conv2d channels)", () => {
    const cases: ReadonlyArray<readonly [() => unknown, string]> = [
      [() => LSTM(-1, 4), "LSTM: inputSize must be a positive integer, got -1"],
      [() => GRU(3, 2.5), "GRU: hiddenSize must be a positive integer, got 2.5"],
      [() => LSTM(3, 4, { numLayers: 0 }), "LSTM: numLayers must be a positive integer, got 0"],
      [() => BatchNorm1d(-2), "BatchNorm1d: numFeatures must be a positive integer, got -2"],
      [() => Conv2d(1, -4, 3), "Conv2d: outChannels must be a positive integer, got -4"]
    ]
    for (const [build, message] of cases) expect(refused(build).message).toBe(message)
  })
})

const devices = runtimes()
const [, cpu] = devices.find(([name]) => name === "cpu")!

for (const [device, rt] of devices) {
  describe(`zero features, as PyTorch allows them, on ${device}`, () => {
    it("Linear(0, 3) outputs its bias (0, as PyTorch's U(±1/√fan_in) with fan_in 0); Linear(3, 0) outputs [B, 0]", async () => {
      const r = await run(rt, Effect.gen(function*() {
        const empty = Linear(0, 3)
        const none = Linear(3, 0)
        const m1 = yield* empty.init
        const m2 = yield* none.init
        const y1 = yield* forward(empty, m1, yield* fromArray([2, 0], []), Mode.eval)
        const y2 = yield* forward(none, m2, yield* fromArray([2, 3], [1, 2, 3, 4, 5, 6]), Mode.eval)
        return {
          keys: stateEntries(empty, m1).map((e) => [e.key, e.tensor.dims]),
          y1: [y1.dims, Array.from(yield* toArray(y1))],
          y2: y2.dims,
          weight2: m2.params.weight.dims
        }
      }))
      expect(r.keys).toEqual([["weight", [3, 0]], ["bias", [3]]])
      expect(r.y1).toEqual([[2, 3], [0, 0, 0, 0, 0, 0]])
      expect(r.y2).toEqual([2, 0])
      expect(r.weight2).toEqual([0, 3])
    })
  })
}

describe("names and keys follow PyTorch's add_module rules", () => {
  it("named(\"a.b\", …), named(\"\", …) and a non-string name are ConfigErrors naming the value", () => {
    const rule = "a non-empty string without \".\" (it becomes one segment of the state-dict keys, as PyTorch's add_module requires)"
    for (const [name, shown] of [["a.b", "\"a.b\""], ["", "\"\""], [untyped<string>(3), "3"]] as const) {
      const error = refused(() => named(name, Linear(2, 3)))
      expect(error.module).toBe("named")
      expect(error.argument).toBe("name")
      expect(error.message).toBe(`named: name must be ${rule}, got ${shown}`)
    }
  })

  it("a custom module's part keys follow the same rule", () => {
    for (const key of ["a.b", ""]) {
      const error = refused(() => module("Block", { [key]: Linear(2, 3) }).forward<[number, 2], [number, 3]>((_, x) => Effect.succeed(untyped(x))))
      expect(error.module).toBe("Block")
      expect(error.argument).toBe(`the key of parts.${key}`)
      expect(error.message).toContain(`got ${JSON.stringify(key)}`)
    }
  })

  it("two children of a sequential with one name are refused, naming both positions and the name", () => {
    const error = refused(() => sequential(named("fc", Linear(2, 3)), ReLU(), named("fc", Linear(3, 3))))
    expect(error.module).toBe("sequential")
    expect(error.argument).toBe("the key of modules[2]")
    expect(error.value).toBe("\"fc\"")
    expect(error.message).toBe(
      "sequential: the key of modules[2] must be unique among the container's children (modules[0] already has the key \"fc\"; give one another name with named(…)), got \"fc\""
    )
    // A name equal to another module's position collides too ("0.weight" twice).
    expect(refused(() => sequential(Linear(2, 2), named("0", Linear(2, 2)))).message).toBe(
      "sequential: the key of modules[1] must be unique among the container's children (modules[0] already has the key \"0\"; give one another name with named(…)), got \"0\""
    )
  })

  it("distinct names still build, with their keys in order", async () => {
    const net = sequential(named("fc1", Linear(2, 3)), ReLU(), named("fc2", Linear(3, 3)))
    const keys = await run(cpu, Effect.map(net.init, (model) => stateEntries(net, model).map((e) => e.key)))
    expect(keys).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
  })

  it("parallel and parallelInputs refuse duplicate branch names and record keys that are empty or contain \".\"", () => {
    const dup = refused(() => parallel([named("a", Linear(2, 2)), named("a", Linear(2, 2))], "concat"))
    expect(dup.message).toBe(
      "parallel: the key of branches[1] must be unique among the container's children (branches[0] already has the key \"a\"; give one another name with named(…)), got \"a\""
    )
    expect(refused(() => parallelInputs([named("a", Linear(2, 2)), named("a", Linear(2, 2))], "add")).module).toBe("parallelInputs")
    const dotted = refused(() => parallel({ "a.b": Linear(2, 2), c: Linear(2, 2) }, "add"))
    expect(dotted.argument).toBe("the key of branches[\"a.b\"]")
    expect(dotted.message).toContain("got \"a.b\"")
    expect(refused(() => parallel({ "": Linear(2, 2) }, "add")).message).toBe(
      "parallel: the key of branches[\"\"] must be a non-empty string without \".\" (it becomes one segment of the state-dict keys, as PyTorch's add_module requires), got \"\""
    )
  })

  it("a module constructor passed uncalled (ReLU for ReLU()) is refused where it is placed", () => {
    const error = refused(() => sequential(Linear(2, 3), untyped<AnyModule>(ReLU), Linear(3, 3)))
    expect(error.message).toBe("sequential: modules[1] must be a module, not a module constructor (call it: ReLU(…)), got the function ReLU")
    expect(refused(() => named("act", untyped<AnyModule>(ReLU))).argument).toBe("module")
    expect(refused(() => repeat(2, untyped<() => AnyModule>(() => undefined))).message).toBe("repeat: make(0) must be a module, got undefined")
  })
})

describe("repeat counts", () => {
  it("repeat(-1, …) and repeat(1.5, …) are ConfigErrors naming n and the value", () => {
    for (const n of [-1, 1.5, Number.POSITIVE_INFINITY]) {
      const error = refused(() => repeat(n, () => Linear(2, 2)))
      expect(error.module).toBe("repeat")
      expect(error.argument).toBe("n")
      expect(error.message).toBe(`repeat: n must be a non-negative integer (the number of blocks), got ${n}`)
    }
  })

  it("repeat(0, …) is an empty stack, as an empty nn.ModuleList: no keys, the identity", async () => {
    const stack = repeat(0, () => Linear(2, 2))
    const r = await run(cpu, Effect.gen(function*() {
      const model = yield* stack.init
      const y = yield* forward(stack, model, yield* fromArray([1, 2], [1, 2]), Mode.eval)
      return { keys: stateEntries(stack, model).length, y: Array.from(yield* toArray(y)) }
    }))
    expect(r).toEqual({ keys: 0, y: [1, 2] })
  })
})

describe("parallel merge modes", () => {
  it("an unknown merge mode is a ConfigError at construction, not a silent \"add\"", () => {
    const error = refused(() => parallel([Linear(2, 2), Linear(2, 2)], untyped<Merge>("mul")))
    expect(error.module).toBe("parallel")
    expect(error.argument).toBe("merge")
    expect(error.message).toBe("parallel: merge must be \"concat\" or \"add\", got \"mul\"")
    expect(refused(() => parallelInputs({ a: Linear(2, 2) }, untyped<Merge>("max"))).message).toBe("parallelInputs: merge must be \"concat\" or \"add\", got \"max\"")
  })

  it("no branches at all is refused (there would be nothing to merge)", () => {
    expect(refused(() => parallel([], "concat")).message).toBe("parallel: branches must be at least one module, got []")
    expect(refused(() => parallel({}, "add")).message).toBe("parallel: branches must be at least one module, got {}")
  })
})

describe("residual: its activation, and how it prints", () => {
  it("an activation with parameters is refused at construction (its parameters would never be initialised)", () => {
    const error = refused(() => residual(Linear(4, 4), { activation: Linear(4, 4) }))
    expect(error.module).toBe("residual")
    expect(error.argument).toBe("activation")
    expect(error.message).toBe(
      "residual: activation must be a module without parameters or buffers (an activation such as ReLU()), got Linear(in_features=4, out_features=4, bias=True)"
    )
  })

  it("prints as Residual( with the block (no key: its keys are the residual's) and its activation, as summary() shows it", () => {
    const block = residual(sequential(named("fc1", Linear(4, 2)), ReLU(), named("fc2", Linear(2, 4))), { activation: ReLU() })
    const blockLines = [
      "Residual(",
      "  Sequential(",
      "    (fc1): Linear(in_features=4, out_features=2, bias=True)",
      "    (1): ReLU()",
      "    (fc2): Linear(in_features=2, out_features=4, bias=True)",
      "  )",
      "  (activation): ReLU()",
      ")"
    ]
    expect(printModule(block)).toBe(blockLines.join("\n"))
    // Nested under a key, the same text indented by two spaces after its first line.
    const net = sequential(named("input", Linear(8, 4)), named("block", block), named("head", Linear(4, 2)))
    expect(printModule(net)).toBe([
      "Sequential(",
      "  (input): Linear(in_features=8, out_features=4, bias=True)",
      `  (block): ${blockLines[0]}`,
      ...blockLines.slice(1).map((line) => `  ${line}`),
      "  (head): Linear(in_features=4, out_features=2, bias=True)",
      ")"
    ].join("\n"))
    // The summary lists the post-add ReLU (at the residual's path) as the print now does.
    expect(summary(net, [1, 8]).rows.map((r) => [r.layer, r.path])).toEqual([
      ["Linear-1", "input"], ["Linear-2", "block.fc1"], ["ReLU-3", "block.1"], ["Linear-4", "block.fc2"], ["ReLU-5", "block"], ["Linear-6", "head"]
    ])
  })

  it("a leaf block without activation fits on one line; with one, the activation follows it", () => {
    expect(printModule(residual(Linear(4, 4)))).toBe("Residual(Linear(in_features=4, out_features=4, bias=True))")
    expect(printModule(residual(Linear(4, 4), { activation: ReLU() }))).toBe([
      "Residual(",
      "  Linear(in_features=4, out_features=4, bias=True)",
      "  (activation): ReLU()",
      ")"
    ].join("\n"))
  })

  it("a parameter-free activation that needs Rng (Dropout) is allowed and runs in train mode", async () => {
    const block = residual(Linear(2, 2), { activation: Dropout(0) })
    const dims = await run(cpu, Effect.gen(function*() {
      const model = yield* block.init
      const { output } = yield* forward(block, model, yield* fromArray([1, 2], [1, 2]), Mode.train)
      return output.dims
    }))
    expect(dims).toEqual([1, 2])
  })
})
