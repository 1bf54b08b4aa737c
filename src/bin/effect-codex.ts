#!/usr/bin/env node
/**
 * `effect-codex`: Codex from the command line, built with `effect/cli` on this SDK.
 *
 *   effect-codex run <prompt...>      one turn, the answer streamed (a new thread, or --resume <thread>)
 *   effect-codex review [--base b]    a code review of the uncommitted changes (or against a base branch)
 *   effect-codex threads              stored threads, with names and dates
 *   effect-codex read <thread>        a thread's transcript
 *   effect-codex models               the models codex offers
 *
 * It runs the user's codex (their `CODEX_HOME`, config and login; `CODEX_PATH` picks another binary);
 * `--local-model` runs it on the embedded LocalModel instead, for trying the tool out with no key.
 * See docs/cli.md.
 *
 * @internal
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "../schema/internal/effect.ts"
import * as CliError from "effect/cli/CliError"
import * as Command from "effect/cli/Command"
import { version } from "../schema/Version.ts"
import * as Flags from "./internal/flags.ts"
import * as Terminal from "./internal/terminal.ts"
import { EXIT, Failure } from "./internal/failure.ts"

// The commands' code (and the SDK under it) is loaded when a command runs: `--help` and `--version`
// answer without it, and never start codex.
const commands = Effect.promise(() => import("./internal/commands.ts"))

Terminal.watchStdout()

const root = Command.make("effect-codex").pipe(
  Command.withSharedFlags({ localModel: Flags.localModel }),
  Command.withDescription("Codex from the command line: run turns, review changes, read threads (the effect-codex SDK)")
)

const run = Command.make(
  "run",
  {
    prompt: Flags.prompt,
    json: Flags.json,
    resume: Flags.resume,
    model: Flags.model,
    cwd: Flags.cwd,
    effort: Flags.effort,
    sandbox: Flags.sandbox,
    askForApproval: Flags.askForApproval,
    approve: Flags.approve,
    outputSchema: Flags.outputSchema,
    timeout: Flags.timeout
  },
  (flags) =>
    Effect.gen(function*() {
      const { localModel } = yield* root
      return yield* (yield* commands).run({ ...flags, localModel })
    })
).pipe(
  Command.withDescription("Run one turn: the answer as it streams, a line per command and file change, the token usage"),
  Command.withExamples([
    { command: "effect-codex run \"What does this repository do?\"", description: "Ask about the current directory" },
    { command: "effect-codex run --resume <thread> \"Now add tests\"", description: "Continue a thread" },
    { command: "effect-codex run --json \"List the TODOs\" | jq .", description: "Every event as a JSON line" },
    { command: "effect-codex --local-model run \"Say hello\"", description: "Try it out with no API key" }
  ])
)

const review = Command.make(
  "review",
  {
    base: Flags.base,
    json: Flags.json,
    model: Flags.model,
    cwd: Flags.cwd,
    approve: Flags.approve,
    timeout: Flags.timeout
  },
  (flags) =>
    Effect.gen(function*() {
      const { localModel } = yield* root
      return yield* (yield* commands).review({ ...flags, localModel })
    })
).pipe(
  Command.withDescription("Review code changes: the uncommitted ones, or this branch against --base"),
  Command.withExamples([
    { command: "effect-codex review", description: "Review the uncommitted changes" },
    { command: "effect-codex review --base main", description: "Review this branch against main" }
  ])
)

const threads = Command.make(
  "threads",
  { limit: Flags.limit, archived: Flags.archived, json: Flags.json },
  (flags) =>
    Effect.gen(function*() {
      const { localModel } = yield* root
      return yield* (yield* commands).threads({ ...flags, localModel })
    })
).pipe(Command.withDescription("List the stored threads, with their names and dates"))

const read = Command.make(
  "read",
  { thread: Flags.thread, json: Flags.json },
  (flags) =>
    Effect.gen(function*() {
      const { localModel } = yield* root
      return yield* (yield* commands).read({ ...flags, localModel })
    })
).pipe(Command.withDescription("Print a thread: its prompts, answers, commands and file changes"))

const models = Command.make(
  "models",
  { all: Flags.all, json: Flags.json },
  (flags) =>
    Effect.gen(function*() {
      const { localModel } = yield* root
      return yield* (yield* commands).models({ ...flags, localModel })
    })
).pipe(Command.withDescription("List the models codex offers (* marks the default model and effort)"))

root.pipe(
  Command.withSubcommands([run, review, threads, read, models]),
  Command.run({ version }),
  // a usage error (unknown flag, missing argument, bad value) was shown with the help: exit 2, as shells expect
  Effect.catchIf(
    (error) => CliError.isCliError(error) && error._tag !== "UserError",
    (error) => Effect.fail(new Failure({ message: String(error), exitCode: EXIT.usage }))
  ),
  Effect.provide(Terminal.layerPromptTerminal),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
