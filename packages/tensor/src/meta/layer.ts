import { Effect, type Layer } from "effect"
import type { Device } from "../device.ts"
import { deviceLayer } from "../device.ts"
import { MetaBackend } from "./backend.ts"

/** Provides `Device` on the meta backend (shapes only, no data). */
export const layer: Layer.Layer<Device> = deviceLayer(Effect.sync(() => new MetaBackend()))
