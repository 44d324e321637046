/**
 * Moving a model: parameters initialised on the CPU and moved to WebGPU get non-empty
 * gradients there, and one SGD step changes them (no stale CPU copies).
 */
import { Linear, Mode, crossEntropy, forward } from "@effect-nn/layers"
import { sgd } from "@effect-nn/optim"
import { Cpu, Rng, fromArray, mapTensors, toArray, toDevice, valueAndGrad } from "@effect-nn/tensor"
import type { AnyTensor, Tensor } from "@effect-nn/tensor"
import { Effect, Layer, ManagedRuntime } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { run, runtimes } from "./harness.ts"

const cpu = ManagedRuntime.make(Layer.merge(Cpu.layer, Rng.seeded(1)))
afterAll(() => cpu.dispose())

describe("moving parameters from the CPU to WebGPU", () => {
  const gpu = runtimes(1).find(([name]) => name === "webgpu")
  it.runIf(gpu !== undefined)("gradients and an SGD step happen on the new device", async () => {
    const layer = Linear(3, 2)
    const onCpu = (await cpu.runPromise(layer.init)).params
    const before = await cpu.runPromise(Effect.all([toArray(onCpu.weight), toArray(onCpu.bias)]))
    const r = await run(gpu![1], Effect.gen(function*() {
      const params = {
        weight: yield* toDevice(onCpu.weight),
        bias: yield* toDevice(onCpu.bias)
      }
      const kinds = [params.weight.device.backend.kind, params.bias.device.backend.kind]
      const x = yield* fromArray([2, 3], [1, 2, 3, -1, 0.5, 2])
      const y = yield* fromArray([2], [0, 1], "int32")
      const { grads } = yield* valueAndGrad((p: typeof params) =>
        Effect.flatMap(forward(layer, { params: p, buffers: {} }, x as Tensor<[number, 3]>, Mode.train), ({ output }) => Effect.sync(() => crossEntropy(output, y as Tensor<[number], "int32">)))
      )(params)
      const gradKinds: Array<string> = []
      mapTensors(grads, (g: AnyTensor) => {
        gradKinds.push(g.device.backend.kind)
        return g
      })
      const opt = sgd({ lr: 0.5 })
      const next = yield* opt.step(params, grads, yield* opt.init(params))
      return {
        kinds,
        gradKinds,
        gw: Array.from(yield* toArray(grads.weight)),
        w: Array.from(yield* toArray(next.params.weight)),
        b: Array.from(yield* toArray(next.params.bias))
      }
    }))
    expect(r.kinds).toEqual(["webgpu", "webgpu"])
    expect(r.gradKinds).toEqual(["webgpu", "webgpu"])
    expect(r.gw.some((v) => v !== 0)).toBe(true)
    expect(r.w).not.toEqual(Array.from(before[0]))
    // w' = w − 0.5·g exactly as computed on the host
    r.w.forEach((v, i) => expect(v).toBeCloseTo(before[0][i]! - 0.5 * r.gw[i]!, 6))
    expect(r.b).not.toEqual(Array.from(before[1]))
  })
})
