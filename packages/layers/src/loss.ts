/** Losses take logits, never probabilities (PyTorch's `CrossEntropyLoss` semantics). */
export { crossEntropy } from "@effect-nn/tensor"
