/**
 * Test harness: the devices every value test runs on, one shared device per test file
 * (device creation on lavapipe is slow), reference files from ../shared/reference, and
 * closeness checks with PyTorch's rule |a − b| ≤ atol + rtol·|b|.
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Device } from "@effect-nn/tensor"
import { Cpu, Rng } from "@effect-nn/tensor"
import { Effect, Layer, ManagedRuntime } from "effect"
import { afterAll, expect } from "vitest"

const here = dirname(fileURLToPath(import.meta.url))

/** `../shared/reference/<file>` parsed. */
export const reference = <T = ReferenceFile>(file: string): T => {
  const candidates = [join(here, "..", "..", "shared", "reference", file), join(here, "..", "shared", "reference", file)]
  for (const path of candidates) {
    try {
      return JSON.parse(readFileSync(path, "utf8")) as T
    } catch {
      continue
    }
  }
  throw new Error(`reference file ${file} not found beside the project (../shared/reference)`)
}

/** A reference tensor: dtype, shape, flat row-major data. */
export interface RefTensor {
  readonly dtype: "float32" | "int64"
  readonly shape: Array<number>
  readonly data: Array<number>
}

/** The common layout of a reference file. */
export interface ReferenceFile {
  readonly cases: Array<Record<string, any>>
  readonly [key: string]: unknown
}

export type Runtime = ManagedRuntime.ManagedRuntime<Device | Rng, unknown>

const webgpu: Layer.Layer<Device, unknown> = Layer.unwrap(Effect.promise(() => import("@effect-nn/gpu")).pipe(Effect.map((m) => m.WebGpu.layer())))

/**
 * The devices value tests run on: the CPU reference and WebGPU. WebGPU is not optional
 * (CI installs lavapipe); `EFFECT_NN_DEVICES=cpu` narrows a local run while developing.
 */
export const deviceLayers: ReadonlyArray<readonly [string, Layer.Layer<Device, unknown>]> = ([
  ["cpu", Cpu.layer],
  ["webgpu", webgpu]
] as const).filter(([name]) => (process.env["EFFECT_NN_DEVICES"] ?? "cpu,webgpu").split(",").includes(name))

/** One runtime per device for this file, disposed after the file's tests. */
export const runtimes = (seed = 0): ReadonlyArray<readonly [string, Runtime]> => {
  const list = deviceLayers.map(([name, layer]) => [name, ManagedRuntime.make(Layer.merge(layer, Rng.seeded(seed)))] as const)
  afterAll(async () => {
    for (const [, rt] of list) await rt.dispose()
  })
  return list
}

/** Runs an Effect on a runtime. */
export const run = <A, E>(rt: Runtime, effect: Effect.Effect<A, E, Device | Rng>): Promise<A> => rt.runPromise(effect)

/** Asserts |actual − expected| ≤ atol + rtol·|expected| element-wise, naming the first offender. */
export const expectClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-5, atol = 1e-6, what = "values"): void => {
  expect(actual.length, `${what}: length`).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!
    const e = expected[i]!
    const ok = Number.isFinite(e) ? Math.abs(a - Math.fround(e)) <= atol + rtol * Math.abs(e) : a === e
    if (!ok) expect.fail(`${what}[${i}]: got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`)
  }
}
