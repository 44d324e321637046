/**
 * Field case: a shape error found only at run time (dims known only then) names the path of
 * the layer in the network, the input shape and the expected features — as a typed
 * `ShapeError` in the Effect's failure channel, not a crash.
 */
import { BatchNorm1d, Dropout, Linear, Mode, ReLU, forward, module, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/tensor"
import { fromArray, sym } from "@effect-nn/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { run, runtimes } from "./harness.ts"

// 300 is known only at run time (say, read from a config): the types cannot catch it.
const hidden: number = Number("300")
const Net = module("Net", {
  net: sequential(Linear(784, 512), BatchNorm1d(512), ReLU(), Dropout(0.2), Linear(hidden, 256), ReLU(), Linear(256, 10))
}).forward<[Sym<"B">, 784], [Sym<"B">, number]>((m, x) => m.net(x))

for (const [device, rt] of runtimes()) {
  describe(`run-time shape errors on ${device}`, () => {
    it("names the layer's path (net.4), the input shape and the expected in_features", async () => {
      const error = await run(rt, Effect.gen(function*() {
        const model = yield* Net.init
        const x = yield* fromArray([sym("B", 3), 784], new Float32Array(3 * 784))
        return yield* Effect.flip(forward(Net, model, x, Mode.eval))
      }))
      expect(error._tag).toBe("ShapeError")
      expect(error.message).toBe("net.4: expects input [..., 300] (in_features 300), got [3, 512]")
    })
    it("summary reports the same error without a device", () => {
      expect(() => Net.outputShape([3, 784], "")).toThrow(/net\.4: expects input \[\.\.\., 300\] \(in_features 300\), got \[3, 512\]/)
    })
  })
}
