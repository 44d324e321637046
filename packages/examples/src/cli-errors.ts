/**
 * How the command-line programs report an invocation they cannot parse (an unknown flag,
 * a value of the wrong type, a name not in a list): one line per problem on stderr,
 * `<program>: <problem>; see --help`, and with `--json` among the arguments a JSON error
 * object as the last stdout line — the same shape as their other failures. Effect's CLI
 * prints the whole help text for these by default; `--help` still prints it.
 */
import { Console, Effect, type Layer } from "effect"
import { CliOutput } from "effect/cli"

/** A presenter for `program`'s parse errors; `json` tells whether `--json` was given. */
export const oneLineErrors = (program: string, json: boolean): Layer.Layer<never> =>
  CliOutput.layerPresenter({
    present: (event) =>
      event._tag === "InvalidInvocation"
        ? Effect.gen(function*() {
          // A message's lines ("Unrecognized flag … / Did you mean this? …") become sentences.
          const sentences = (text: string): string =>
            text.split("\n").map((l) => l.trim()).filter((l) => l !== "").map((l, i, all) => (i < all.length - 1 && !/[.?!:]$/.test(l) ? `${l}.` : l)).join(" ")
          const messages = event.errors.map((e) => sentences(e.message))
          for (const message of messages) yield* Console.error(`${program}: ${message}; see --help`)
          if (json) {
            const tag = event.errors[0]?._tag ?? "InvalidInvocation"
            process.stdout.write(`${JSON.stringify({ error: { tag, message: messages.join("; ") } })}\n`)
          }
        })
        : CliOutput.defaultPresenter.present(event)
  })
