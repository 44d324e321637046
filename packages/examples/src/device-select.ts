/**
 * Choosing the device for a program: `webgpu` (default) or `cpu`. When WebGPU has no
 * adapter, the program says so plainly and falls back to the CPU.
 */
import { WebGpu } from "@effect-nn/gpu"
import type { Device } from "@effect-nn/tensor"
import { Cpu } from "@effect-nn/tensor"
import { Cause, Effect, Layer } from "effect"

/** Device names accepted on the command line. */
export const deviceNames = ["webgpu", "cpu"] as const
export type DeviceName = (typeof deviceNames)[number]

/**
 * A layer for the requested device (WebGPU applies a cached matmul autotune, which
 * `pnpm bench` measures). WebGPU failures (no adapter, no Vulkan driver) are
 * reported through `warn` and replaced by the CPU device; `actual` receives the name of
 * the device really used.
 */
export const deviceLayer = (
  requested: DeviceName,
  warn: (message: string) => void,
  actual: (name: DeviceName) => void,
  webgpu: Layer.Layer<Device, unknown> = WebGpu.layer()
): Layer.Layer<Device> =>
  requested === "cpu"
    ? Layer.tap(Cpu.layer, () => Effect.sync(() => actual("cpu")))
    : webgpu.pipe(
      Layer.tap(() => Effect.sync(() => actual("webgpu"))),
      Layer.catchCause((cause) =>
        Layer.tap(Cpu.layer, () =>
          Effect.sync(() => {
            const error = Cause.squash(cause)
            warn(`WebGPU is not available (${error instanceof Error ? error.message : String(error)}); falling back to the CPU device.`)
            actual("cpu")
          })))
    )
