/**
 * Acquiring a WebGPU device: `navigator.gpu` in a browser, Dawn through the `webgpu`
 * package in Node (imported dynamically, so this module also loads in a browser).
 */
import { DeviceError } from "@effect-nn/tensor"
import { Effect } from "effect"
import { fileStore, tuneMatmul } from "./autotune.ts"
import { WebGpuBackend } from "./backend.ts"
import type { MatmulVariant } from "./kernels/context.ts"
import { subgroupWidth } from "./kernels/matmul-subgroup.ts"
import { elementBytes } from "./limits.ts"

/** Options of `acquireWebGpu` / `WebGpu.layer`. */
export interface WebGpuOptions {
  /**
   * Lowers the effective `maxStorageBufferBindingSize` (bytes) below the adapter's:
   * any storage over it is refused with a `DeviceError`. Mostly for tests.
   */
  readonly maxStorageBufferBindingSize?: number
  /** Passed to `requestAdapter`. */
  readonly powerPreference?: GPUPowerPreference
  /**
   * Sleep for most of the predicted GPU time before waiting on a readback, so the waiting
   * thread does not busy-poll. Default: true in Node (where the `webgpu` package polls at
   * 100% CPU while a map is pending), false in browsers.
   */
  readonly pacing?: boolean
  /** Reuse released buffers and textures through the pools (default true); false destroys them instead (tests). */
  readonly pool?: boolean
  /** Forces a matmul kernel. Default: "subgroup" when the adapter's subgroups are exactly 8 wide, else "tiled". */
  readonly matmulVariant?: MatmulVariant
  /** Time every dispatch by kernel (needs `timestamp-query`; see `WebGpuBackend.profileReport`). */
  readonly profile?: boolean
  /**
   * The matmul autotune (see `autotune.ts`): "cached" (default) applies a tuning cached for
   * this adapter and otherwise keeps the default configuration (the subgroup kernel's workgroup
   * shape, the tiled kernel's register block); "measure" also measures
   * and caches when no tuning is cached (seconds: one pipeline compile per candidate and
   * shape; `bench` does it); "off" ignores the cache. Results never depend on it, only speed.
   */
  readonly autotune?: "off" | "cached" | "measure"
  /** Folder of the autotune cache in Node (default `$XDG_CACHE_HOME/effect-nn` or `~/.cache/effect-nn`). */
  readonly autotuneCacheDir?: string
}

/** The `webgpu` package's exports, as far as this module uses them. */
type WebGpuModule = typeof import("webgpu")

/** Limits requested at the adapter's maximum (all others stay at WebGPU's defaults). */
const requestedLimits = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
  "maxUniformBufferBindingSize"
] as const

let nodeGpu: Promise<GPU> | undefined

/** Dawn's `GPU` in Node, created once per process; the package's globals are installed where missing. */
const loadNodeGpu = (): Promise<GPU> => {
  if (nodeGpu === undefined) {
    const specifier = "webgpu"
    nodeGpu = (import(/* @vite-ignore */ specifier) as Promise<WebGpuModule>).then((mod) => {
      const target = globalThis as Record<string, unknown>
      for (const [name, value] of Object.entries(mod.globals)) if (!(name in target)) target[name] = value
      return mod.create([])
    })
  }
  return nodeGpu
}

const browserGpu = (): GPU | undefined =>
  typeof navigator !== "undefined" && "gpu" in navigator && navigator.gpu !== undefined ? navigator.gpu : undefined

/**
 * Creates the backend on `gpu` (`navigator.gpu` or Dawn's `GPU`). `where` only shapes the
 * messages and the default pacing. Throws `DeviceError` when there is no adapter.
 */
export const acquireFrom = async (gpu: GPU, where: "browser" | "node", options: WebGpuOptions = {}): Promise<WebGpuBackend> => {
  const inBrowser = where === "browser"
  const adapter = await gpu.requestAdapter(options.powerPreference === undefined ? undefined : { powerPreference: options.powerPreference })
  if (adapter === null) {
    throw new DeviceError({
      reason: inBrowser
        ? "no WebGPU adapter available: navigator.gpu.requestAdapter() returned null"
        : "no WebGPU adapter available: Dawn found no usable GPU driver (in Node it needs Vulkan, Metal or D3D12; on a machine without a GPU install Mesa's lavapipe)"
    })
  }
  const requiredLimits: Record<string, number> = {}
  for (const name of requestedLimits) {
    const value: unknown = adapter.limits[name]
    if (typeof value === "number") requiredLimits[name] = value
  }
  const subgroups = adapter.features.has("subgroups")
  const profile = options.profile === true && adapter.features.has("timestamp-query")
  const features: Array<GPUFeatureName> = []
  if (subgroups) features.push("subgroups")
  if (profile) features.push("timestamp-query")
  const device = await adapter.requestDevice({ label: "effect-nn", requiredLimits, requiredFeatures: features })
  const info = adapter.info
  const exactly8 = subgroups && info.subgroupMinSize === subgroupWidth && info.subgroupMaxSize === subgroupWidth
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, options.maxStorageBufferBindingSize ?? Infinity)
  const name = [info.description, info.vendor, info.architecture].filter((s) => s !== "").join(", ")
  return new WebGpuBackend(device, {
    description: `WebGPU (${name === "" ? "unknown adapter" : name})`,
    maxBindingBytes: Math.floor(limit / elementBytes) * elementBytes,
    subgroups,
    matmulVariant: options.matmulVariant ?? (exactly8 ? "subgroup" : "tiled"),
    pacing: options.pacing ?? !inBrowser,
    ...(options.pool === undefined ? {} : { pool: options.pool }),
    ...(profile ? { profile } : {})
  })
}

const acquire = async (options: WebGpuOptions): Promise<WebGpuBackend> => {
  const inBrowser = browserGpu()
  const backend = inBrowser !== undefined ? await acquireFrom(inBrowser, "browser", options) : await acquireFrom(await loadNodeGpu(), "node", options)
  const autotune = options.autotune ?? "cached"
  if (autotune !== "off") {
    try {
      await tuneMatmul(backend, await fileStore(options.autotuneCacheDir), autotune === "measure")
    } catch (cause) {
      backend.destroy()
      throw cause
    }
  }
  return backend
}

/**
 * Acquires a WebGPU adapter and device and wraps them as a `Backend` (kind "webgpu").
 * The device is requested with the adapter's maximum storage, buffer and compute limits
 * and the `subgroups` feature when present. Fails with `DeviceError` when there is no
 * adapter (the message says so) or the device cannot be created. The caller owns the
 * backend and must `destroy()` it; `WebGpu.layer` does that with a scope.
 */
export const acquireWebGpu = (options: WebGpuOptions = {}): Effect.Effect<WebGpuBackend, DeviceError> =>
  Effect.tryPromise({
    try: () => acquire(options),
    catch: (cause) => (cause instanceof DeviceError ? cause : new DeviceError({ reason: `acquiring a WebGPU device failed: ${String(cause)}`, cause }))
  })
