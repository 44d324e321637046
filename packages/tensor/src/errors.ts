import { Data } from "effect"

/**
 * A failure of the device: no adapter, a request over the device's limits (the message
 * names the size and the limit), a GPU validation error, a lost device, a failed readback.
 */
export class DeviceError extends Data.TaggedError("DeviceError")<{
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return this.reason
  }
}

/** A loss or gradient that became NaN or infinite where a finite value was required. */
export class NonFiniteError extends Data.TaggedError("NonFiniteError")<{
  readonly what: string
  readonly value: number
}> {
  override get message(): string {
    return `${this.what} is not finite (${this.value})`
  }
}
