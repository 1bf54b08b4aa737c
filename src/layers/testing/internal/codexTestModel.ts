/**
 * The model of a scripted turn: what a step sees of its turn, how a turn
 * ends, and the options of the scripted server. Shared by the public
 * `CodexTest` module (which re-exports it) and the server that plays steps.
 *
 * @internal
 */
import type { Duration, Effect } from "../../../schema/internal/effect.ts"
import type {
  ServerNotificationMethod,
  ServerNotificationParamsByMethod,
  ServerRequestMethod,
  ServerRequestParamsByMethod,
  ServerRequestResponseByMethod
} from "../../../schema/generated/Methods.gen.ts"
import type * as Protocol from "../../../schema/generated/Protocol.gen.ts"
import type * as JsonRpc from "../../../schema/JsonRpc.ts"
import type * as AppServerClient from "../../../services/AppServerClient.ts"
import type * as Harness from "./codexTestHarness.ts"

/** Marks a value as a script step. */
export const StepTypeId = "~effect-codex/CodexTest/Step" as const

/**
 * Token usage reported after a model response (`thread/tokenUsage/updated`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Usage {
  readonly input: number
  readonly cached?: number | undefined
  readonly output: number
  readonly reasoning?: number | undefined
}

/**
 * How the client answered a server request: its result, decoded with the
 * protocol's response schema, or its JSON-RPC error.
 *
 * @category models
 * @since 0.1.0
 */
export type ClientAnswer<M extends ServerRequestMethod> =
  | { readonly _tag: "Result"; readonly result: ServerRequestResponseByMethod[M] }
  | { readonly _tag: "Error"; readonly error: JsonRpc.ErrorObject }

/**
 * Ends a turn early: `failed` (with the protocol's error) or `interrupted`.
 * Produced by {@link TurnContext.fail} and {@link TurnContext.interrupt}.
 *
 * @category models
 * @since 0.1.0
 */
export interface TurnEnd {
  readonly _tag: "TurnEnd"
  readonly status: "failed" | "interrupted"
  readonly error: Protocol.TurnError | null
}

/**
 * The running turn, as a {@link Step} sees it: who started it with what, and
 * how to emit what codex would emit. Every message is typed by the generated
 * protocol, so what a step sends decodes on the client.
 *
 * @category models
 * @since 0.1.0
 */
export interface TurnContext {
  readonly threadId: string
  readonly turnId: string
  /** 1-based number of the `turn/start` that began this turn, across threads. */
  readonly index: number
  /** The `turn/start` params. */
  readonly params: Protocol.TurnStartParams
  /** The user input of the turn. */
  readonly input: ReadonlyArray<Protocol.UserInput>
  /** The text items of the input, joined by newlines. */
  readonly text: string
  /** The working directory of the turn. */
  readonly cwd: string
  /** The client's answers to this turn's server requests so far, in order. */
  readonly answers: ReadonlyArray<Harness.RecordedAnswer>
  /** Input the client steered into this turn so far (`turn/steer`, or `turn/start` while it runs). */
  readonly steers: ReadonlyArray<ReadonlyArray<Protocol.UserInput>>
  /** The pause before each message (see {@link slow}). */
  readonly delay: Duration.Duration
  /** The same turn with a pause before each message (what {@link slow} uses). */
  readonly withDelay: (delay: Duration.Input) => TurnContext
  /** A fresh id such as `msg_0001` (unique for the server's life). */
  readonly nextId: (prefix: string) => string
  /** The current time in milliseconds (from the `Clock`, so `TestClock` drives it). */
  readonly now: Effect.Effect<number>
  /** Sends a notification. `item/completed` items are collected into the turn. */
  readonly notify: <M extends ServerNotificationMethod>(
    method: M,
    params: ServerNotificationParamsByMethod[M]
  ) => Effect.Effect<void>
  /**
   * Sends a server request and waits for the client's answer; codex's
   * `serverRequest/resolved` follows it (not for `item/tool/call`, as in codex).
   */
  readonly request: <M extends ServerRequestMethod>(
    method: M,
    params: ServerRequestParamsByMethod[M]
  ) => Effect.Effect<ClientAnswer<M>>
  /** `item/started` for an item. */
  readonly startItem: (item: Protocol.ThreadItem) => Effect.Effect<void>
  /** `item/completed` for an item (it becomes part of the turn's items). */
  readonly completeItem: (item: Protocol.ThreadItem) => Effect.Effect<void>
  /** `thread/status/changed` to active with these flags (`waitingOnApproval`, ...). */
  readonly setStatus: (activeFlags: ReadonlyArray<Protocol.ThreadActiveFlag>) => Effect.Effect<void>
  /** `thread/tokenUsage/updated` (the thread's total grows) and `account/rateLimits/updated`. */
  readonly usage: (usage: Usage) => Effect.Effect<void>
  /** Adds a file's unified diff to the turn's diff and sends `turn/diff/updated`. */
  readonly diff: (diff: string) => Effect.Effect<void>
  /** Sends the `error` notification and ends the turn `failed` with that error. */
  readonly fail: (
    message: string,
    codexErrorInfo?: Protocol.CodexErrorInfo | null,
    additionalDetails?: string | null
  ) => Effect.Effect<never, TurnEnd>
  /** Ends the turn `interrupted`. */
  readonly interrupt: Effect.Effect<never, TurnEnd>
  /**
   * The app-server process dies: the connection ends with `ProcessExited`
   * (`exitCode` default 1, or `signal`, and these `stderr` lines) and nothing
   * more is sent or answered.
   */
  readonly crash: (options?: CrashOptions) => Effect.Effect<never>
}

/**
 * How the scripted app-server dies in {@link crash}.
 *
 * @category models
 * @since 0.1.0
 */
export interface CrashOptions {
  /** The exit code (default 1); ignored when `signal` is set. */
  readonly exitCode?: number | undefined
  /** The signal that killed it, e.g. `"SIGKILL"`. */
  readonly signal?: string | undefined
  /** The last lines it wrote to stderr. */
  readonly stderr?: ReadonlyArray<string> | undefined
}

/**
 * One scripted piece of a turn. {@link layer} plays one step per
 * `turn/start`; {@link turn} makes one step of several. After the step, the
 * turn completes (`turn/completed` with status `completed`), unless the step
 * ended it otherwise.
 *
 * @category models
 * @since 0.1.0
 */
export interface Step {
  readonly [StepTypeId]: typeof StepTypeId
  /** A short description, shown in {@link PlayedTurn.step}. */
  readonly label: string
  readonly play: (turn: TurnContext) => Effect.Effect<void, TurnEnd>
}

/**
 * A stored thread the server knows from the start (for `thread/list`,
 * `thread/read` and `thread/resume` tests). Not loaded until resumed.
 *
 * @category models
 * @since 0.1.0
 */
export interface StoredThread {
  /** Default: a fresh UUIDv7-shaped id. */
  readonly id?: string | undefined
  readonly name?: string | null | undefined
  /** Default: the first user message of `history`. */
  readonly preview?: string | undefined
  readonly cwd?: string | undefined
  readonly archived?: boolean | undefined
  /** Finished turns: one user message and one agent answer each. */
  readonly history?: ReadonlyArray<{ readonly user: string; readonly agent: string }> | undefined
}

/**
 * Options of {@link layer}: the client's own options, and how the server
 * behaves.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options extends AppServerClient.Options {
  /**
   * Play each turn to its end before answering its `turn/start`, as the real
   * binary can with an instant model: the client sees the turn's events before
   * it knows the turn's id. Default `false`.
   */
  readonly early?: boolean | undefined
  /** Played for every `turn/start` past the end of the script (default: the turn fails, naming the missing step). */
  readonly fallback?: Step | undefined
  /** Threads stored before the connection starts. */
  readonly threads?: ReadonlyArray<StoredThread> | undefined
  /** The models `model/list` offers. Default: one `mock-model`. */
  readonly models?: ReadonlyArray<Protocol.Model> | undefined
  /** The model of new threads. Default `"mock-model"`. */
  readonly model?: string | undefined
  /** The signed-in account `account/read` reports. Default: none. */
  readonly account?: Protocol.Account | null | undefined
  /** The working directory of threads started without one. Default: `process.cwd()`. */
  readonly cwd?: string | undefined
  /** The `codexHome` of the `initialize` answer. */
  readonly codexHome?: string | undefined
  /** Answers for other methods (they take precedence over the built-in ones). */
  readonly methods?:
    | Readonly<Record<string, (params: unknown) => Effect.Effect<unknown, JsonRpc.ErrorObject>>>
    | undefined
  /** Also write the session as a JSONL transcript (the format {@link layerReplay} reads). */
  readonly record?: string | (Harness.RecordOptions & { readonly path: string }) | undefined
}
