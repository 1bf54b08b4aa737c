/**
 * The flags and arguments of `effect-codex`, parsed and checked by effect/cli before any handler runs
 * (a bad `--cwd`, `--timeout` or `--output-schema` is a usage error, shown with the help). This module
 * loads only effect and effect/cli, so `--help` does not load the SDK.
 *
 * @internal
 */
import type { Duration, Option } from "../../schema/internal/effect.ts"
import * as Argument from "effect/cli/Argument"
import * as Flag from "effect/cli/Flag"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as Format from "./format.ts"

/**
 * The `--approve` policies (see `approvals.ts`).
 *
 * @internal
 */
export const POLICIES = ["ask", "decline", "read-only", "all"] as const

/**
 * An `--approve` policy.
 *
 * @internal
 */
export type Policy = (typeof POLICIES)[number]

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * `--local-model`, shared by every command.
 *
 * @internal
 */
export const localModel = Flag.String("local-model").pipe(
  Flag.withMetavar("home"),
  Flag.withOptionalValue(""),
  Flag.withDescription(
    "For trying it out: run codex on the embedded LocalModel (a scripted model on 127.0.0.1: no API key, nothing leaves the machine). Its threads are kept in <home> if given (--local-model=<home>), else in a temporary directory removed at exit"
  ),
  Flag.map((home) => ({ home: home === "" ? undefined : NodePath.resolve(home) })),
  Flag.optional
)

/**
 * Where codex runs: the user's own configuration (`None`), or the embedded LocalModel with threads kept
 * in `home` (a temporary directory when `undefined`).
 *
 * @internal
 */
export type LocalModel = Option.Option<{ readonly home: string | undefined }>

/** `--json`: JSON lines instead of text. @internal */
export const json = Flag.Boolean("json").pipe(Flag.withDescription("Print JSON lines instead of text"), Flag.withDefault(false))

/** `--model, -m`: the model slug. @internal */
export const model = Flag.String("model").pipe(
  Flag.withAlias("m"),
  Flag.withDescription("The model (see `effect-codex models`)"),
  Flag.optional
)

/** `--cwd`: an existing directory, made absolute. @internal */
export const cwd = Flag.String("cwd").pipe(
  Flag.withAlias("C"),
  Flag.withMetavar("dir"),
  Flag.withDescription("The directory codex works in (default: the current one)"),
  Flag.mapTryCatch((dir) => {
    const resolved = NodePath.resolve(dir)
    if (NodeFs.statSync(resolved, { throwIfNoEntry: false })?.isDirectory() !== true) {
      throw new Error(`not a directory: ${dir}`)
    }
    return resolved
  }, messageOf),
  Flag.optional
)

/** `--effort`: the reasoning effort, as codex names it. @internal */
export const effort = Flag.String("effort").pipe(
  Flag.withMetavar("level"),
  Flag.withDescription("Reasoning effort: none, minimal, low, medium, high or xhigh (as the model supports)"),
  Flag.optional
)

/** `--sandbox, -s`: the thread's sandbox mode. @internal */
export const sandbox = Flag.Literals("sandbox", ["read-only", "workspace-write", "danger-full-access"]).pipe(
  Flag.withAlias("s"),
  Flag.withDescription("Where commands may write (default: your codex config)"),
  Flag.optional
)

/** `--ask-for-approval`: codex's approval policy for the thread. @internal */
export const askForApproval = Flag.Literals("ask-for-approval", ["untrusted", "on-request", "never"]).pipe(
  Flag.withDescription("When codex asks before it runs a command (default: your codex config)"),
  Flag.optional
)

/** `--approve`: who answers approval requests (see `approvals.ts`). @internal */
export const approve = Flag.Literals("approve", POLICIES).pipe(
  Flag.withMetavar("policy"),
  Flag.withDescription(
    "How approval requests are answered: ask (on a terminal: the default there), decline (the default elsewhere), read-only (run the commands that only read), all (accept everything)"
  ),
  Flag.optional
)

/** `--timeout`: a positive duration (`90`, `30s`, `5m`, `1h`). @internal */
export const timeout = Flag.String("timeout").pipe(
  Flag.withMetavar("duration"),
  Flag.withDescription("Interrupt the turn after this long (90, 30s, 5m, 1h) and exit with code 124"),
  Flag.mapTryCatch((text) => {
    const parsed = Format.parseDuration(text)
    if (parsed === undefined) throw new Error(`not a duration: ${text} (try 90, 30s, 5m)`)
    return parsed
  }, messageOf),
  Flag.optional
)

/** `--output-schema <file.json>`: the file's JSON Schema object. @internal */
export const outputSchema = Flag.FileText("output-schema").pipe(
  Flag.withMetavar("file.json"),
  Flag.withDescription("A JSON Schema the answer must match; the decoded answer is printed as JSON"),
  Flag.mapTryCatch((text): { readonly [key: string]: unknown } => {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object")
    return parsed as { readonly [key: string]: unknown }
  }, (error) => `the output schema is not a JSON Schema object: ${messageOf(error)}`),
  Flag.optional
)

/** `--resume <thread>`: run on a stored thread. @internal */
export const resume = Flag.String("resume").pipe(
  Flag.withMetavar("thread"),
  Flag.withDescription("Continue a stored thread (see `effect-codex threads`) instead of starting a new one"),
  Flag.optional
)

/** The prompt of `run`: one or more words. @internal */
export const prompt = Argument.String("prompt").pipe(
  Argument.withDescription("What to ask codex (several words are joined with spaces)"),
  Argument.variadic({ min: 1 })
)

/** `--base <branch>`: what `review` compares against. @internal */
export const base = Flag.String("base").pipe(
  Flag.withMetavar("branch"),
  Flag.withDescription("Review the changes against this base branch (default: the uncommitted changes)"),
  Flag.optional
)

/** `--limit, -n`: how many threads `threads` lists. @internal */
export const limit = Flag.Int("limit").pipe(
  Flag.withAlias("n"),
  Flag.withDescription("How many threads to list, most recent first"),
  Flag.withDefault(20)
)

/** `--archived`: list the archived threads. @internal */
export const archived = Flag.Boolean("archived").pipe(Flag.withDescription("List archived threads"), Flag.withDefault(false))

/** The thread id of `read`. @internal */
export const thread = Argument.String("thread").pipe(Argument.withDescription("The thread id (see `effect-codex threads`)"))

/** `--all`: hidden models too. @internal */
export const all = Flag.Boolean("all").pipe(Flag.withDescription("Include hidden models"), Flag.withDefault(false))

/**
 * What `run` is given.
 *
 * @internal
 */
export interface RunInput {
  readonly localModel: LocalModel
  readonly prompt: ReadonlyArray<string>
  readonly json: boolean
  readonly resume: Option.Option<string>
  readonly model: Option.Option<string>
  readonly cwd: Option.Option<string>
  readonly effort: Option.Option<string>
  readonly sandbox: Option.Option<"read-only" | "workspace-write" | "danger-full-access">
  readonly askForApproval: Option.Option<"untrusted" | "on-request" | "never">
  readonly approve: Option.Option<Policy>
  readonly outputSchema: Option.Option<{ readonly [key: string]: unknown }>
  readonly timeout: Option.Option<Duration.Duration>
}

/**
 * What `review` is given.
 *
 * @internal
 */
export interface ReviewInput {
  readonly localModel: LocalModel
  readonly base: Option.Option<string>
  readonly json: boolean
  readonly model: Option.Option<string>
  readonly cwd: Option.Option<string>
  readonly approve: Option.Option<Policy>
  readonly timeout: Option.Option<Duration.Duration>
}

/**
 * What `threads` is given.
 *
 * @internal
 */
export interface ThreadsInput {
  readonly localModel: LocalModel
  readonly limit: number
  readonly archived: boolean
  readonly json: boolean
}

/**
 * What `read` is given.
 *
 * @internal
 */
export interface ReadInput {
  readonly localModel: LocalModel
  readonly thread: string
  readonly json: boolean
}

/**
 * What `models` is given.
 *
 * @internal
 */
export interface ModelsInput {
  readonly localModel: LocalModel
  readonly all: boolean
  readonly json: boolean
}
