/**
 * The `Device` service: where tensors live and kernels run. Provided by `Cpu.layer`
 * (this package) or `WebGpu.layer` (`@effect-nn/gpu`).
 */
import { Context, Effect, Exit, Layer } from "effect"
import type { Backend, Storage } from "./backend.ts"
import { Memory } from "./memory.ts"
import type { DeviceHandle } from "./tensor.ts"
import { forEachTensor } from "./tree.ts"

/** The device service: a backend plus its memory arenas. */
export class Device extends Context.Service<Device, DeviceHandle>()("@effect-nn/tensor/Device") {}

/**
 * A `Layer` providing `Device` over a backend acquired by `acquire`; the backend is
 * destroyed (all its memory freed) when the layer's scope closes.
 */
export const deviceLayer = <E, R>(acquire: Effect.Effect<Backend, E, R>): Layer.Layer<Device, E, R> =>
  Layer.effect(
    Device,
    Effect.acquireRelease(
      Effect.map(acquire, (backend): DeviceHandle => ({ backend, memory: new Memory(backend) })),
      (device) => Effect.sync(() => device.backend.destroy())
    )
  )

const storagesOf = (value: unknown): Set<Storage> => {
  const keep = new Set<Storage>()
  forEachTensor(value, (t) => keep.add(t.storage))
  return keep
}

/**
 * Runs `effect` in a fresh memory arena of the current device: every tensor created
 * inside and not reachable from the result (records, arrays, tensors) is released to
 * the device's pool when it ends — on success, failure or interruption alike.
 * Use it around a training step or an evaluation batch. Like `tf.tidy`, but the
 * result is kept automatically.
 */
export const tidy = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | Device> =>
  Effect.flatMap(Effect.service(Device), (device) =>
    Effect.acquireUseRelease(
      Effect.sync(() => device.memory.push()),
      () => effect,
      (arena, exit) =>
        Effect.sync(() => device.memory.pop(arena, Exit.isSuccess(exit) ? storagesOf(exit.value) : new Set()))
    )
  )

/**
 * Releases the device memory of every tensor in `tree` now. The tensors must not be
 * used afterwards. Used by training loops to drop the previous step's parameters.
 */
export const dispose = (tree: unknown): Effect.Effect<void> =>
  Effect.sync(() => forEachTensor(tree, (t) => t.device.memory.dispose(t.storage)))

/** Memory and work counters of the current device. */
export const memoryStats = Effect.map(Effect.service(Device), (d) => d.backend.stats())

/**
 * Releases the tensors of `previous` that `next` no longer uses: how a loop that turns
 * state into new state (parameters, optimiser moments) keeps device memory flat.
 */
export const disposeReplaced = (previous: unknown, next: unknown): Effect.Effect<void> =>
  Effect.sync(() => {
    const keep = storagesOf(next)
    forEachTensor(previous, (t) => {
      if (!keep.has(t.storage)) t.device.memory.dispose(t.storage)
    })
  })
