import { Data } from "effect"
import type { Shape } from "./dim.ts"

declare const ShapeErrorId: unique symbol

/**
 * A compile-time shape error. Appears in parameter position so the compiler reports
 * "Argument of type ... is not assignable to parameter of type `ShapeMismatch<"...">`",
 * with the message naming the dims involved.
 */
export interface ShapeMismatch<Message extends string> {
  readonly [ShapeErrorId]: Message
}

/** Formats a run-time shape as `[64, 784]`. */
export const formatShape = (shape: Shape): string => `[${shape.join(", ")}]`

/**
 * A shape error found at run time (dims known only then, or data entering from
 * outside). `op` names the operation or layer path, `message` says the rule, the
 * operands and the fix.
 */
export class ShapeError extends Data.TaggedError("ShapeError")<{
  readonly op: string
  readonly reason: string
  readonly shapes: ReadonlyArray<Shape>
}> {
  override get message(): string {
    return `${this.op}: ${this.reason}`
  }
}
