/**
 * `Tensor<S, D>`: an immutable handle to device memory plus its run-time shape.
 *
 * `S` is the shape as a type (`[Sym<"B">, 784]`) and is deliberately unconstrained so
 * that generic code displays `Tensor<[B, 10]>`. At run time `shape` holds the numbers.
 * A tensor never changes; ops return new tensors. Tensors that take part in
 * differentiation carry a tape node (see `autodiff.ts`).
 */
import type { Shape } from "@effect-nn/shape"
import { numel } from "@effect-nn/shape"
import type { Backend, Storage } from "./backend.ts"
import type { DType } from "./dtype.ts"
import type { Memory } from "./memory.ts"

/** The device a tensor lives on: its backend and its memory arenas. */
export interface DeviceHandle {
  readonly backend: Backend
  readonly memory: Memory
}

/** A recorded op: its differentiable inputs and how to map the output grad to theirs. */
export interface TapeNode {
  readonly inputs: ReadonlyArray<Tensor<unknown, DType>>
  /** `needs[i]` says whether input i takes part in differentiation (skip its grad if not). */
  readonly backward: (grad: Tensor<Shape, "float32">, needs: ReadonlyArray<boolean>) => ReadonlyArray<Tensor<Shape, "float32"> | undefined>
}

let nextTensorId = 0

export class Tensor<S = Shape, D extends DType = "float32"> {
  /** Unique per tensor object (two tensors may share a storage). */
  readonly id = nextTensorId++
  constructor(
    /** Dims, outermost first. */
    readonly shape: S,
    readonly dtype: D,
    readonly storage: Storage,
    readonly device: DeviceHandle,
    /** The op that produced this tensor, when it was recorded for backward. */
    readonly node?: TapeNode,
    /** True for a differentiation leaf created by `valueAndGrad`. */
    readonly leaf: boolean = false,
    /** True for a frozen parameter: not differentiated, skipped by optimisers. */
    readonly frozen: boolean = false
  ) {}

  /** The run-time dims as plain numbers. */
  get dims(): Shape {
    return this.shape as Shape
  }

  /** Number of elements. */
  get numel(): number {
    return numel(this.dims)
  }

  /** True when gradients flow through this tensor. */
  get tracked(): boolean {
    return this.leaf || this.node !== undefined
  }

  toString(): string {
    return `Tensor<[${this.dims.join(", ")}], ${this.dtype}> on ${this.device.backend.kind}`
  }
}

/** Any tensor, whatever its shape and dtype. */
export type AnyTensor = Tensor<unknown, DType>

/** Wraps a fresh storage as a tensor owned by the device's innermost arena. */
export const wrap = <S, D extends DType>(
  device: DeviceHandle,
  storage: Storage,
  shape: S,
  dtype: D,
  node?: TapeNode
): Tensor<S, D> => {
  device.memory.track(storage)
  return new Tensor(shape, dtype, storage, device, node)
}

/** The same storage under another shape/node (no copy, no new ownership). */
export const view = <S, D extends DType>(t: Tensor<unknown, D>, shape: S, node?: TapeNode, leaf = false): Tensor<S, D> =>
  new Tensor(shape, t.dtype, t.storage, t.device, node, leaf, t.frozen)

/**
 * The same tensor marked frozen (PyTorch's `requires_grad_(False)`): `valueAndGrad` gives
 * it a zero gradient without differentiating through it, optimisers leave it unchanged,
 * and parameter counts list it as non-trainable. `unfreeze` undoes it.
 */
export const freezeTensor = <S, D extends DType>(t: Tensor<S, D>): Tensor<S, D> =>
  new Tensor(t.shape, t.dtype, t.storage, t.device, undefined, false, true)

/** The same tensor, trainable again. */
export const unfreezeTensor = <S, D extends DType>(t: Tensor<S, D>): Tensor<S, D> =>
  new Tensor(t.shape, t.dtype, t.storage, t.device, undefined, false, false)

/** True for tensor objects (used to walk records of tensors). */
export const isTensor = (u: unknown): u is AnyTensor => u instanceof Tensor

/** The same values, cut off from differentiation (PyTorch's `detach`). */
export const detach = <S, D extends DType>(t: Tensor<S, D>): Tensor<S, D> =>
  t.tracked ? new Tensor(t.shape, t.dtype, t.storage, t.device, undefined, false, t.frozen) : t
