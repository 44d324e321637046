/**
 * Host references for the recurrent layers: PyTorch's documented LSTM and GRU equations
 * written out element by element in float64, independent of the library's ops, and a
 * central finite-difference gradient of any host loss. Sources: PyTorch `torch.nn.LSTM`
 * and `torch.nn.GRU` documentation (equations, gate order i, f, g, o and r, z, n).
 */

/** A host recurrent configuration (as the layer's options). */
export interface HostConfig {
  readonly kind: "LSTM" | "GRU"
  readonly inputSize: number
  readonly hiddenSize: number
  readonly numLayers: number
  readonly batchFirst: boolean
  readonly bias: boolean
}

/** Parameters by PyTorch key, row-major. */
export type HostParams = Record<string, ArrayLike<number>>

/** Output [.., H] in the input's layout, and final states [L, B, H]. */
export interface HostResult {
  readonly output: Float64Array
  readonly hn: Float64Array
  readonly cn: Float64Array | undefined
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x))

/**
 * Runs the equations over `x` of shape `dims` ([T, B, I], [B, T, I] batch-first, or
 * [T, I]); `h0`/`c0` are [L, B, H] (zeros when omitted).
 */
export const hostRecurrent = (cfg: HostConfig, params: HostParams, x: ArrayLike<number>, dims: ReadonlyArray<number>, h0?: ArrayLike<number>, c0?: ArrayLike<number>): HostResult => {
  const unbatched = dims.length === 2
  const T = unbatched || !cfg.batchFirst ? dims[0]! : dims[1]!
  const B = unbatched ? 1 : cfg.batchFirst ? dims[0]! : dims[1]!
  const H = cfg.hiddenSize
  const L = cfg.numLayers
  const G = cfg.kind === "LSTM" ? 4 : 3
  // in[t][b] as flat arrays
  let seq: Array<Array<Float64Array>> = []
  for (let t = 0; t < T; t++) {
    const row: Array<Float64Array> = []
    for (let b = 0; b < B; b++) {
      const v = new Float64Array(cfg.inputSize)
      for (let i = 0; i < cfg.inputSize; i++) {
        const idx = unbatched ? t * cfg.inputSize + i : cfg.batchFirst ? (b * T + t) * cfg.inputSize + i : (t * B + b) * cfg.inputSize + i
        v[i] = x[idx]!
      }
      row.push(v)
    }
    seq.push(row)
  }
  const hn = new Float64Array(L * B * H)
  const cn = new Float64Array(L * B * H)
  for (let l = 0; l < L; l++) {
    const inF = l === 0 ? cfg.inputSize : H
    const wih = params[`weight_ih_l${l}`]!
    const whh = params[`weight_hh_l${l}`]!
    const bih = cfg.bias ? params[`bias_ih_l${l}`]! : undefined
    const bhh = cfg.bias ? params[`bias_hh_l${l}`]! : undefined
    const next: Array<Array<Float64Array>> = []
    const h: Array<Float64Array> = []
    const c: Array<Float64Array> = []
    for (let b = 0; b < B; b++) {
      const hb = new Float64Array(H)
      const cb = new Float64Array(H)
      for (let j = 0; j < H; j++) {
        hb[j] = h0 === undefined ? 0 : h0[(l * B + b) * H + j]!
        cb[j] = c0 === undefined ? 0 : c0[(l * B + b) * H + j]!
      }
      h.push(hb)
      c.push(cb)
    }
    for (let t = 0; t < T; t++) {
      const row: Array<Float64Array> = []
      for (let b = 0; b < B; b++) {
        const xv = seq[t]![b]!
        // gi = W_ih x + b_ih, gh = W_hh h + b_hh, each [G·H]
        const gi = new Float64Array(G * H)
        const gh = new Float64Array(G * H)
        for (let r = 0; r < G * H; r++) {
          let a = bih === undefined ? 0 : bih[r]!
          for (let i = 0; i < inF; i++) a += wih[r * inF + i]! * xv[i]!
          gi[r] = a
          let e = bhh === undefined ? 0 : bhh[r]!
          for (let i = 0; i < H; i++) e += whh[r * H + i]! * h[b]![i]!
          gh[r] = e
        }
        const hNew = new Float64Array(H)
        if (cfg.kind === "LSTM") {
          for (let j = 0; j < H; j++) {
            const ig = sigmoid(gi[j]! + gh[j]!)
            const fg = sigmoid(gi[H + j]! + gh[H + j]!)
            const gg = Math.tanh(gi[2 * H + j]! + gh[2 * H + j]!)
            const og = sigmoid(gi[3 * H + j]! + gh[3 * H + j]!)
            const cNew = fg * c[b]![j]! + ig * gg
            c[b]![j] = cNew
            hNew[j] = og * Math.tanh(cNew)
          }
        } else {
          for (let j = 0; j < H; j++) {
            const r = sigmoid(gi[j]! + gh[j]!)
            const z = sigmoid(gi[H + j]! + gh[H + j]!)
            const n = Math.tanh(gi[2 * H + j]! + r * gh[2 * H + j]!)
            hNew[j] = (1 - z) * n + z * h[b]![j]!
          }
        }
        h[b] = hNew
        row.push(hNew)
      }
      next.push(row)
    }
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        hn[(l * B + b) * H + j] = h[b]![j]!
        cn[(l * B + b) * H + j] = c[b]![j]!
      }
    }
    seq = next
  }
  const output = new Float64Array(T * B * H)
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const idx = unbatched ? t * H + j : cfg.batchFirst ? (b * T + t) * H + j : (t * B + b) * H + j
        output[idx] = seq[t]![b]![j]!
      }
    }
  }
  return { output, hn, cn: cfg.kind === "LSTM" ? cn : undefined }
}

/** Σ a·w. */
export const dot = (a: ArrayLike<number>, w: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * w[i]!
  return s
}

/** Central differences (float64) of `loss` with respect to every element of `values`. */
export const finiteDifference = (values: ArrayLike<number>, loss: (v: Float64Array) => number, step = 1e-6): Float64Array => {
  const v = Float64Array.from(values)
  const out = new Float64Array(v.length)
  for (let i = 0; i < v.length; i++) {
    const keep = v[i]!
    v[i] = keep + step
    const plus = loss(v)
    v[i] = keep - step
    const minus = loss(v)
    v[i] = keep
    out[i] = (plus - minus) / (2 * step)
  }
  return out
}
