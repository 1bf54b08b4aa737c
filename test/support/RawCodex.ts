/**
 * Drives the real codex binary with the raw client (bench/rawClient.ts) from Effect tests, so LocalModel
 * can be tested without the SDK. Everything is scoped: the process is closed (stdin EOF, then SIGKILL)
 * and temp dirs are removed when the test's Scope closes.
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { type RawClient, type RawIncoming, spawnRawClient } from "../../bench/rawClient.ts"
import type * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as CodexBinary from "./CodexBinary.ts"

/** A codex process with one thread. */
export interface Session {
  readonly client: RawClient
  readonly threadId: string
  /** The thread's working directory (a fresh temp dir). */
  readonly cwd: string
  /** Starts a turn and collects what happens until `turn/completed` (10 s limit). */
  readonly turn: (text: string, options?: TurnOptions) => Effect.Effect<TurnLog>
}

export interface TurnOptions {
  /** Answers a server request (approval, tool call); default: `{ decision: "accept" }`. */
  readonly onServerRequest?: (request: RawIncoming) => unknown
  readonly params?: Record<string, unknown>
}

export interface TurnLog {
  /** Every notification and server request for this thread, in order. */
  readonly messages: ReadonlyArray<RawIncoming>
  readonly serverRequests: ReadonlyArray<RawIncoming>
  /** `turn/completed` params.turn. */
  readonly turn: any
  readonly errors: ReadonlyArray<any>
  readonly ofMethod: (method: string) => ReadonlyArray<any>
}

export interface StartOptions {
  /** Extra `codex` args (after `app-server`). */
  readonly args?: ReadonlyArray<string>
  /** Default: the LocalModel's env (CODEX_HOME). */
  readonly env?: Record<string, string>
  readonly threadParams?: Record<string, unknown>
}

/** A temp directory removed when the scope closes. */
export const tempDir = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), prefix))),
    (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
  )

/** Spawns codex pointed at `model`, initializes it, starts one thread. */
export const startCodex = Effect.fnUntraced(function*(
  model: LocalModel.Service,
  options: StartOptions = {}
): Effect.fn.Return<Session, never, Scope.Scope> {
  const cwd = yield* tempDir("effect-codex-ws-")
  const client = yield* Effect.acquireRelease(
    Effect.sync(() =>
      spawnRawClient({
        bin: CodexBinary.binary.command,
        args: [...CodexBinary.binary.prefixArgs, "app-server", ...(options.args ?? [])],
        env: options.env ?? model.appServerOptions.env,
        cwd
      })
    ),
    (client) => Effect.promise(() => client.close())
  )
  yield* Effect.promise(() => client.initialize({ name: "local-model-test", title: null, version: "0.0.0" }))
  const { thread } = yield* Effect.promise(() => client.request("thread/start", { cwd, ...options.threadParams }))
  const threadId: string = thread.id

  const turn = (text: string, turnOptions: TurnOptions = {}): Effect.Effect<TurnLog> =>
    Effect.callback<TurnLog>((resume) => {
      const messages: Array<RawIncoming> = []
      const unsubscribe = client.onMessage((msg) => {
        if (msg.params?.threadId !== threadId) return
        messages.push(msg)
        if (msg.id !== undefined) {
          client.respond(msg.id, (turnOptions.onServerRequest ?? (() => ({ decision: "accept" })))(msg))
        }
        if (msg.method === "turn/completed") {
          unsubscribe()
          const ofMethod = (method: string) => messages.filter((m) => m.method === method).map((m) => m.params)
          resume(Effect.succeed({
            messages,
            serverRequests: messages.filter((m) => m.id !== undefined),
            turn: msg.params.turn,
            errors: ofMethod("error"),
            ofMethod
          }))
        }
      })
      client.request("turn/start", {
        threadId,
        input: [{ type: "text", text, text_elements: [] }],
        ...turnOptions.params
      }).catch((e) => resume(Effect.die(e)))
      return Effect.sync(unsubscribe)
    }).pipe(
      Effect.timeoutOrElse({
        duration: "10 seconds",
        orElse: () => Effect.die(new Error(`turn "${text}" did not complete within 10 s`))
      })
    )

  return { client, threadId, cwd, turn }
})
