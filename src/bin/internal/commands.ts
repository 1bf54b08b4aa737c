/**
 * What each `effect-codex` command does, once its flags are parsed. Loaded by the entry point only
 * when a command runs (the SDK is most of the tool's start-up time; `--help` does without it).
 *
 * Exit codes: 0 done, 1 failed (codex's error on stderr), 2 usage, 124 `--timeout` reached, 130
 * interrupted (Ctrl-C), 141 stdout closed by its reader mid-turn.
 *
 * @internal
 */
import { Cause, Duration, Effect, Option, type Scope, Stream } from "../../schema/internal/effect.ts"
import type * as Prompt from "effect/cli/Prompt"
import type { ChildProcessSpawner } from "../../schema/internal/effect.ts"
import * as CodexError from "../../schema/CodexError.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import * as OutputSchema from "../../schema/OutputSchema.ts"
import * as AppServerClient from "../../services/AppServerClient.ts"
import type * as Approvals from "../../services/Approvals.ts"
import * as Codex from "../../services/Codex.ts"
import type * as Thread from "../../services/Thread.ts"
import * as CliApprovals from "./approvals.ts"
import * as Backend from "./backend.ts"
import { EXIT, Failure } from "./failure.ts"
import type * as Flags from "./flags.ts"
import * as Format from "./format.ts"
import { Renderer } from "./render.ts"
import * as Terminal from "./terminal.ts"
import * as Turn from "./turn.ts"

/**
 * What every command needs from the platform: child processes (codex) and, for prompts, the terminal.
 *
 * @internal
 */
export type Environment = ChildProcessSpawner.ChildProcessSpawner | Prompt.Environment

const some = <A>(option: Option.Option<A>): A | undefined => Option.getOrUndefined(option)

/** The fields that are set: `undefined` is not sent to codex. */
const defined = <T extends Record<string, unknown>>(record: T): { [K in keyof T]?: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as never

const fail = (message: string, exitCode: number = EXIT.error): Effect.Effect<never, Failure> =>
  Effect.andThen(
    Effect.sync(() => void process.stderr.write(`effect-codex: ${message}\n`)),
    Effect.fail(new Failure({ message, exitCode }))
  )

/**
 * Reports what ended a command on stderr (a codex error, a configuration error) and fails with its
 * exit code. An interruption (Ctrl-C) stays one: `runMain` exits with 130.
 */
const reported = <A, R>(effect: Effect.Effect<A, unknown, R>): Effect.Effect<A, Failure, R> =>
  effect.pipe(
    Effect.onInterrupt(() => Effect.sync(() => void process.stderr.write("effect-codex: interrupted\n"))),
    Effect.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      const error = Cause.squash(cause)
      if (error instanceof Failure) return Effect.fail(error)
      if (CodexError.isCodexError(error)) return fail(error.message)
      return fail(error instanceof Error ? error.message : String(error))
    })
  )

interface TurnContext {
  readonly display: Terminal.Display
  readonly policy: Flags.Policy
}

/** The display, the approvals and codex for a command that runs a turn. */
const turnSession = <A, E>(
  options: { readonly localModel: Flags.LocalModel; readonly json: boolean; readonly approve: Option.Option<Flags.Policy> },
  body: (
    context: TurnContext
  ) => Effect.Effect<A, E, Codex.Codex | AppServerClient.AppServerClient | Approvals.Approvals | Environment | Scope.Scope>
) =>
  Effect.gen(function*() {
    const interactive = CliApprovals.interactive()
    if (some(options.approve) === "ask" && !interactive) {
      return yield* fail("--approve ask needs a terminal (stdin and stderr)", EXIT.usage)
    }
    const policy = CliApprovals.policyOf(options.approve, interactive)
    const display = yield* Terminal.make({ spinner: !options.json })
    return yield* body({ display, policy }).pipe(
      // nobody reads the answer any more: stop the turn rather than pay for the rest of it
      Effect.raceFirst(Effect.andThen(
        Terminal.stdoutClosed,
        fail("stdout was closed; the turn was interrupted", EXIT.stdoutClosed)
      )),
      Effect.provide(Backend.layer({ localModel: options.localModel, approvals: CliApprovals.layer(policy, display) }))
    )
  }).pipe(Effect.scoped, reported)

/** Bounds a turn by `--timeout`: past it, the turn's Scope closes (which interrupts it) and the exit code is 124. */
const bounded = <A, E, R>(effect: Effect.Effect<A, E, R>, limit: Option.Option<Duration.Duration>) =>
  Option.isNone(limit) ? effect : effect.pipe(
    Effect.timeoutOption(limit.value),
    Effect.flatMap((result) =>
      Option.isSome(result)
        ? Effect.succeed(result.value)
        : fail(`timed out after ${Format.duration(Duration.toMillis(limit.value))}; the turn was interrupted`, EXIT.timeout)
    )
  )

/**
 * `run`: one turn on a new thread (or `--resume`d one), shown as it happens.
 *
 * @internal
 */
export const run = (input: Flags.RunInput) =>
  turnSession(input, ({ display, policy }) =>
    Effect.gen(function*() {
      const threadOptions = defined({
        model: some(input.model),
        sandbox: some(input.sandbox),
        approvalPolicy: some(input.askForApproval)
      })
      const thread: Thread.Thread = Option.isSome(input.resume)
        ? yield* Codex.resumeThread(input.resume.value, {
          ...threadOptions,
          ...defined({ cwd: some(input.cwd) }),
          excludeTurns: true
        })
        : yield* Codex.startThread({ ...threadOptions, cwd: some(input.cwd) ?? process.cwd() })
      const schema = some(input.outputSchema)
      // with an output schema the answer is JSON text: shown once decoded, not as it streams
      const renderer = new Renderer({ answer: schema === undefined, cwd: thread.info.cwd })
      const turnOptions = {
        ...defined({ effort: some(input.effort) }),
        ...(schema === undefined ? {} : { outputSchema: schema })
      }
      const result = yield* bounded(
        Effect.scoped(Effect.gen(function*() {
          const turn = yield* thread.turn(input.prompt.join(" "), turnOptions)
          yield* Turn.show(turn.events, { json: input.json, policy, renderer, display })
          return yield* turn.result
        })),
        input.timeout
      )
      yield* display.stop
      if (schema !== undefined && !input.json) {
        const decoded = yield* OutputSchema.fromJsonSchema(schema).decode(result.finalResponse ?? "").pipe(
          Effect.catch((error) => fail(`the answer does not match the output schema: ${error.message}`))
        )
        yield* display.answer(`${JSON.stringify(decoded, null, 2)}\n`)
      }
      if (!input.json) yield* display.note(`${Format.usageLine(result.usage, result.durationMs)} · thread ${thread.id}`)
      if (result.status === "interrupted") return yield* fail("codex interrupted the turn")
    })
  )

/**
 * `review`: a code review turn on a new thread, shown as it happens.
 *
 * @internal
 */
export const review = (input: Flags.ReviewInput) =>
  turnSession(input, ({ display, policy }) =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread({ ...defined({ model: some(input.model) }), cwd: some(input.cwd) ?? process.cwd() })
      const renderer = new Renderer({ cwd: thread.info.cwd })
      const target: Protocol.ReviewTarget = Option.isSome(input.base)
        ? { type: "baseBranch", branch: input.base.value }
        : { type: "uncommittedChanges" }
      const result = yield* bounded(
        Effect.scoped(Effect.gen(function*() {
          const started = yield* Turn.review(thread.id, target)
          yield* Turn.show(started.events, { json: input.json, policy, renderer, display })
          return yield* started.result
        })),
        input.timeout
      )
      yield* display.stop
      if (!input.json) yield* display.note(`${Format.usageLine(result.usage, result.durationMs)} · thread ${thread.id}`)
      if (result.status === "interrupted") return yield* fail("codex interrupted the review")
    })
  )

/** Codex for a command that runs no turn (no approvals, no display). */
const withCodex = <A, E>(
  localModel: Flags.LocalModel,
  effect: Effect.Effect<A, E, Codex.Codex | AppServerClient.AppServerClient>
) => Effect.provide(effect, Backend.layer({ localModel })).pipe(reported)

const print = (lines: ReadonlyArray<string>) =>
  Effect.sync(() => void process.stdout.write(lines.map((line) => `${line}\n`).join("")))

/**
 * `threads`: the stored threads, most recent first.
 *
 * @internal
 */
export const threads = (input: Flags.ThreadsInput) =>
  withCodex(
    input.localModel,
    Effect.gen(function*() {
      const list = yield* Codex.threads(input.archived ? { archived: true } : {}).pipe(
        Stream.take(Math.max(0, input.limit)),
        Stream.runCollect
      )
      yield* print(input.json ? list.map(Format.jsonLine) : Format.threadTable(list, Date.now()))
    })
  )

/**
 * `read`: a thread's transcript.
 *
 * @internal
 */
export const read = (input: Flags.ReadInput) =>
  withCodex(
    input.localModel,
    Effect.gen(function*() {
      // `thread/read` reads the store: the thread is not loaded (resumed) for it
      const client = yield* AppServerClient.AppServerClient
      const response = yield* client.request("thread/read", { threadId: input.thread, includeTurns: true })
      yield* print(input.json ? [Format.jsonLine(response)] : Format.transcript(response.thread, Date.now()))
    })
  )

/** At most this many pages of `model/list` (codex answers one page today). */
const MAX_MODEL_PAGES = 20

/**
 * `models`: the models codex offers.
 *
 * @internal
 */
export const models = (input: Flags.ModelsInput) =>
  withCodex(
    input.localModel,
    Effect.gen(function*() {
      const list: Array<Protocol.Model> = []
      let cursor: string | undefined
      for (let page = 0; page < MAX_MODEL_PAGES; page++) {
        const response = yield* Codex.models(defined({ includeHidden: input.all || undefined, cursor }))
        list.push(...response.data)
        cursor = response.nextCursor ?? undefined
        if (cursor === undefined || response.data.length === 0) break
      }
      yield* print(input.json ? list.map(Format.jsonLine) : Format.modelTable(list))
    })
  )
