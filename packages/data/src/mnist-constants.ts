/** Height of an MNIST image in pixels. */
export const MNIST_ROWS = 28

/** Width of an MNIST image in pixels. */
export const MNIST_COLS = 28

/** Pixels per MNIST image, flattened: 28 × 28. */
export const MNIST_FEATURES = 784

/** Number of MNIST classes (digits 0–9). */
export const MNIST_CLASSES = 10

/**
 * Mean of the MNIST training pixels after scaling to [0, 1].
 * Source: PyTorch's MNIST example (`transforms.Normalize((0.1307,), (0.3081,))` in
 * pytorch/examples `mnist/main.py`), also used by the nn.Module tutorial.
 */
export const MNIST_MEAN = 0.1307

/**
 * Standard deviation of the MNIST training pixels after scaling to [0, 1].
 * Source: as {@link MNIST_MEAN}.
 */
export const MNIST_STD = 0.3081
