/** `train --device webgpu` with no adapter says so plainly and falls back to the CPU. */
import { DeviceError, Device } from "@effect-nn/tensor"
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { deviceLayer } from "../packages/examples/src/device-select.ts"

describe("device selection", () => {
  it("falls back to the CPU with a plain warning when WebGPU has no adapter", async () => {
    const warnings: Array<string> = []
    let used = ""
    const noAdapter = Layer.effect(Device, Effect.fail(new DeviceError({ reason: "no WebGPU adapter found (requestAdapter returned null)" })))
    const kind = await Effect.runPromise(
      Effect.map(Effect.service(Device), (d) => d.backend.kind).pipe(
        Effect.provide(deviceLayer("webgpu", (m) => warnings.push(m), (n) => (used = n), noAdapter))
      )
    )
    expect(kind).toBe("cpu")
    expect(used).toBe("cpu")
    expect(warnings).toEqual(["WebGPU is not available (no WebGPU adapter found (requestAdapter returned null)); falling back to the CPU device."])
  })
  it("uses WebGPU when it is there", async () => {
    let used = ""
    const kind = await Effect.runPromise(
      Effect.map(Effect.service(Device), (d) => d.backend.kind).pipe(Effect.provide(deviceLayer("webgpu", () => {}, (n) => (used = n))))
    )
    expect(kind).toBe("webgpu")
    expect(used).toBe("webgpu")
  })
})
