/**
 * The terminal side of `effect-codex`: writes the answer on stdout and notes on stderr, and turns a
 * spinner on stderr while codex works, only when stderr is a terminal (so `> answer.txt` and `| jq`
 * get clean output). Also the prompt terminal: effect/cli's prompts drawn on stderr.
 *
 * @internal
 */
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { Effect, Layer, Schedule, type Scope } from "../../schema/internal/effect.ts"
import * as Terminal from "effect/Terminal"
import type { Op } from "./render.ts"

// -----------------------------------------------------------------------------
// stdout closed by its reader (`effect-codex run --json ... | head -n 3`)
// -----------------------------------------------------------------------------

let stdoutClosedFlag = false
const stdoutClosedWaiters = new Set<() => void>()

/**
 * Watches stdout for its reader going away (EPIPE): from then on nothing more is written to it, and
 * {@link stdoutClosed} completes. Without a listener, Node would crash on the first write after it
 * (an unhandled 'error' event), skipping every finalizer, the one that closes codex included.
 *
 * @internal
 */
export const watchStdout = (stream: NodeJS.WriteStream = process.stdout): void => {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error
    stdoutClosedFlag = true
    for (const waiter of stdoutClosedWaiters) waiter()
    stdoutClosedWaiters.clear()
  })
}

/**
 * Completes once stdout's reader has gone away (see {@link watchStdout}).
 *
 * @internal
 */
export const stdoutClosed: Effect.Effect<void> = Effect.callback<void>((resume) => {
  if (stdoutClosedFlag) return resume(Effect.void)
  const waiter = () => resume(Effect.void)
  stdoutClosedWaiters.add(waiter)
  return Effect.sync(() => void stdoutClosedWaiters.delete(waiter))
})

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
const CLEAR_LINE = "\r\x1b[2K"

/**
 * Output of one command.
 *
 * @internal
 */
export interface Display {
  /** Writes answer text on stdout. */
  readonly answer: (text: string) => Effect.Effect<void>
  /** Writes one line on stderr. */
  readonly note: (line: string) => Effect.Effect<void>
  /** Sets the spinner's label (shown while no answer line is open). */
  readonly status: (label: string) => Effect.Effect<void>
  /** Applies a renderer's operations. */
  readonly apply: (ops: ReadonlyArray<Op>) => Effect.Effect<void>
  /** Runs `effect` with the spinner hidden and the cursor at the start of a line (prompts). */
  readonly paused: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Hides the spinner for good and ends an open answer line. */
  readonly stop: Effect.Effect<void>
}

/**
 * Options of {@link make}.
 *
 * @internal
 */
export interface Options {
  /** Whether to show the spinner (it is shown only when stderr is a terminal anyway). */
  readonly spinner: boolean
  readonly stdout?: NodeJS.WriteStream | undefined
  readonly stderr?: NodeJS.WriteStream | undefined
}

/**
 * A display for the life of the Scope (the spinner stops when it closes).
 *
 * @internal
 */
export const make = (options: Options): Effect.Effect<Display, never, Scope.Scope> =>
  Effect.gen(function*() {
    const stdout = options.stdout ?? process.stdout
    const stderr = options.stderr ?? process.stderr
    const spinning = options.spinner && stderr.isTTY === true
    // Both on one terminal: an answer line left open on stdout must be ended before a stderr line.
    const sameTerminal = stdout.isTTY === true && stderr.isTTY === true
    // until the turn starts, the wait is codex starting up
    let label: string | undefined = spinning ? "starting codex" : undefined
    let frame = 0
    let drawn = false
    let paused = 0
    let stdoutOpen = false // the last thing written to stdout did not end with a newline

    const clear = () => {
      if (drawn) stderr.write(CLEAR_LINE)
      drawn = false
    }
    const draw = () => {
      // the spinner shares the line with nothing: never over an open answer line
      if (label === undefined || paused > 0 || (sameTerminal && stdoutOpen)) return clear()
      stderr.write(`${CLEAR_LINE}${FRAMES[frame++ % FRAMES.length]} ${label}`)
      drawn = true
    }
    const writeAnswer = (text: string) => {
      if (text === "" || stdoutClosedFlag) return
      clear()
      stdout.write(text)
      stdoutOpen = !text.endsWith("\n")
    }
    const writeNote = (line: string) => {
      clear()
      if (sameTerminal && stdoutOpen && !stdoutClosedFlag) {
        stdout.write("\n")
        stdoutOpen = false
      }
      stderr.write(`${line}\n`)
    }
    const stopNow = () => {
      clear()
      label = undefined
      if (sameTerminal && stdoutOpen) {
        stdout.write("\n")
        stdoutOpen = false
      }
    }

    if (spinning) {
      yield* Effect.sync(draw).pipe(
        Effect.repeat(Schedule.spaced("80 millis")),
        Effect.ensuring(Effect.sync(stopNow)),
        Effect.forkScoped
      )
    }

    const apply = (ops: ReadonlyArray<Op>) =>
      Effect.sync(() => {
        for (const op of ops) {
          if (op._tag === "Answer") writeAnswer(op.text)
          else if (op._tag === "Note") writeNote(op.line)
          else if (label !== undefined) label = op.label
        }
      })

    return {
      answer: (text) => Effect.sync(() => writeAnswer(text)),
      note: (line) => Effect.sync(() => writeNote(line)),
      status: (next) => Effect.sync(() => void (label = label === undefined ? undefined : next)),
      apply,
      paused: (effect) =>
        Effect.acquireUseRelease(
          Effect.sync(() => {
            paused++
            clear()
            if (sameTerminal && stdoutOpen) {
              stdout.write("\n")
              stdoutOpen = false
            }
          }),
          () => effect,
          () => Effect.sync(() => void paused--)
        ),
      stop: Effect.sync(stopNow)
    } satisfies Display
  })

/**
 * A terminal for effect/cli prompts that draws on stderr, so an approval prompt never lands in the
 * answer on stdout (`effect-codex run ... > answer.txt` still asks on the screen). Only Ctrl-C and
 * Ctrl-D quit a prompt (Esc does not: a stray Esc must not stop the run).
 *
 * @internal
 */
export const layerPromptTerminal: Layer.Layer<Terminal.Terminal> = Layer.effect(
  Terminal.Terminal,
  Effect.map(
    NodeTerminal.make((input) => input.key.ctrl && (input.key.name === "c" || input.key.name === "d")),
    (terminal) =>
      Terminal.make({
        columns: Effect.sync(() => process.stderr.columns ?? 80),
        rows: Effect.sync(() => process.stderr.rows ?? 24),
        size: terminal.size,
        readInput: terminal.readInput,
        readLine: terminal.readLine,
        display: (text) => Effect.sync(() => void process.stderr.write(text))
      })
  )
)
