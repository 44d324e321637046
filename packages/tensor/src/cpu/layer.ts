import { Effect, type Layer } from "effect"
import type { Device } from "../device.ts"
import { deviceLayer } from "../device.ts"
import { CpuBackend } from "./backend.ts"

/** Provides `Device` on the CPU reference backend. */
export const layer: Layer.Layer<Device> = deviceLayer(Effect.sync(() => new CpuBackend()))
