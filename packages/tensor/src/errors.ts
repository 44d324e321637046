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

/**
 * A gradient that cannot be computed: the loss given to `valueAndGrad` was recorded from
 * none of the tensors being differentiated (it came from an eval-mode forward, which
 * records nothing, from detached values, or from the gradients of an inner
 * `valueAndGrad`: higher-order gradients are not supported). PyTorch raises "element 0
 * of tensors does not require grad" in the same case; returning zeros would hide it.
 */
export class GradientError extends Data.TaggedError("GradientError")<{
  readonly reason: string
}> {
  override get message(): string {
    return this.reason
  }
}
