/** `WebGpu.layer`: the `Device` service on a WebGPU device. */
import { type Device, type DeviceError, deviceLayer } from "@effect-nn/tensor"
import type { Layer } from "effect"
import { acquireWebGpu, type WebGpuOptions } from "./acquire.ts"

/**
 * Provides `Device` on a WebGPU device acquired with `acquireWebGpu(options)`; the
 * backend (every buffer and the device) is destroyed when the layer's scope closes.
 * Fails with `DeviceError` when no adapter or device is available.
 */
export const layer = (options?: WebGpuOptions): Layer.Layer<Device, DeviceError> => deviceLayer(acquireWebGpu(options))
