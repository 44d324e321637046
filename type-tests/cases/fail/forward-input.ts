/**
 * An input whose last dim does not fit the network is rejected at `forward`, with the
 * network's first layer, both dims and the input shape in the message.
 */
import type { ModelOf, ParamsOf } from "@effect-nn/layers"
import { Mode, Linear, ReLU, forward, named, sequential } from "@effect-nn/layers"
import type { Sym } from "@effect-nn/shape"
import type { Tensor } from "@effect-nn/tensor"

const net = sequential(named("fc1", Linear(784, 128)), ReLU(), named("fc2", Linear(128, 10)))
declare const params: ModelOf<typeof net>

declare const x785: Tensor<[Sym<"B">, 785]>
// expect-error: Linear(784, 128) expects last dim 784, got 785 (input [B, 785])
forward(net, params, x785, Mode.eval)

declare const x32: Tensor<[32, 785]>
// expect-error: Linear(784, 128) expects last dim 784, got 785 (input [32, 785])
forward(net, params, x32, Mode.eval)

// A single Linear, fed the right batch but the output width of another layer.
declare const h: Tensor<[Sym<"B">, 128]>
// expect-error: Linear(784, 128) expects last dim 784, got 128 (input [B, 128])
forward(Linear(784, 128), { params: { weight: null!, bias: null! }, buffers: {} }, h, Mode.eval)
