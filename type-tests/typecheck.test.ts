/**
 * Compile-time tests: runs each supported TypeScript compiler once over type-tests/cases
 * and checks its diagnostics against the cases. Every expectation runs for each compiler:
 *
 * - TypeScript 7 (`typescript`, the repo's compiler) and
 * - TypeScript 5.9 (`typescript-5`, an npm alias of typescript@5.9.3), because many
 *   editors still bundle a 5.x language service.
 *
 * Both runs start together (set TYPE_TESTS_SEQUENTIAL=1 to run them one after the other,
 * for uncontended timings); each prints its wall time and its own "Check time".
 *
 * - cases/pass/*.ts must compile with no diagnostic at all (their assertions are
 *   `expectTypeOf` calls, which are compile errors when a type is wrong).
 * - cases/fail/*.ts mark each line that must fail with a comment above it:
 *     // expect-error: <substring of the diagnostic message>
 *   The diagnostic must start on the next line that is neither blank nor a `//` comment,
 *   and its message (with the compiler's elaboration lines) must contain the text.
 *   Several such comments may stack above one line. Any other diagnostic in a fail file
 *   is a failure.
 */
import { execFile } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "..")
const casesDir = join(here, "cases")
const tsconfig = join(here, "tsconfig.json")

/**
 * The compilers, each run as `node <script>`. Both packages declare a `tsc` bin, so the
 * scripts are named by package rather than through node_modules/.bin.
 */
interface Compiler {
  readonly name: string
  /** Directory of the installed package (its package.json gives the version). */
  readonly packageDir: string
  /** Script run with node. */
  readonly script: string
  /** The installed version must start with this. */
  readonly versionPrefix: string
}

const compilers: ReadonlyArray<Compiler> = [
  {
    name: "TypeScript 7",
    packageDir: join(root, "node_modules", "typescript"),
    script: join(root, "node_modules", "typescript", "bin", "tsc"),
    versionPrefix: "7."
  },
  {
    name: "TypeScript 5.9",
    packageDir: join(root, "node_modules", "typescript-5"),
    script: join(root, "node_modules", "typescript-5", "lib", "tsc.js"),
    versionPrefix: "5.9."
  }
]

const installedVersion = (c: Compiler): string =>
  (JSON.parse(readFileSync(join(c.packageDir, "package.json"), "utf8")) as { version: string }).version

/** Repo-relative path with forward slashes (the key used everywhere below). */
const rel = (file: string): string => relative(root, resolve(root, file)).split(sep).join("/")

interface Diagnostic {
  readonly file: string | undefined
  readonly line: number
  readonly col: number
  readonly code: string
  /** First line of the message plus the indented elaboration lines, joined by "\n". */
  readonly message: string
}

const diagnosticLine = /^(.+?)\((\d+),(\d+)\): (error|warning) (TS\d+): (.*)$/
const globalLine = /^(error|warning) (TS\d+): (.*)$/

/** Parses `tsc --pretty false` output; other lines (file list, statistics) are skipped. */
const parseDiagnostics = (output: string): Array<Diagnostic> => {
  const result: Array<Diagnostic> = []
  let current: { file: string | undefined; line: number; col: number; code: string; lines: Array<string> } | undefined
  const flush = () => {
    if (current !== undefined) {
      result.push({ file: current.file, line: current.line, col: current.col, code: current.code, message: current.lines.join("\n") })
      current = undefined
    }
  }
  for (const raw of output.split(/\r?\n/)) {
    const m = diagnosticLine.exec(raw)
    const g = m === null ? globalLine.exec(raw) : null
    if (m !== null) {
      flush()
      current = { file: rel(m[1]!), line: Number(m[2]), col: Number(m[3]), code: m[5]!, lines: [m[6]!] }
    } else if (g !== null) {
      flush()
      current = { file: undefined, line: 0, col: 0, code: g[2]!, lines: [g[3]!] }
    } else if (current !== undefined && /^\s+\S/.test(raw)) {
      current.lines.push(raw.trim())
    } else {
      flush()
    }
  }
  flush()
  return result
}

const show = (d: Diagnostic): string => `${d.file ?? "<global>"}(${d.line},${d.col}): ${d.code}: ${d.message}`

// ---- The cases, read when the tests are collected (one `it` per expectation) ----

const listCases = (kind: "pass" | "fail"): Array<string> =>
  readdirSync(join(casesDir, kind))
    .filter((f) => f.endsWith(".ts"))
    .sort()
    .map((f) => rel(join(casesDir, kind, f)))

interface Expectation {
  readonly file: string
  /** Line of the `// expect-error:` comment. */
  readonly commentLine: number
  /** Line the diagnostic must start on, or undefined when no code line follows. */
  readonly line: number | undefined
  readonly text: string
}

const expectErrorComment = /^\s*\/\/\s*expect-error:\s?(.*?)\s*$/

const readExpectations = (file: string): Array<Expectation> => {
  const lines = readFileSync(join(root, file), "utf8").split(/\r?\n/)
  const out: Array<Expectation> = []
  lines.forEach((text, i) => {
    const m = expectErrorComment.exec(text)
    if (m === null) return
    let target = i + 1
    while (target < lines.length && (lines[target]!.trim() === "" || lines[target]!.trim().startsWith("//"))) target++
    out.push({ file, commentLine: i + 1, line: target < lines.length ? target + 1 : undefined, text: m[1]! })
  })
  return out
}

const passFiles = listCases("pass")
const failFiles = listCases("fail")
const expectations = new Map(failFiles.map((f) => [f, readExpectations(f)] as const))

// ---- One run of each compiler for the whole suite ----

interface TscRun {
  readonly diagnostics: Array<Diagnostic>
  /** Absolute paths of the files in the program (from --listFiles). */
  readonly files: Set<string>
  readonly wallMs: number
  readonly checkTime: string | undefined
  readonly exitCode: number | null
  readonly output: string
}

const runTsc = (compiler: Compiler): Promise<TscRun> =>
  new Promise((resolvePromise, reject) => {
    const start = performance.now()
    execFile(
      process.execPath,
      [compiler.script, "-p", tsconfig, "--noEmit", "--pretty", "false", "--listFiles", "--extendedDiagnostics"],
      { cwd: root, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        const wallMs = performance.now() - start
        const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : null
        // tsc exits 1 or 2 when it reports diagnostics; anything else means it did not run.
        if (error !== null && exitCode !== 1 && exitCode !== 2) {
          reject(new Error(`${compiler.name}: tsc failed to run (${String(error.code ?? error.signal)}): ${error.message}\n${stdout}\n${stderr}`))
          return
        }
        const output = `${stdout}\n${stderr}`
        const files = new Set(
          output
            .split(/\r?\n/)
            .filter((l) => l.startsWith("/") || /^[A-Za-z]:[\\/]/.test(l))
            .map((l) => resolve(l.trim()))
        )
        const checkTime = /^Check time:\s+(\S+)/m.exec(output)?.[1]
        const diagnostics = parseDiagnostics(output)
        // A crash (a Go panic also exits 2) prints no diagnostic we can parse.
        if (exitCode !== 0 && diagnostics.length === 0) {
          reject(new Error(`${compiler.name}: tsc exited ${exitCode} without a parsable diagnostic:\n${output}`))
          return
        }
        resolvePromise({ diagnostics, files, wallMs, checkTime, exitCode, output })
      }
    )
  })

const runs = new Map<string, TscRun>()
const failures = new Map<string, unknown>()

beforeAll(async () => {
  const runOne = async (c: Compiler): Promise<void> => {
    try {
      const run = await runTsc(c)
      runs.set(c.name, run)
      console.log(
        `type-tests: ${c.name} (${installedVersion(c)}) tsc wall time ${(run.wallMs / 1000).toFixed(2)} s` +
          (run.checkTime !== undefined ? ` (check time ${run.checkTime})` : "") +
          `, ${run.diagnostics.length} diagnostic(s), ${passFiles.length} pass and ${failFiles.length} fail case file(s)`
      )
    } catch (error) {
      failures.set(c.name, error)
    }
  }
  if (process.env["TYPE_TESTS_SEQUENTIAL"] === "1") {
    for (const c of compilers) await runOne(c)
  } else {
    await Promise.all(compilers.map(runOne))
  }
}, 600_000)

/** The compiler's run; a compiler that did not run fails each of its tests with its error. */
const runOf = (c: Compiler): TscRun => {
  const run = runs.get(c.name)
  if (run === undefined) throw failures.get(c.name) ?? new Error(`${c.name} did not run`)
  return run
}

describe.each(compilers.map((c) => [c.name, c] as const))("%s", (_name, compiler) => {
  const diagnosticsIn = (file: string): Array<Diagnostic> => runOf(compiler).diagnostics.filter((d) => d.file === file)

  describe("type-tests setup", () => {
    it(`is ${compiler.versionPrefix}x`, () => {
      expect(installedVersion(compiler).startsWith(compiler.versionPrefix), installedVersion(compiler)).toBe(true)
    })

    it("has cases", () => {
      expect(passFiles.length).toBeGreaterThan(0)
      expect(failFiles.length).toBeGreaterThan(0)
      for (const f of failFiles) expect(expectations.get(f)!.length, `${f} has no // expect-error: comment`).toBeGreaterThan(0)
    })

    it("the compiler saw every case file", () => {
      const tsc = runOf(compiler)
      const missing = [...passFiles, ...failFiles].filter((f) => !tsc.files.has(join(root, f)))
      expect(missing, "case files missing from the program (check type-tests/tsconfig.json include)").toEqual([])
    })

    it("no global (configuration) diagnostics", () => {
      expect(runOf(compiler).diagnostics.filter((d) => d.file === undefined).map(show)).toEqual([])
    })

    it("the library sources the cases import have no diagnostics", () => {
      const cases = new Set([...passFiles, ...failFiles])
      expect(runOf(compiler).diagnostics.filter((d) => d.file !== undefined && !cases.has(d.file)).map(show)).toEqual([])
    })
  })

  describe("pass cases compile without diagnostics", () => {
    for (const file of passFiles) {
      it(file, () => {
        expect(diagnosticsIn(file).map(show)).toEqual([])
      })
    }
  })

  describe("fail cases report the expected diagnostics", () => {
    for (const file of failFiles) {
      for (const e of expectations.get(file)!) {
        it(`${file}:${e.line ?? e.commentLine} reports "${e.text}"`, () => {
          expect(e.line, `${file}:${e.commentLine}: no code line follows the expect-error comment`).toBeDefined()
          expect(e.text, `${file}:${e.commentLine}: empty expect-error text`).not.toBe("")
          const onLine = diagnosticsIn(file).filter((d) => d.line === e.line)
          const hit = onLine.some((d) => d.message.includes(e.text))
          if (!hit) {
            const found = onLine.length === 0
              ? `no diagnostic on line ${e.line}; diagnostics in the file:\n${diagnosticsIn(file).map(show).join("\n") || "(none)"}`
              : `diagnostics on line ${e.line}:\n${onLine.map(show).join("\n")}`
            expect.fail(`${compiler.name}: ${file}:${e.line}: expected a diagnostic containing\n  ${e.text}\n${found}`)
          }
        })
      }
      it(`${file} has no unexpected diagnostics`, () => {
        const expected = expectations.get(file)!
        const unexpected = diagnosticsIn(file).filter(
          (d) => !expected.some((e) => e.line === d.line && e.text !== "" && d.message.includes(e.text))
        )
        expect(unexpected.map(show)).toEqual([])
      })
    }
  })
})
