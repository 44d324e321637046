/**
 * The device's health: GPU errors never pass silently. Uncaptured errors (the device's
 * `uncapturederror` event), errors caught by the error scopes that wrap each command
 * batch, and device loss are recorded here; the first one is sticky. After it, every
 * `read` rejects with it and every new kernel throws it: the contents of any storage may
 * be wrong, so none may be trusted.
 */
import { DeviceError } from "@effect-nn/tensor"

/** Error filters pushed around each batch, innermost last. */
export const scopeFilters: ReadonlyArray<GPUErrorFilter> = ["internal", "out-of-memory", "validation"]

/** The recorded failure of one device, plus error-scope results still pending. */
export class Health {
  private failure: DeviceError | undefined
  private readonly pending = new Set<Promise<void>>()
  private destroyed = false

  constructor(device: GPUDevice) {
    device.addEventListener("uncapturederror", (event) => {
      this.record(`GPU ${kindOf(event.error)} error: ${event.error.message}`, event.error)
    })
    void device.lost.then((info) => {
      if (!this.destroyed) this.record(`WebGPU device lost (${info.reason}): ${info.message}`, info)
    })
  }

  /** Records a failure; only the first is kept. */
  record(reason: string, cause?: unknown): void {
    if (this.failure === undefined) this.failure = new DeviceError({ reason, cause })
  }

  /** The recorded failure, if any. */
  get error(): DeviceError | undefined {
    return this.failure
  }

  /** Throws the recorded failure, if any. */
  check(): void {
    if (this.failure !== undefined) throw this.failure
  }

  /** Watches the result of a popped error scope; a non-null error is recorded. */
  watch(scope: Promise<GPUError | null>): void {
    const p: Promise<void> = scope.then(
      (error) => {
        if (error !== null) this.record(`GPU ${kindOf(error)} error: ${error.message}`, error)
      },
      (cause: unknown) => this.record(`popErrorScope failed: ${String(cause)}`, cause)
    ).finally(() => this.pending.delete(p))
    this.pending.add(p)
  }

  /** Waits for the scopes watched so far and returns the recorded failure, if any. */
  async settle(): Promise<DeviceError | undefined> {
    if (this.pending.size > 0) await Promise.all([...this.pending])
    return this.failure
  }

  /** Marks the device as destroyed on purpose (its loss is then no failure). */
  markDestroyed(): void {
    this.destroyed = true
  }
}

/** "validation", "out-of-memory" or "internal", from the error's class name. */
const kindOf = (error: GPUError): string => {
  const name = error.constructor.name
  if (name === "GPUValidationError") return "validation"
  if (name === "GPUOutOfMemoryError") return "out-of-memory"
  if (name === "GPUInternalError") return "internal"
  return name
}
