/**
 * How the program answers codex when it asks: run this command? change these
 * files? widen permissions? answer this MCP server? answer the user's question?
 *
 * Safe by default: without an `Approvals` layer every command execution, file
 * change and permission request is declined (not cancelled: `cancel` would
 * interrupt the turn), MCP elicitations are cancelled and user-input requests
 * get no answers. Nothing is ever accepted by default.
 *
 * Each handler is `(params) => Effect<decision>` with the protocol's typed
 * params and decision. A handler that fails, dies or does not answer within
 * `timeout` gets the default answer, and the turn goes on. Handlers run off the
 * connection's reader fiber, so many requests may be pending at once.
 *
 * ```ts
 * import { Layer } from "effect"
 * import { Approvals, Codex } from "effect-codex"
 *
 * // accept read-only git commands, decline everything else
 * const approvals = Approvals.layer({
 *   commandExecution: Approvals.acceptCommandsMatching(/^git (status|diff|log)\b/),
 *   timeout: "30 seconds"
 * })
 *
 * const CodexLive = Codex.layer.pipe(Layer.provide(approvals))
 * ```
 *
 * For approvals answered from elsewhere (a web UI), use {@link manual}: the
 * request shows up in the turn's events as `ApprovalRequested`, and
 * {@link respond} answers it by `requestId`.
 *
 * @stability unstable
 * @since 0.1.0
 */
import { Cause, Context, Deferred, Duration, Effect, Layer, Option, Predicate } from "../schema/internal/effect.ts"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import * as Shell from "../schema/internal/shell.ts"
import type { RequestId } from "../schema/JsonRpc.ts"
import type * as AppServerClient from "./AppServerClient.ts"
import * as ReadOnlyCommands from "./internal/readOnlyCommands.ts"
import * as Telemetry from "./internal/telemetry.ts"

/**
 * Context given to a handler with the params: which request this is.
 *
 * @category models
 * @since 0.1.0
 */
export interface RequestInfo {
  readonly requestId: RequestId
  readonly method: string
}

/**
 * A handler: params in, decision out. Failures and defects become the default
 * answer (logged).
 *
 * @category models
 * @since 0.1.0
 */
export type Handler<P, D, R = never> = (params: P, request: RequestInfo) => Effect.Effect<D, unknown, R>

const ManualTypeId = "~effect-codex/Approvals/Manual" as const

/**
 * A handler that waits for {@link respond} (or the timeout).
 *
 * @category models
 * @since 0.1.0
 */
export interface Manual {
  readonly [ManualTypeId]: typeof ManualTypeId
}

/**
 * Leaves the request for the program to answer later with {@link respond}
 * (for example from a web handler), within `timeout`.
 *
 * @category handlers
 * @since 0.1.0
 */
export const manual: Manual = { [ManualTypeId]: ManualTypeId }

const isManual = (u: unknown): u is Manual => Predicate.hasProperty(u, ManualTypeId)

/**
 * The handlers of {@link layer}; each may be a function or {@link manual}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Handlers<R = never> {
  readonly commandExecution?:
    | Handler<Protocol.CommandExecutionRequestApprovalParams, Protocol.CommandExecutionApprovalDecision, R>
    | Manual
    | undefined
  readonly fileChange?:
    | Handler<Protocol.FileChangeRequestApprovalParams, Protocol.FileChangeApprovalDecision, R>
    | Manual
    | undefined
  readonly permissions?:
    | Handler<Protocol.PermissionsRequestApprovalParams, Protocol.PermissionsRequestApprovalResponse, R>
    | Manual
    | undefined
  readonly elicitation?:
    | Handler<Protocol.McpServerElicitationRequestParams, Protocol.McpServerElicitationRequestResponse, R>
    | Manual
    | undefined
  readonly userInput?:
    | Handler<Protocol.ToolRequestUserInputParams, Protocol.ToolRequestUserInputResponse, R>
    | Manual
    | undefined
  /** How long a request may wait for its answer before it gets the default one. Default: no limit. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * A request waiting for {@link respond}.
 *
 * @category models
 * @since 0.1.0
 */
export interface PendingRequest {
  readonly requestId: RequestId
  readonly method: string
  readonly params: unknown
}

/**
 * The approvals service: what a program needs to answer requests left to
 * {@link manual}. Build it with {@link make} or {@link layer}; the plumbing
 * that connects it to a connection is internal.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /**
   * Answers a request left to {@link manual}, with the protocol's response for
   * its method (`{ decision: "accept" }` for a command approval). `false` when
   * nothing is waiting on that id (never asked, already answered, or its
   * connection ended).
   */
  readonly respond: (requestId: RequestId, response: unknown) => Effect.Effect<boolean>
  /** The requests waiting for {@link respond}. */
  readonly pending: Effect.Effect<ReadonlyArray<PendingRequest>>
}

/**
 * What a connection needs from the service. Kept off {@link Service} so
 * whoever builds approvals never implements it.
 *
 * @internal
 */
export interface Plumbing {
  /** Joins a connection: its requests are answered and tracked apart from other connections'. */
  readonly connect: () => Connection
}

/**
 * One connection's view of the service.
 *
 * @internal
 */
export interface Connection {
  /** Answers a server request this service handles; `None` for others. */
  readonly handle: (
    request: AppServerClient.ServerRequest
  ) => Effect.Effect<Option.Option<AppServerClient.ServerRequestAnswer>>
  /**
   * Registers a request left to {@link manual} as pending, before the request
   * is shown to anyone (so `respond` right after `ApprovalRequested` finds
   * it). Other requests are ignored.
   */
  readonly prepareUnsafe: (request: AppServerClient.ServerRequest) => void
  /** Settles a pending manual request with its default answer (codex resolved it). */
  readonly settle: (requestId: RequestId) => Effect.Effect<void>
  /**
   * The connection ended: its pending requests are dropped (no answer could
   * reach codex), so `pending` no longer lists them and `respond` returns `false`.
   */
  readonly closeUnsafe: () => void
}

const plumbings = new WeakMap<Service, Plumbing>()

/**
 * The plumbing of a service built by {@link make}; `undefined` for a service
 * built by hand (it then gets the safe default answers).
 *
 * @internal
 */
export const plumbingOf = (service: Service): Plumbing | undefined => plumbings.get(service)

/**
 * The key of the approvals service.
 *
 * @category services
 * @since 0.1.0
 */
export class Approvals extends Context.Service<Approvals, Service>()("effect-codex/Approvals") {}

const decline = { decision: "decline" } as const
const legacyDenied = { decision: { denied: { rejection: "declined by the client" } } } as const

/**
 * The answer given when nobody else answers: declines, grants nothing,
 * cancels elicitations, gives no user input.
 *
 * @category defaults
 * @since 0.1.0
 */
export const defaultResponse = (method: string): unknown => METHODS[method]?.fallback

type AnyHandler = Handler<any, any, any> | Manual | undefined

// The requests this service answers: exactly those in the table.
const isHandled = (method: string): boolean => Object.hasOwn(METHODS, method)

// The legacy approvals mean the same as the v2 ones; their answers are translated.
const toReviewDecision = (decision: unknown): Protocol.ReviewDecision => {
  switch (decision) {
    case "accept":
      return "approved"
    case "acceptForSession":
      return "approved_for_session"
    case "cancel":
      return "abort"
    default:
      if (Predicate.isObject(decision) && "acceptWithExecpolicyAmendment" in decision) {
        const amendment = (decision as { acceptWithExecpolicyAmendment: { execpolicy_amendment: ReadonlyArray<string> } })
          .acceptWithExecpolicyAmendment.execpolicy_amendment
        return { approved_execpolicy_amendment: { proposed_execpolicy_amendment: amendment } }
      }
      return legacyDenied.decision
  }
}

/**
 * Builds the service from handlers, capturing the context they need.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <R = never>(handlers: Handlers<R> = {}): Effect.Effect<Service, never, R> =>
  Effect.map(Effect.context<R>(), (context) => {
    const timeout = handlers.timeout === undefined ? undefined : Duration.fromInputUnsafe(handlers.timeout)

    const handlerFor = (method: string): { handler: AnyHandler; wrap: (decision: unknown) => unknown } => {
      const row = METHODS[method]!
      const handler = handlers[row.handler] as AnyHandler
      return { handler: row.adapt === undefined ? handler : row.adapt(handler), wrap: row.wrap }
    }

    // One map per connection: request ids are only unique within a connection,
    // and a connection that ends drops its own requests, not another's.
    const connections = new Set<Map<RequestId, Waiting>>()

    // Entries are made when the request is first seen (`prepareUnsafe`, called
    // before the request reaches any turn stream) or when its handler runs,
    // whichever comes first, so `respond` right after `ApprovalRequested` finds it.
    const entryFor = (waiting: Map<RequestId, Waiting>, request: AppServerClient.ServerRequest): Waiting => {
      let entry = waiting.get(request.id)
      if (entry === undefined) {
        entry = {
          info: { requestId: request.id, method: request.method, params: request.params },
          deferred: Deferred.makeUnsafe<unknown>(),
          answered: false
        }
        waiting.set(request.id, entry)
      }
      return entry
    }

    const awaitManual = (waiting: Map<RequestId, Waiting>, request: AppServerClient.ServerRequest) =>
      Effect.acquireUseRelease(
        Effect.sync(() => entryFor(waiting, request).deferred),
        Deferred.await,
        () => Effect.sync(() => waiting.delete(request.id))
      )

    const answer = (entry: Waiting | undefined, response: (method: string) => unknown) =>
      Effect.suspend(() => {
        if (entry === undefined || entry.answered) return Effect.succeed(false)
        entry.answered = true
        return Effect.as(Deferred.succeed(entry.deferred, response(entry.info.method)), true)
      })

    const answerOf = (waiting: Map<RequestId, Waiting>, request: AppServerClient.ServerRequest): Effect.Effect<unknown> => {
      const fallback = defaultResponse(request.method)
      const { handler, wrap } = handlerFor(request.method)
      if (handler === undefined) return Telemetry.trackApproval(request, Effect.succeed(fallback))
      const run: Effect.Effect<unknown, unknown> = isManual(handler)
        ? awaitManual(waiting, request)
        : (Effect.suspend(() => handler(request.params, { requestId: request.id, method: request.method })).pipe(
          Effect.map(wrap),
          Effect.provideContext(context)
        ) as Effect.Effect<unknown, unknown>)
      const bounded = timeout === undefined ? run : run.pipe(
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () =>
            Effect.logWarning(`codex: ${request.method} not answered within ${Duration.format(timeout)}; declined`)
              .pipe(Effect.as(fallback))
        })
      )
      return bounded.pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.logWarning(
            `codex: the ${request.method} handler failed; declined`,
            cause
          ).pipe(Effect.as(fallback))
        ),
        (answer) => Telemetry.trackApproval(request, answer)
      )
    }

    const find = (requestId: RequestId): Waiting | undefined => {
      for (const waiting of connections) {
        const entry = waiting.get(requestId)
        if (entry !== undefined && !entry.answered) return entry
      }
      return undefined
    }

    const service = Approvals.of({
      respond: (requestId, response) =>
        Effect.suspend(() =>
          answer(find(requestId), (method) => METHODS[method]!.fromResponse(response))
        ),
      pending: Effect.sync(() => {
        const out: Array<PendingRequest> = []
        for (const waiting of connections) {
          for (const entry of waiting.values()) if (!entry.answered) out.push(entry.info)
        }
        return out
      })
    })
    plumbings.set(service, {
      connect: () => {
        const waiting = new Map<RequestId, Waiting>()
        connections.add(waiting)
        let closed = false
        return {
          handle: (request) =>
            isHandled(request.method)
              ? Effect.map(answerOf(waiting, request), (result) => Option.some({ _tag: "Result" as const, result }))
              : Effect.succeedNone,
          prepareUnsafe: (request) => {
            if (!closed && isHandled(request.method) && isManual(handlerFor(request.method).handler)) {
              entryFor(waiting, request)
            }
          },
          settle: (requestId) => Effect.asVoid(Effect.suspend(() => answer(waiting.get(requestId), defaultResponse))),
          closeUnsafe: () => {
            closed = true
            connections.delete(waiting)
            for (const entry of waiting.values()) {
              if (entry.answered) continue
              entry.answered = true
              // the handler's fiber ends with the default answer, which the closed connection drops
              Deferred.doneUnsafe(entry.deferred, Effect.succeed(defaultResponse(entry.info.method)))
            }
            waiting.clear()
          }
        }
      }
    })
    return service
  })

interface Waiting {
  readonly info: PendingRequest
  readonly deferred: Deferred.Deferred<unknown>
  answered: boolean
}

const adaptLegacyExec = (handler: AnyHandler): AnyHandler => {
  if (handler === undefined || isManual(handler)) return handler
  return (params: Protocol.ExecCommandApprovalParams, request) =>
    handler({
      threadId: params.conversationId,
      turnId: "",
      itemId: params.callId,
      command: Shell.joinWords(params.command),
      cwd: params.cwd,
      reason: params.reason ?? null,
      startedAtMs: Date.now()
    } as unknown as Protocol.CommandExecutionRequestApprovalParams, request)
}

const adaptLegacyPatch = (handler: AnyHandler): AnyHandler => {
  if (handler === undefined || isManual(handler)) return handler
  return (params: Protocol.ApplyPatchApprovalParams, request) =>
    handler({
      threadId: params.conversationId,
      turnId: "",
      itemId: params.callId,
      reason: params.reason ?? null,
      grantRoot: params.grantRoot ?? null,
      startedAtMs: Date.now()
    } as unknown as Protocol.FileChangeRequestApprovalParams, request)
}

/**
 * One row per server request this service answers: which handler answers it,
 * how the handler's decision becomes the protocol's response (`wrap`), what is
 * answered when nobody does (`fallback`), how a response given to `respond`
 * (always in the v2 shape) becomes this method's (`fromResponse`), and, for the
 * legacy methods, how their params are shown to the v2 handler (`adapt`). A
 * new approval method is one row.
 */
interface MethodRow {
  readonly handler: Exclude<keyof Handlers, "timeout">
  readonly fallback: unknown
  readonly wrap: (decision: unknown) => unknown
  readonly fromResponse: (response: unknown) => unknown
  readonly adapt?: ((handler: AnyHandler) => AnyHandler) | undefined
}

const asIs = (value: unknown): unknown => value
const decisionOf = (decision: unknown) => ({ decision })
const legacyDecisionOf = (decision: unknown) => ({ decision: toReviewDecision(decision) })
// `respond` takes `{ decision }` (or the bare decision) of the v2 method for a legacy request too
const legacyFromResponse = (response: unknown) =>
  legacyDecisionOf(Predicate.hasProperty(response, "decision") ? response.decision : response)

const METHODS: Readonly<Record<string, MethodRow>> = {
  "item/commandExecution/requestApproval": {
    handler: "commandExecution",
    fallback: decline,
    wrap: decisionOf,
    fromResponse: asIs
  },
  "item/fileChange/requestApproval": { handler: "fileChange", fallback: decline, wrap: decisionOf, fromResponse: asIs },
  "item/permissions/requestApproval": {
    handler: "permissions",
    fallback: { permissions: {}, scope: "turn" },
    wrap: asIs,
    fromResponse: asIs
  },
  "mcpServer/elicitation/request": {
    handler: "elicitation",
    fallback: { action: "cancel", content: null },
    wrap: asIs,
    fromResponse: asIs
  },
  "item/tool/requestUserInput": { handler: "userInput", fallback: { answers: {} }, wrap: asIs, fromResponse: asIs },
  execCommandApproval: {
    handler: "commandExecution",
    fallback: legacyDenied,
    wrap: legacyDecisionOf,
    fromResponse: legacyFromResponse,
    adapt: adaptLegacyExec
  },
  applyPatchApproval: {
    handler: "fileChange",
    fallback: legacyDenied,
    wrap: legacyDecisionOf,
    fromResponse: legacyFromResponse,
    adapt: adaptLegacyPatch
  }
}

/**
 * Approvals from handlers. The context the handlers need is captured when
 * the layer is built.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <R = never>(handlers: Handlers<R>): Layer.Layer<Approvals, never, R> =>
  Layer.effect(Approvals, make(handlers))

/**
 * The safe default: decline commands, file changes and permissions; cancel
 * elicitations; no user input.
 *
 * @category layers
 * @since 0.1.0
 */
export const declineAll: Layer.Layer<Approvals> = layer({})

/**
 * Accepts every command and file change, grants requested permissions for the
 * turn. Only for sandboxes you trust.
 *
 * @category layers
 * @since 0.1.0
 */
export const dangerouslyAcceptAll: Layer.Layer<Approvals> = layer({
  commandExecution: () => Effect.succeed("accept"),
  fileChange: () => Effect.succeed("accept"),
  permissions: (params) =>
    Effect.succeed({ permissions: params.permissions as Protocol.GrantedPermissionProfile, scope: "turn" })
})

/**
 * Answers a request left to {@link manual}. `false` when nothing waits on it.
 *
 * @category accessors
 * @since 0.1.0
 */
export const respond = (requestId: RequestId, response: unknown): Effect.Effect<boolean, never, Approvals> =>
  Approvals.use((approvals) => approvals.respond(requestId, response))

/**
 * The requests waiting for {@link respond}.
 *
 * @category accessors
 * @since 0.1.0
 */
export const pending: Effect.Effect<ReadonlyArray<PendingRequest>, never, Approvals> = Approvals.use((approvals) =>
  approvals.pending
)

/**
 * Always gives `decision`.
 *
 * @category handlers
 * @since 0.1.0
 */
export const always = <D>(decision: D): Handler<unknown, D> => () => Effect.succeed(decision)

/**
 * Gives `accept` when `predicate` holds, otherwise defers to `otherwise`
 * (default: decline).
 *
 * @category handlers
 * @since 0.1.0
 */
export const acceptIf = <P, D, R = never>(
  predicate: (params: P) => boolean,
  otherwise: Handler<P, D, R> = always("decline" as D)
): Handler<P, D | "accept", R> =>
(params, request) => predicate(params) ? Effect.succeed("accept" as const) : otherwise(params, request)

/**
 * Accepts commands whose text matches one of the patterns (or the predicate),
 * otherwise defers to `otherwise` (default: decline). The command is the
 * shell command line codex shows (`/bin/bash -lc '...'` wrappers are looked
 * through).
 *
 * @category handlers
 * @since 0.1.0
 */
export const acceptCommandsMatching = <R = never>(
  match: RegExp | ReadonlyArray<RegExp> | ((command: string) => boolean),
  otherwise?: Handler<Protocol.CommandExecutionRequestApprovalParams, Protocol.CommandExecutionApprovalDecision, R>
): Handler<Protocol.CommandExecutionRequestApprovalParams, Protocol.CommandExecutionApprovalDecision, R> => {
  const test = typeof match === "function"
    ? match
    : (command: string) => (match instanceof RegExp ? [match] : match).some((pattern) => pattern.test(command))
  return acceptIf(
    (params) => params.command !== undefined && params.command !== null && test(unwrapShell(params.command)),
    otherwise ?? always<Protocol.CommandExecutionApprovalDecision>("decline")
  )
}

/**
 * The command inside a `<shell> -c|-lc '<command>'` wrapper (bash, sh, zsh or
 * dash, by name or in a system directory), or the command as is.
 *
 * @category utils
 * @since 0.1.0
 */
export const unwrapShell: (command: string) => string = Shell.unwrapShell

/**
 * Whether a command line only reads: one of a few known commands (`ls`, `cat`,
 * `grep`, `rg`, `find`, `git status|diff|log|show|branch`, ...), each with
 * flags known not to write, run another program or never end, and no shell
 * syntax beyond quoting.
 *
 * **Details**
 *
 * The line, or the script of a `<shell> -c '...'` / `<shell> -lc '...'`
 * wrapper (`/bin/bash -lc 'git status'`, `/bin/zsh -lc ls`; the shell is
 * bash, sh, zsh or dash, by name or in `/bin`, `/usr/bin`, `/usr/local/bin`,
 * `/opt/homebrew/bin`, `/run/current-system/sw/bin`), is split into words as
 * a POSIX shell does: single quotes, double quotes (where `\` escapes only
 * `$`, a backtick, `"` and `\`), backslashes outside quotes. It is refused
 * (`false`) when it holds
 *
 * - an unquoted `|`, `&`, `;`, `<`, `>`, `(`, `)` or newline: pipes, chains,
 *   background jobs, redirections (`2>x`, here-documents), subshells;
 * - a `$` or a backtick outside single quotes: variables, `$(...)`, `$'...'`;
 * - an unquoted `{` or `}` (brace expansion turns `{-delete,}` into `-delete`),
 *   a comment, an unbalanced quote or a trailing backslash;
 * - a first word that is not one of the commands below, spelled as is: so
 *   `FOO=1 ls`, `env ls`, `sudo ls`, `/bin/ls` and `./ls` are refused;
 * - a flag not listed for its command below.
 *
 * How flags are read: `-x=` / `--name=` take a value (`-x5`, `-x 5`,
 * `--name=5`, `--name 5`; a value as its own word must not begin with `-`
 * nor hold a glob),
 * `-x[=]` / `--name[=]` take an optional value only when attached (`-U5`,
 * `--color=auto`), `--name=?` takes the next word unless it is a flag or
 * missing (git's `--merged [<commit>]`), other flags take none. Short flags
 * combine when every letter is listed (`ls -la`, `head -n5`). A long flag must
 * be spelled out (the programs' abbreviations, as `--out` for `--output`, are
 * refused). `--` ends the flags. `-NUM` counts are accepted by `head`, `tail`,
 * `grep` (context), `git log` and `git show`.
 *
 * Globs (`*`, `?`, `[`) are accepted only where every file name they can
 * expand to stays what the word was: behind a literal prefix that does not
 * begin with `-` (`src/*.ts`), anywhere after `--`, in the value of
 * `--name=value` (`--include=*.ts`). `rg foo *.ts` is refused: a file called
 * `--pre=x.ts` would become a flag.
 *
 * The commands and their flags:
 *
 * - ls: `-a -A -b -B -c -C -d -f -F -g -G -h -H -i -k -l -L -m -n -N -o -p -q -Q -r -R -s -S -t -u -U -v -x`
 *   `-X -Z -1 -I= -w= --all --almost-all --escape --ignore-backups --directory --classify[=] --file-type`
 *   `--human-readable --si --dereference --dereference-command-line --inode --numeric-uid-gid --literal`
 *   `--hide-control-chars --show-control-chars --quote-name --reverse --recursive --size`
 *   `--group-directories-first --no-group --full-time --author --context --color[=] --hyperlink[=] --format=`
 *   `--sort= --time= --time-style= --block-size= --ignore= --hide= --indicator-style= --quoting-style=`
 *   `--width=`
 * - cat: `-A -b -e -E -n -s -t -T -u -v --show-all --number-nonblank --number --squeeze-blank --show-ends`
 *   `--show-tabs --show-nonprinting`
 * - pwd: `-L -P`
 * - head: `-n= -c= -q -v -z --lines= --bytes= --quiet --silent --verbose --zero-terminated`
 * - tail: `-n= -c= -q -v -z --lines= --bytes= --quiet --silent --verbose --zero-terminated`
 * - wc: `-c -m -l -w -L --bytes --chars --lines --words --max-line-length --total=`
 * - grep: `-i -y -v -w -x -c -l -L -n -h -H -o -q -s -r -R -E -F -G -P -z -Z -a -I -U -b -T -e= -f= -m= -A=`
 *   `-B= -C= -d= -D= --ignore-case --no-ignore-case --invert-match --word-regexp --line-regexp --count`
 *   `--files-with-matches --files-without-match --line-number --no-filename --with-filename --only-matching`
 *   `--quiet --silent --no-messages --recursive --dereference-recursive --extended-regexp --fixed-strings`
 *   `--basic-regexp --perl-regexp --null-data --null --text --byte-offset --initial-tab --line-buffered`
 *   `--color[=] --colour[=] --regexp= --file= --max-count= --after-context= --before-context= --context=`
 *   `--include= --exclude= --exclude-dir= --exclude-from= --binary-files= --directories= --devices= --label=`
 * - rg: `-i -s -S -v -w -x -c -l -n -N -H -I -o -q -F -U -L -a -u -P -p -0 -. -e= -f= -g= -t= -T= -m= -A=`
 *   `-B= -C= -M= -j= -d= -E= -r= --hidden --no-hidden --no-ignore --no-ignore-vcs --no-ignore-dot`
 *   `--no-ignore-parent --no-ignore-global --no-ignore-exclude --no-ignore-files --no-require-git --files`
 *   `--files-with-matches --files-without-match --count --count-matches --line-number --no-line-number`
 *   `--with-filename --no-filename --heading --no-heading --ignore-case --case-sensitive --smart-case`
 *   `--invert-match --word-regexp --line-regexp --fixed-strings --multiline --multiline-dotall --follow`
 *   `--text --only-matching --quiet --json --vimgrep --column --no-column --byte-offset --trim --stats --null`
 *   `--null-data --no-messages --one-file-system --pcre2 --crlf --no-config --type-list --passthru`
 *   `--unrestricted --pretty --binary --no-binary --glob-case-insensitive --line-buffered --block-buffered`
 *   `--regexp= --file= --glob= --iglob= --type= --type-not= --type-add= --type-clear= --max-count=`
 *   `--after-context= --before-context= --context= --max-columns= --max-depth= --max-filesize= --threads=`
 *   `--sort= --sortr= --color= --colors= --encoding= --engine= --replace= --path-separator=`
 *   `--context-separator= --field-match-separator= --field-context-separator= --ignore-file=`
 * - find options: `-H -L -P`
 * - find operators: `( ) ! , -not -a -and -o -or`
 * - find primaries: `-depth -empty -executable -false -true -readable -writable -nouser -nogroup -mount`
 *   `-xdev -noleaf -ignore_readdir_race -noignore_readdir_race -daystart -follow -prune -quit -print -print0`
 *   `-ls -warn -nowarn`
 * - find primaries with an argument: `-name -iname -path -ipath -wholename -iwholename -regex -iregex`
 *   `-lname -ilname -type -xtype -maxdepth -mindepth -size -mtime -mmin -atime -amin -ctime -cmin -used`
 *   `-newer -anewer -cnewer -user -group -uid -gid -perm -links -inum -samefile -fstype -regextype -printf`
 * - git options: `--no-pager -P --no-optional-locks`
 * - git status: `-s -b -v -z --short --branch --show-stash --long --verbose --null --ahead-behind`
 *   `--no-ahead-behind --renames --no-renames --find-renames[=] --porcelain[=] -u[=] --untracked-files[=]`
 *   `--ignored[=] --ignore-submodules[=] --column[=] --no-column`
 * - git diff, log, show: `-p -u -s -z -R -a -w -b -W -D --patch --no-patch --raw --patch-with-raw`
 *   `--patch-with-stat --stat[=] --numstat --shortstat --compact-summary --summary --name-only --name-status`
 *   `--dirstat[=] --cumulative --full-index --binary --abbrev[=] --color[=] --no-color --color-moved[=]`
 *   `--no-color-moved --color-words[=] --word-diff[=] --word-diff-regex= --no-renames --find-renames[=] -M[=]`
 *   `--find-copies[=] -C[=] --find-copies-harder --break-rewrites[=] -B[=] --irreversible-delete -l=`
 *   `--diff-filter= -S= -G= --pickaxe-all --pickaxe-regex --text --ignore-all-space --ignore-space-change`
 *   `--ignore-space-at-eol --ignore-blank-lines --ignore-cr-at-eol --minimal --patience --histogram`
 *   `--diff-algorithm= --anchored= -U[=] --unified[=] --inter-hunk-context= --function-context --relative[=]`
 *   `--no-relative --src-prefix= --dst-prefix= --no-prefix --default-prefix --line-prefix=`
 *   `--ignore-submodules[=] --submodule[=] --no-ext-diff --no-textconv --check --exit-code --quiet`
 *   `--stat-width= --stat-name-width= --stat-count= --stat-graph-width= --indent-heuristic`
 *   `--no-indent-heuristic`
 * - git diff: `--cached --staged --merge-base --no-index`
 * - git log, show: `--oneline --graph --decorate[=] --no-decorate --all --branches[=] --tags[=]`
 *   `--remotes[=] --reverse --first-parent --merges --no-merges --follow --abbrev-commit --no-abbrev-commit`
 *   `--topo-order --date-order --author-date-order --left-right --left-only --right-only --cherry-pick`
 *   `--cherry-mark --cherry --boundary --source --full-history --simplify-by-decoration --simplify-merges`
 *   `--dense --sparse --ancestry-path --remove-empty --parents --children --relative-date -i`
 *   `--regexp-ignore-case -E -F --extended-regexp --fixed-strings --basic-regexp --all-match --invert-grep -g`
 *   `--walk-reflogs --no-walk[=] --do-walk --mailmap --use-mailmap --no-mailmap -m -c --cc`
 *   `--combined-all-paths --diff-merges= --no-diff-merges -t --no-notes --no-expand-tabs -n= --max-count=`
 *   `--skip= --since= --after= --until= --before= --author= --committer= --grep= --date= --format=`
 *   `--pretty[=]`
 * - git branch: `-a -r -v -i -l --all --remotes --verbose --list --ignore-case --show-current --no-color`
 *   `--no-column --no-abbrev --omit-empty --color[=] --column[=] --abbrev[=] --contains=? --no-contains=?`
 *   `--merged=? --no-merged=? --points-at= --sort= --format=`
 * - which: `-a`
 * - file: `-b -i -k -L -h -N -E --brief --mime --mime-type --mime-encoding --keep-going --dereference`
 *   `--no-dereference --no-pad`
 * - stat: `-L -f -t -c= --dereference --file-system --terse --format= --printf=`
 * - du: `-a -b -c -h -k -m -s -x -H -L -P -l -S -0 -d= --all --apparent-size --bytes --total`
 *   `--human-readable --si --summarize --one-file-system --dereference --dereference-args --no-dereference`
 *   `--count-links --separate-dirs --null --inodes --max-depth= --block-size= --exclude= --threshold=`
 * - df: `-a -h -H -i -k -l -P -T -t= -x= --all --human-readable --si --inodes --local --portability`
 *   `--print-type --total --type= --exclude-type= --block-size=`
 * - tree: `-a -d -l -f -x -i -q -N -Q -p -u -g -s -h -D -F -v -t -c -U -r -C -n -J -L= -P= -I= --noreport`
 *   `--dirsfirst --gitignore --prune --du --si --matchdirs --ignore-case --filelimit= --charset=`
 *
 * Also:
 *
 * - `echo` takes any arguments; `pwd` takes no operand;
 * - `tail`: no operand beginning with `+` (`tail +5f x` is the old spelling
 *   of `tail -f`), and no `-f`, `-F`, `--follow`, `--retry`, `--pid`;
 * - `rg`: not `--pre`, `--pre-glob`, `-z` / `--search-zip` (they run other
 *   programs on each file) nor `--hostname-bin`;
 * - `find`: after the starting points (`find src`, not `find *`), only the
 *   operators and primaries above, `-newerXY` too (`-newermt`), and no glob
 *   (`-name '*.ts'` must be quoted): not `-exec`, `-execdir`, `-ok`, `-okdir`,
 *   `-delete`, `-fprint`, `-fprint0`, `-fprintf`, `-fls`;
 * - `git`: `diff` / `log` / `show` without `--output`, `--ext-diff`,
 *   `--textconv`, `--show-signature`; `--format` / `--pretty` without `%G`
 *   placeholders (they run gpg); `branch` lists only: a name needs `--list`
 *   (otherwise it would create a branch) and no `-d`, `-D`, `-m`, `-M`, `-c`,
 *   `-C`, `-f`, `-u`, `--edit-description` ... (its `--format` without
 *   `%(signature)`); no `-c` / `-C` / `--git-dir` before the subcommand;
 * - `tree`: not `-o` (writes a file) nor `-R`; a short flag with a value
 *   stands alone (`-L 2`, not `-aL2`);
 * - `file`: not `-C` (writes a magic file) nor `-z` / `-Z`.
 *
 * **Gotchas**
 *
 * - Read-only is not harmless: `cat ~/.ssh/id_ed25519` only reads, and what it
 *   reads goes to the model.
 * - Commands are found on `PATH`, and git runs with the repository's
 *   configuration: a repository whose config the agent could write (one it
 *   created inside a writable workspace, say) can make `git status` run
 *   `core.fsmonitor`, `git diff` run `diff.external` or a textconv filter.
 *   Accept git commands this way only in repositories you trust. (`git
 *   status` may also refresh `.git/index`, as any status does.)
 * - Without a file, `cat`, `grep`, `head`, `wc` read stdin, which codex leaves
 *   empty; a reading command may still take long (`find /`, `grep -r x /`).
 * - When in doubt the answer is `false`, and `false` only means "not known to
 *   be read-only": decline, or ask someone.
 *
 * ```ts
 * import { Approvals } from "effect-codex"
 *
 * Approvals.isReadOnlyCommand("/bin/bash -lc 'git log --oneline -5'") // true
 * Approvals.isReadOnlyCommand("git branch -D main") // false
 * Approvals.isReadOnlyCommand("rg --pre ./x.sh foo") // false
 * ```
 *
 * @category utils
 * @since 0.1.0
 */
export const isReadOnlyCommand = (command: string): boolean => ReadOnlyCommands.isReadOnly(command)
