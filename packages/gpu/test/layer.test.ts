/**
 * `WebGpu.layer` end to end: it provides `Device` to tensor programs (values and
 * gradients agree with `Cpu.layer`), turns a request over the binding limit into a typed
 * `DeviceError`, and destroys every buffer when its scope closes.
 */
import { Cpu, crossEntropy, Device, DeviceError, fromArray, linear, type Tensor, toArray, valueAndGrad } from "@effect-nn/tensor"
import { Cause, Effect, Exit, type Layer } from "effect"
import { describe, expect, it } from "vitest"
import { type WebGpuBackend, WebGpu } from "../src/index.ts"
import { expectClose, uniform } from "./helpers.ts"

interface Params {
  readonly weight: Tensor<[5, 7]>
  readonly bias: Tensor<[5]>
}

/** Loss and gradients of a linear layer with cross-entropy on a fixed batch. */
const program = Effect.gen(function*() {
  const x = yield* fromArray([9, 7], uniform(63, -1, 1, 1))
  const labels = yield* fromArray([9], [0, 1, 2, 3, 4, 0, 1, 2, 3], "int32")
  const params: Params = {
    weight: yield* fromArray([5, 7], uniform(35, -0.5, 0.5, 2)),
    bias: yield* fromArray([5], uniform(5, -0.1, 0.1, 3))
  }
  const { value, grads } = yield* valueAndGrad((p: Params) => Effect.succeed(crossEntropy(linear(x, p.weight, p.bias), labels)))(params)
  return {
    loss: yield* toArray(value),
    weight: yield* toArray(grads.weight),
    bias: yield* toArray(grads.bias),
    backend: (yield* Device).backend
  }
})

const run = <A>(effect: Effect.Effect<A, unknown, Device>, layer: Layer.Layer<Device, DeviceError>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, layer))

describe("WebGpu.layer", () => {
  it("runs tensor programs like Cpu.layer and frees everything when its scope closes", async () => {
    const gpu = await run(program, WebGpu.layer())
    const cpu = await run(program, Cpu.layer)
    expect(gpu.backend.kind).toBe("webgpu")
    expectClose(gpu.loss, cpu.loss, 1e-5)
    expectClose(gpu.weight, cpu.weight, 1e-4, 1e-6)
    expectClose(gpu.bias, cpu.bias, 1e-4, 1e-6)
    const stats = (gpu.backend as WebGpuBackend).stats()
    expect(stats.liveBuffers).toBe(0)
    expect(stats.liveBytes).toBe(0)
    expect(() => gpu.backend.alloc(1)).toThrow(DeviceError)
  }, 30_000)

  it("turns a tensor over the binding limit into a DeviceError in the error channel", async () => {
    const exit = await Effect.runPromiseExit(Effect.provide(fromArray([1025], new Float32Array(1025)), WebGpu.layer({ maxStorageBufferBindingSize: 4096 })))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit)) {
      const error = Cause.squash(exit.cause)
      expect(error).toBeInstanceOf(DeviceError)
      expect((error as DeviceError).reason).toContain("4100 bytes")
      expect((error as DeviceError).reason).toContain("4096 bytes")
    }
  }, 30_000)
})
