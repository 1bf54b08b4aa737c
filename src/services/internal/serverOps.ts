/**
 * The operations of the `Codex` service beyond threads and turns: commands
 * outside a turn, loaded threads and stored history by id, usage and rate
 * limits, configuration, skills, MCP servers, file search and feedback. Each
 * is one traced request (or a stream over pages of one); `Codex.make` spreads
 * them into the service.
 *
 * @internal
 */
import { Effect, type Schema, type Scope, Stream } from "../../schema/internal/effect.ts"
import type * as CodexError from "../../schema/CodexError.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import type * as AppServerClient from "../AppServerClient.ts"
import type * as Command from "../Command.ts"
import * as Commands from "./commands.ts"
import * as History from "./history.ts"

/**
 * A config edit of `Codex.writeConfigBatch`: `mergeStrategy` defaults to `"replace"`.
 *
 * @internal
 */
export type ConfigEdit = Omit<Protocol.ConfigEdit, "mergeStrategy"> & {
  readonly mergeStrategy?: Protocol.MergeStrategy | undefined
}

/**
 * Builds the operations over the client.
 *
 * @internal
 */
export const make = (client: AppServerClient.Service, history: History.History) => {
  const command = (
    argv: ReadonlyArray<string>,
    options: Command.Options = {}
  ): Effect.Effect<Command.Command, CodexError.CodexError, Scope.Scope> => {
    const { stdin = true, terminateTimeout, ...params } = options
    return Commands.start(client, {
      ...params,
      command: argv,
      streamStdoutStderr: true,
      ...(stdin ? { streamStdin: true } : {})
    }, terminateTimeout).pipe(Effect.withSpan("Codex.command", { attributes: { "codex.command": argv[0] ?? "" } }))
  }

  const exec = (
    argv: ReadonlyArray<string>,
    options: Command.ExecOptions = {}
  ): Effect.Effect<Protocol.CommandExecResponse, CodexError.CodexError> => {
    const { terminateTimeout, ...params } = options
    // a process id even though nothing is streamed: it is what an interrupt terminates
    return Effect.scoped(
      Effect.flatMap(Commands.start(client, { ...params, command: argv }, terminateTimeout), (running) => running.exit)
    ).pipe(Effect.withSpan("Codex.exec", { attributes: { "codex.command": argv[0] ?? "" } }))
  }

  const listLoadedThreads = Effect.fn("Codex.listLoadedThreads")(function*(options: Protocol.ThreadLoadedListParams = {}) {
    return yield* client.request("thread/loaded/list", options)
  })

  const listMcpServers = Effect.fn("Codex.listMcpServers")(function*(options: Protocol.ListMcpServerStatusParams = {}) {
    return yield* client.request("mcpServerStatus/list", options)
  })

  return {
    command,
    exec,
    listLoadedThreads,
    loadedThreads: (options: Omit<Protocol.ThreadLoadedListParams, "cursor"> = {}): Stream.Stream<
      string,
      CodexError.CodexError
    > => History.pages((cursor) => listLoadedThreads(cursor === undefined ? options : { ...options, cursor })),
    deleteThread: Effect.fn("Codex.deleteThread")(function*(threadId: string) {
      yield* history.delete(threadId)
    }),
    listTurns: Effect.fn("Codex.listTurns")(
      function*(threadId: string, options?: Omit<Protocol.ThreadTurnsListParams, "threadId">) {
        return yield* history.listTurns(threadId, options)
      }
    ),
    turns: (threadId: string, options?: Omit<Protocol.ThreadTurnsListParams, "threadId" | "cursor">) =>
      history.turns(threadId, options).pipe(Stream.withSpan("Codex.turns")),
    listItems: Effect.fn("Codex.listItems")(
      function*(threadId: string, options?: Omit<Protocol.ThreadItemsListParams, "threadId">) {
        return yield* history.listItems(threadId, options)
      }
    ),
    items: (threadId: string, options?: Omit<Protocol.ThreadItemsListParams, "threadId" | "cursor">) =>
      history.items(threadId, options).pipe(Stream.withSpan("Codex.items")),

    rateLimits: Effect.fn("Codex.rateLimits")(function*(options: Protocol.GetAccountRateLimitsParams = {}) {
      return yield* client.request("account/rateLimits/read", options)
    }),
    usage: Effect.fn("Codex.usage")(function*(options: Protocol.GetAccountTokenUsageParams = {}) {
      return yield* client.request("account/usage/read", options)
    }),
    rateLimitUpdates: client.incoming.pipe(
      Stream.filter((incoming) => incoming._tag === "Notification" && incoming.method === "account/rateLimits/updated"),
      Stream.map((incoming) => (incoming.params as Protocol.AccountRateLimitsUpdatedNotification).rateLimits)
    ),

    readConfig: Effect.fn("Codex.readConfig")(function*(options: Protocol.ConfigReadParams = {}) {
      return yield* client.request("config/read", options)
    }),
    writeConfig: Effect.fn("Codex.writeConfig")(
      function*(
        keyPath: string,
        value: Schema.Json,
        options: Omit<Protocol.ConfigValueWriteParams, "keyPath" | "value" | "mergeStrategy"> & {
          readonly mergeStrategy?: Protocol.MergeStrategy | undefined
        } = {}
      ) {
        return yield* client.request("config/value/write", {
          ...options,
          mergeStrategy: options.mergeStrategy ?? "replace",
          keyPath,
          value
        })
      }
    ),
    writeConfigBatch: Effect.fn("Codex.writeConfigBatch")(
      function*(edits: ReadonlyArray<ConfigEdit>, options: Omit<Protocol.ConfigBatchWriteParams, "edits"> = {}) {
        return yield* client.request("config/batchWrite", {
          ...options,
          edits: edits.map((edit) => ({ ...edit, mergeStrategy: edit.mergeStrategy ?? "replace" }))
        })
      }
    ),
    skills: Effect.fn("Codex.skills")(function*(options: Protocol.SkillsListParams = {}) {
      return yield* client.request("skills/list", options)
    }),
    listMcpServers,
    mcpServers: (options: Omit<Protocol.ListMcpServerStatusParams, "cursor"> = {}): Stream.Stream<
      Protocol.McpServerStatus,
      CodexError.CodexError
    > => History.pages((cursor) => listMcpServers(cursor === undefined ? options : { ...options, cursor })),
    callMcpTool: Effect.fn("Codex.callMcpTool")(function*(params: Protocol.McpServerToolCallParams) {
      return yield* client.request("mcpServer/tool/call", params)
    }),
    readMcpResource: Effect.fn("Codex.readMcpResource")(function*(params: Protocol.McpResourceReadParams) {
      return yield* client.request("mcpServer/resource/read", params)
    }),
    fuzzyFileSearch: Effect.fn("Codex.fuzzyFileSearch")(function*(params: Protocol.FuzzyFileSearchParams) {
      return yield* client.request("fuzzyFileSearch", params)
    }),
    uploadFeedback: Effect.fn("Codex.uploadFeedback")(function*(params: Protocol.FeedbackUploadParams) {
      return yield* client.request("feedback/upload", params)
    })
  }
}
