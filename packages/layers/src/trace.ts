/**
 * Running a module on the meta device (shapes only, no data): every leaf's output shape in
 * call order, or the first `ShapeError`. Needs no real device; costs what initialisation
 * costs on the host (drawing the initial values).
 */
import type { Shape } from "@effect-nn/shape"
import { ShapeError } from "@effect-nn/shape"
import { Device, Meta, Rng, fromHostSync } from "@effect-nn/tensor"
import { Cause, Effect, Exit, Layer } from "effect"
import type { AnyModule, Path } from "./module.ts"

/** One leaf call seen while tracing. */
export interface TraceRow {
  readonly path: Path
  readonly module: AnyModule
  readonly output: Shape
}

/** Traces `module` in eval mode on an input of run-time shape `input`. Throws `ShapeError`. */
export const traceShapes = (module: AnyModule, input: Shape): { readonly output: Shape; readonly rows: ReadonlyArray<TraceRow> } => {
  const rows: Array<TraceRow> = []
  const program = Effect.gen(function*() {
    const device = yield* Device
    const model = yield* module.init
    const x = fromHostSync(device, input, new Float32Array(input.reduce((a, b) => a * b, 1)))
    const ran = yield* module.run({ mode: "eval", rng: undefined, trace: (path, m, output) => rows.push({ path, module: m, output }) }, model, x, "")
    return ran.output.dims
  }).pipe(Effect.provide(Layer.merge(Meta.layer, Rng.seeded(0))))
  const exit = Effect.runSyncExit(program)
  if (Exit.isSuccess(exit)) return { output: exit.value, rows }
  const error = Cause.squash(exit.cause)
  if (error instanceof ShapeError) throw error
  throw new ShapeError({ op: "trace", reason: String(error instanceof Error ? error.message : error), shapes: [input] })
}
