/**
 * `summary(module, inputShape)`: a torchsummary-style table — each layer's output shape
 * and parameter count in call order, then the totals — computed from the description on
 * the meta device (shapes only; no real device, no data).
 */
import type { Shape } from "@effect-nn/shape"
import type { AnyModule } from "./module.ts"
import { traceShapes } from "./trace.ts"

/** One row of a summary. */
export interface SummaryRow {
  /** `Linear-1`: the layer's type and its position in call order (torchsummary's naming). */
  readonly layer: string
  /** The module's path in the network (`blocks.0.fc1`). */
  readonly path: string
  /** Output shape with the batch dim shown as −1. */
  readonly outputShape: ReadonlyArray<number>
  readonly params: number
}

/** A summary: rows and totals. */
export interface Summary {
  readonly rows: ReadonlyArray<SummaryRow>
  readonly totalParams: number
  readonly trainableParams: number
  readonly nonTrainableParams: number
  readonly output: Shape
}

/**
 * Summarises `module` on an input of shape `inputShape` (batch first; shown as −1).
 * Throws the `ShapeError` of a module that does not fit.
 */
export const summary = (module: AnyModule, inputShape: Shape): Summary => {
  const { output, rows } = traceShapes(module, inputShape)
  const summaryRows = rows.filter((r) => r.path !== "").map((r, i) => ({
    layer: `${r.module._tag === "Custom" ? r.module.label : r.module._tag}-${i + 1}`,
    path: r.path,
    outputShape: [-1, ...r.output.slice(1)],
    params: r.module.children.length === 0 ? r.module.parameterCount : 0
  }))
  return { rows: summaryRows, totalParams: module.parameterCount, trainableParams: module.parameterCount, nonTrainableParams: 0, output }
}

const fmt = (n: number) => n.toLocaleString("en-US")

/** The summary as torchsummary prints it. */
export const formatSummary = (s: Summary): string => {
  const line = "-".repeat(64)
  const head = `${"Layer (type)".padStart(20)}${"Output Shape".padStart(25)}${"Param #".padStart(15)}`
  const body = s.rows.map((r) => `${r.layer.padStart(20)}${`[${r.outputShape.join(", ")}]`.padStart(25)}${fmt(r.params).padStart(15)}`)
  return [line, head, "=".repeat(64), ...body, "=".repeat(64), `Total params: ${fmt(s.totalParams)}`, `Trainable params: ${fmt(s.trainableParams)}`, `Non-trainable params: ${fmt(s.nonTrainableParams)}`, line].join("\n")
}
