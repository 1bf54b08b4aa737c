/**
 * Payload builders of the in-memory app-server of `CodexTest`: thread
 * records, turns, models, ids. Shapes are copied from what codex 0.169.0 sends
 * (see `test/fixtures/transcripts`), so every payload decodes with the
 * generated schemas.
 */
import type * as Protocol from "../../../schema/generated/Protocol.gen.ts"

/** The version codex reports in thread records. */
export const CLI_VERSION = "0.169.0"

/** The model every default thread uses. */
export const DEFAULT_MODEL = "mock-model"

/** The model provider every default thread uses. */
export const DEFAULT_MODEL_PROVIDER = "mock"

/** The context window codex reports with token usage. */
export const MODEL_CONTEXT_WINDOW = 121600

/** The one-model catalog `model/list` answers by default. */
export const defaultModels: ReadonlyArray<Protocol.Model> = [{
  id: DEFAULT_MODEL,
  model: DEFAULT_MODEL,
  upgrade: null,
  upgradeInfo: null,
  availabilityNux: null,
  displayName: "Mock Model",
  description: "Local mock model",
  modelSpecialty: null,
  hidden: false,
  supportedReasoningEfforts: [
    { reasoningEffort: "low", description: "low" },
    { reasoningEffort: "medium", description: "medium" }
  ],
  defaultReasoningEffort: "low",
  inputModalities: ["text", "image"],
  supportsPersonality: false,
  multiAgentVersion: null,
  additionalSpeedTiers: [],
  serviceTiers: [],
  defaultServiceTier: null,
  availableAccessPrograms: null,
  isDefault: true
}]

/** The rate limits snapshot codex sends after each model response. */
export const rateLimits: Protocol.AccountRateLimitsUpdatedNotification = {
  rateLimits: {
    limitId: "codex",
    limitName: null,
    normalModelSlug: null,
    primary: null,
    secondary: null,
    credits: null,
    individualLimit: null,
    spendControlReached: null,
    planType: null,
    rateLimitReachedType: null
  }
}

/** A UUIDv7-shaped id from a counter; `variant` keeps kinds of ids apart. */
export const uuid = (variant: "8" | "9" | "a" | "b", n: number): string =>
  `00000000-0000-7000-${variant}000-${n.toString(16).padStart(12, "0")}`

const UUID = /^(urn:uuid:)?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/

/** Whether codex would parse the string as a thread id. */
export const isUuid = (s: string): boolean => UUID.test(s)

/** Seconds from milliseconds, as codex reports `createdAt` and friends. */
export const seconds = (ms: number): number => Math.floor(ms / 1000)

/** The sandbox policy codex reports for a sandbox mode. */
export const sandboxPolicy = (mode: string | null | undefined): Protocol.SandboxPolicy => {
  switch (mode) {
    case "workspace-write":
      return { type: "workspaceWrite", writableRoots: [], networkAccess: false, excludeTmpdirEnvVar: false, excludeSlashTmp: false }
    case "danger-full-access":
      return { type: "dangerFullAccess" }
    default:
      return { type: "readOnly", networkAccess: false }
  }
}

/** What the server knows about one thread. */
export interface ThreadState {
  readonly id: string
  /** Creation order, for `thread/list` sorting when clocks tie. */
  readonly seq: number
  updatedSeq: number
  cwd: string
  name: string | null
  preview: string
  ephemeral: boolean
  forkedFromId: string | null
  model: string
  modelProvider: string
  approvalPolicy: Protocol.AskForApproval
  sandbox: Protocol.SandboxPolicy
  createdAt: number
  updatedAt: number
  archived: boolean
  loaded: boolean
  /** Whether the connection is subscribed to its events (until `thread/unsubscribe`; a resume subscribes again). */
  subscribed: boolean
  readonly turns: Array<Protocol.Turn>
  /** The running turn, if any (set and cleared by the server). */
  active: { readonly turnId: string } | undefined
  /** The thread's token totals. */
  readonly usage: { input: number; cached: number; output: number; reasoning: number }
  /** The usage of its last model request (what codex restates before a compaction). */
  readonly lastUsage: { input: number; cached: number; output: number; reasoning: number }
}

/**
 * A loaded thread with no turn, in `/tmp`, on the default model, approvals `never`: what a fake
 * app-server outside CodexTest (benches, client tests) answers `thread/start` with.
 */
export const idleThread = (id: string): ThreadState => ({
  id,
  seq: 0,
  updatedSeq: 0,
  cwd: "/tmp",
  name: null,
  preview: "",
  ephemeral: false,
  forkedFromId: null,
  model: DEFAULT_MODEL,
  modelProvider: DEFAULT_MODEL_PROVIDER,
  approvalPolicy: "never",
  sandbox: sandboxPolicy("read-only"),
  createdAt: 0,
  updatedAt: 0,
  archived: false,
  loaded: true,
  subscribed: true,
  turns: [],
  active: undefined,
  usage: { input: 0, cached: 0, output: 0, reasoning: 0 },
  lastUsage: { input: 0, cached: 0, output: 0, reasoning: 0 }
})

/** The protocol record of a thread. */
export const threadRecord = (
  thread: ThreadState,
  context: { readonly codexHome: string; readonly originator: string; readonly withTurns: boolean }
): Protocol.Thread => ({
  id: thread.id,
  environments: thread.loaded
    ? [{ environmentId: "local", cwd: thread.cwd, runtimeWorkspaceRoots: [thread.cwd] }]
    : null,
  extra: null,
  sessionId: thread.id,
  forkedFromId: thread.forkedFromId,
  attachedToThreadId: null,
  parentThreadId: null,
  preview: thread.preview,
  ephemeral: thread.ephemeral,
  section: null,
  sectionEnteredAt: null,
  projectId: null,
  historyMode: "paginated",
  modelProvider: thread.modelProvider,
  model: thread.model,
  reasoningEffort: null,
  createdAt: thread.createdAt,
  updatedAt: thread.updatedAt,
  recencyAt: thread.updatedAt,
  status: !thread.loaded
    ? { type: "notLoaded" }
    : thread.active !== undefined
    ? { type: "active", activeFlags: [] }
    : { type: "idle" },
  path: thread.ephemeral
    ? null
    : `${context.codexHome}/${thread.archived ? "archived_sessions" : "sessions"}/rollout-${thread.id}.jsonl`,
  cwd: thread.cwd,
  cliVersion: CLI_VERSION,
  originator: context.originator,
  source: "vscode",
  canAcceptDirectInput: thread.loaded ? true : null,
  threadSource: null,
  agentNickname: null,
  agentRole: null,
  gitInfo: null,
  name: thread.name,
  daybreakEnabled: null,
  turns: context.withTurns ? thread.turns : []
})

/** The fields `thread/start`, `thread/resume` and `thread/fork` answer besides the thread. */
export const threadSettings = (thread: ThreadState) => ({
  model: thread.model,
  modelProvider: thread.modelProvider,
  serviceTier: null,
  disabledPluginIds: [],
  cwd: thread.cwd,
  runtimeWorkspaceRoots: [thread.cwd],
  instructionSources: [],
  approvalPolicy: thread.approvalPolicy,
  approvalsReviewer: "user",
  sandbox: thread.sandbox,
  activePermissionProfile: null,
  reasoningEffort: null,
  multiAgentMode: "explicitRequestOnly"
}) as const

/** A turn as `turn/start` answers it and `turn/started` announces it. */
export const turnInProgress = (turnId: string, startedAt: number | null): Protocol.Turn => ({
  id: turnId,
  rootTurnId: turnId,
  items: [],
  itemsView: "notLoaded",
  status: "inProgress",
  error: null,
  startedAt,
  completedAt: null,
  durationMs: null
})

/** The text of user input items, joined by newlines. */
export const inputText = (input: ReadonlyArray<Protocol.UserInput>): string =>
  input.flatMap((item) => item.type === "text" ? [item.text] : []).join("\n")

/** A finished turn of a stored thread's history. */
export const historyTurn = (
  ids: { readonly turn: string; readonly user: string; readonly agent: string },
  user: string,
  agent: string,
  atMs: number
): Protocol.Turn => ({
  id: ids.turn,
  rootTurnId: ids.turn,
  items: [
    {
      type: "userMessage",
      id: ids.user,
      clientId: null,
      content: [{ type: "text", text: user, text_elements: [] }],
      startedAtMs: atMs,
      completedAtMs: atMs
    },
    agentMessage(ids.agent, agent, null, atMs, atMs)
  ],
  itemsView: "full",
  status: "completed",
  error: null,
  startedAt: seconds(atMs),
  completedAt: seconds(atMs),
  durationMs: 0
})

/** An agent message item. */
export const agentMessage = (
  id: string,
  text: string,
  phase: Protocol.MessagePhase | null,
  startedAtMs: number,
  completedAtMs: number | null
): Protocol.ThreadItem => ({
  type: "agentMessage",
  moderation: null,
  id,
  text,
  phase,
  memoryCitation: null,
  delivery: null,
  questions: null,
  startedAtMs,
  completedAtMs
})

/** Token usage totals as codex reports them. */
export const breakdown = (usage: {
  readonly input: number
  readonly cached: number
  readonly output: number
  readonly reasoning: number
}): Protocol.TokenUsageBreakdown => ({
  totalTokens: usage.input + usage.output,
  inputTokens: usage.input,
  cachedInputTokens: usage.cached,
  cacheWriteInputTokens: 0,
  outputTokens: usage.output,
  reasoningOutputTokens: usage.reasoning
})

/** Quotes a string for `/bin/bash -lc '...'` as codex shows commands. */
export const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`

/** The words of a command before its first shell operator (codex's proposed exec policy amendment). */
export const execpolicyAmendment = (command: string): Array<string> => {
  const words: Array<string> = []
  for (const word of command.trim().split(/\s+/)) {
    if (/^(&&|\|\||;|\||>|>>|<)$/.test(word)) break
    words.push(word)
  }
  return words
}

/** A unified git diff for one file change, as `turn/diff/updated` carries it. */
export const unifiedDiff = (path: string, kind: "add" | "update" | "delete", diff: string): string => {
  const lines = diff.endsWith("\n") ? diff.slice(0, -1).split("\n") : diff.split("\n")
  switch (kind) {
    case "add":
      return `diff --git a/${path} b/${path}\nnew file mode 100644\n--- /dev/null\n+++ b/${path}\n` +
        `@@ -0,0 +1,${lines.length} @@\n${lines.map((line) => `+${line}`).join("\n")}\n`
    case "delete":
      return `diff --git a/${path} b/${path}\ndeleted file mode 100644\n--- a/${path}\n+++ /dev/null\n` +
        `@@ -1,${lines.length} +0,0 @@\n${lines.map((line) => `-${line}`).join("\n")}\n`
    case "update":
      return diff.startsWith("diff --git")
        ? diff
        : `diff --git a/${path} b/${path}\n${diff.startsWith("---") ? "" : `--- a/${path}\n+++ b/${path}\n`}${diff}${
          diff.endsWith("\n") ? "" : "\n"
        }`
  }
}

/** Splits text in chunks: at word boundaries by default, in `n` pieces, or as given. */
export const chunks = (text: string, deltas: number | ReadonlyArray<string> | undefined): ReadonlyArray<string> => {
  if (Array.isArray(deltas)) return deltas as ReadonlyArray<string>
  if (text.length === 0) return []
  if (deltas === undefined) return text.match(/\s*\S+\s*/g) ?? [text]
  const n = Math.max(0, Math.floor(deltas as number))
  if (n === 0) return []
  const size = Math.ceil(text.length / n)
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

/** Splits command output in lines (the newline kept), or as given. */
export const lineChunks = (
  output: string,
  deltas: number | ReadonlyArray<string> | undefined
): ReadonlyArray<string> =>
  deltas === undefined ? (output.match(/[^\n]*\n|[^\n]+$/g) ?? []) : chunks(output, deltas)
