/**
 * Matmul epilogues: work folded into the store of C so that it costs no pass of its own.
 *
 * - `bias`: C[row, col] += bias[col] (a linear layer's bias; one more input).
 * - `act`: a second result from C: `relu` writes max(C, 0) (NaN stays NaN, as `unary("relu")`),
 *   `mask` writes C where M > 0 and 0 elsewhere (ReLU's backward with C the incoming
 *   gradient and M the ReLU's input; one more input), `none` nothing.
 * - `keepRaw`: with an `act`, also write C itself (when C is a result someone holds).
 * - `rowSums`: RS[row] = Σ_p op(A)[row, p] (a linear layer's bias gradient beside its
 *   weight gradient; one more output).
 *
 * Bindings after A (1) and B (2) — or after A alone when the subgroup kernel reads B from a
 * texture, which then binds last (see `matmul-subgroup.ts`): inputs Bias, M as present;
 * outputs C (unless an `act` replaces it), Act, RS as present.
 */

/** What a matmul does when it stores C (see the module comment). */
export interface Epilogue {
  readonly bias: boolean
  readonly act: "none" | "relu" | "mask"
  readonly keepRaw: boolean
  readonly rowSums: boolean
}

/** Plain C = op(A)·op(B). */
export const noEpilogue: Epilogue = { bias: false, act: "none", keepRaw: true, rowSums: false }

/** The suffix of a kernel key for `e` ("" for none). */
export const epilogueKey = (e: Epilogue): string =>
  !e.bias && e.act === "none" && !e.rowSums ? "" : `:${e.bias ? "bias" : ""}${e.act === "none" ? "" : `+${e.act}${e.keepRaw ? "+raw" : ""}`}${e.rowSums ? "+rowsums" : ""}`

/** True when `e` writes C itself. */
export const writesRaw = (e: Epilogue): boolean => e.act === "none" || e.keepRaw

/** Binding declarations and the WGSL `store`/`loadBias` functions of an epilogue. */
export interface EpilogueBindings {
  /** Inputs after A and B. */
  readonly extraInputs: number
  /** Outputs (C, Act, RS as present). */
  readonly outputs: number
  /** `@binding` declarations from binding 3 on. */
  readonly declarations: string
  /**
   * `fn store(row, col, v: vec4<f32>)` writing C[row, col..col+3] (and the act result)
   * within the n columns, and `fn loadBias(col) -> vec4<f32>` when `bias`. Uses `u.n`.
   * With `vec4` stores, one vec4 store per output (C, Act; M read as one vec4).
   */
  readonly storeFn: string
}

/**
 * The bindings and store functions of `e` (A and B are bindings 1 and 2). `vec4` declares
 * C, Act and M as `array<vec4<f32>>` and stores 4 values at once: only when n % 4 = 0 and
 * every `store` column is a multiple of 4 (lavapipe pays per store a lane issues, as per load).
 */
export const epilogueBindings = (e: Epilogue, firstBinding = 3, vec4 = false): EpilogueBindings => {
  const elem = vec4 ? "vec4<f32>" : "f32"
  let b = firstBinding
  const lines: Array<string> = []
  let extraInputs = 0
  let outputs = 0
  if (e.bias) {
    lines.push(`@group(0) @binding(${b++}) var<storage, read> Bias: array<f32>;`)
    extraInputs++
  }
  if (e.act === "mask") {
    lines.push(`@group(0) @binding(${b++}) var<storage, read> M: array<${elem}>;`)
    extraInputs++
  }
  const raw = writesRaw(e)
  if (raw) {
    lines.push(`@group(0) @binding(${b++}) var<storage, read_write> C: array<${elem}>;`)
    outputs++
  }
  if (e.act !== "none") {
    lines.push(`@group(0) @binding(${b++}) var<storage, read_write> Act: array<${elem}>;`)
    outputs++
  }
  if (e.rowSums) {
    lines.push(`@group(0) @binding(${b++}) var<storage, read_write> RS: array<f32>;`)
    outputs++
  }
  const one = (j: number, c: string): string => {
    const at = j === 0 ? "base + col" : `base + col + ${j}u`
    const parts: Array<string> = []
    if (raw) parts.push(`C[${at}] = v.${c};`)
    if (e.act === "relu") parts.push(`Act[${at}] = select(v.${c}, 0.0, v.${c} <= 0.0);`)
    if (e.act === "mask") parts.push(`Act[${at}] = select(0.0, v.${c}, M[${at}] > 0.0);`)
    return `  if (col${j === 0 ? "" : ` + ${j}u`} < u.n) { ${parts.join(" ")} }`
  }
  const vecParts: Array<string> = []
  if (raw) vecParts.push("C[i] = v;")
  if (e.act === "relu") vecParts.push("Act[i] = select(v, vec4<f32>(0.0), v <= vec4<f32>(0.0));")
  if (e.act === "mask") vecParts.push("Act[i] = select(vec4<f32>(0.0), v, M[i] > vec4<f32>(0.0));")
  const body = vec4
    ? ["  if (col < u.n) {", "    let i = (row * u.n + col) / 4u;", `    ${vecParts.join(" ")}`, "  }"]
    : ["  let base = row * u.n;", ...["x", "y", "z", "w"].map((c, j) => one(j, c))]
  const storeFn = [
    "fn store(row: u32, col: u32, v: vec4<f32>) {",
    ...body,
    "}",
    ...(e.bias
      ? ["fn loadBias(col: u32) -> vec4<f32> {", "  let last = u.n - 1u;", "  return vec4<f32>(Bias[min(col, last)], Bias[min(col + 1u, last)], Bias[min(col + 2u, last)], Bias[min(col + 3u, last)]);", "}"]
      : [])
  ].join("\n")
  return { extraInputs, outputs, declarations: lines.join("\n"), storeFn }
}
