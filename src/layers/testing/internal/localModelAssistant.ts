/**
 * What `LocalModel.assistant()` answers, decided from the request alone: pure functions, request body in,
 * a {@link Decision} out (no I/O, no clock, no counter), so the same request always gets the same answer.
 * `LocalModel.ts` turns a decision into SSE frames with its step constructors.
 *
 * The current turn is everything after the last user message the user typed; codex also sends user
 * messages of its own (`<environment_context>`, AGENTS.md instructions, `<turn_aborted>`), which are
 * skipped. The tool calls already in the turn and their outputs say which step comes next.
 *
 * @internal
 */
import type { InputItem, RequestBody } from "./localModelWire.ts"

/** Options of the responder (documented on `LocalModel.AssistantOptions`). */
export interface AssistantConfig {
  readonly command: string
  readonly file: string
}

/** The next output of the responder. */
export type Decision =
  | { readonly _tag: "Command"; readonly cmd: string; readonly escalate: boolean; readonly justification: string; readonly thought: string }
  | { readonly _tag: "Patch"; readonly patch: string; readonly thought: string }
  | { readonly _tag: "Answer"; readonly text: string; readonly thought: string }

/** Whole words, any case: a prompt containing one of them runs a shell command. */
export const COMMAND_WORDS = /\b(run|command)\b/i
/** Whole words, any case: a prompt containing one of them edits a file. */
export const EDIT_WORDS = /\b(fix|edit|change)\b/i

// codex answers an escalation request under `approval_policy = never` with this, without asking anyone;
// the responder then runs the command inside the sandbox, as a model would.
const ESCALATION_REFUSED = /cannot ask for escalated permissions/i
const MAX_QUOTED = 160
const MAX_OUTPUT_LINES = 8
const MAX_SCHEMA_DEPTH = 16

const textOf = (item: InputItem): string =>
  Array.isArray(item.content)
    ? item.content.map((c: { readonly text?: unknown }) => (typeof c?.text === "string" ? c.text : "")).join("")
    : ""

// The user messages codex writes itself: one XML-like block (`<environment_context>...</environment_context>`)
// or the AGENTS.md preamble.
const isContextual = (text: string): boolean => {
  const trimmed = text.trim()
  if (trimmed.startsWith("# AGENTS.md instructions")) return true
  const open = /^<([A-Za-z_][\w-]*)[^>]*>/.exec(trimmed)
  return open !== null && trimmed.endsWith(`</${open[1]}>`)
}

const isPrompt = (item: InputItem): boolean =>
  item.type === "message" && item.role === "user" && !isContextual(textOf(item))

const oneLine = (text: string, max = MAX_QUOTED): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`
}

interface Call {
  readonly kind: "command" | "patch"
  readonly input: string
  readonly escalated: boolean
  readonly output: string | undefined
}

// The exec_command / apply_patch calls among `items`, each with its output (matched by call_id).
const callsIn = (items: ReadonlyArray<InputItem>): ReadonlyArray<Call> => {
  const outputs = new Map<string, string>()
  for (const item of items) {
    if (item.type === "function_call_output" || item.type === "custom_tool_call_output") {
      outputs.set(String(item.call_id), typeof item.output === "string" ? item.output : JSON.stringify(item.output))
    }
  }
  const calls: Array<Call> = []
  for (const item of items) {
    if (item.type === "function_call" && item.name === "exec_command") {
      let args: { readonly cmd?: unknown; readonly sandbox_permissions?: unknown } = {}
      try {
        args = JSON.parse(String(item.arguments))
      } catch {
        // Not ours: an unreadable call still counts as a command that ran.
      }
      calls.push({
        kind: "command",
        input: typeof args.cmd === "string" ? args.cmd : "",
        escalated: args.sandbox_permissions === "require_escalated",
        output: outputs.get(String(item.call_id))
      })
    } else if (item.type === "custom_tool_call" && item.name === "apply_patch") {
      calls.push({ kind: "patch", input: String(item.input), escalated: false, output: outputs.get(String(item.call_id)) })
    }
  }
  return calls
}

/** A JSON value that satisfies `schema` (the `text.format.schema` of a turn with an `outputSchema`). */
export const sampleJson = (schema: unknown): unknown => {
  const root = schema
  const go = (s: unknown, key: string, depth: number): unknown => {
    if (typeof s !== "object" || s === null || depth > MAX_SCHEMA_DEPTH) return null
    const node = s as Record<string, unknown>
    if (typeof node.$ref === "string") {
      const target = node.$ref.replace(/^#\//, "").split("/").reduce<unknown>(
        (at, part) => (typeof at === "object" && at !== null ? (at as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined),
        root
      )
      return go(target, key, depth + 1)
    }
    if ("const" in node) return node.const
    if (Array.isArray(node.enum) && node.enum.length > 0) return node.enum[0]
    for (const union of ["anyOf", "oneOf"] as const) {
      const members = node[union]
      if (Array.isArray(members) && members.length > 0) {
        // A non-null member when there is one: `NullOr(X)` samples as an X.
        const member = members.find((m) => !(typeof m === "object" && m !== null && (m as { type?: unknown }).type === "null"))
        return go(member ?? members[0], key, depth + 1)
      }
    }
    if (Array.isArray(node.allOf) && node.allOf.length > 0) return go(node.allOf[0], key, depth + 1)
    const types = Array.isArray(node.type) ? node.type : [node.type]
    const type = types.find((t) => t !== "null") ?? types[0]
    switch (type) {
      case "object": {
        const properties = (node.properties ?? {}) as Record<string, unknown>
        return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, go(v, k, depth + 1)]))
      }
      case "array": {
        const minItems = typeof node.minItems === "number" ? node.minItems : 1
        const items = Array.isArray(node.prefixItems) ? node.prefixItems : undefined
        if (items !== undefined) return items.map((item, i) => go(item, `${key}[${i}]`, depth + 1))
        return Array.from({ length: Math.max(1, minItems) }, (_, i) => go(node.items, `${key}[${i}]`, depth + 1))
      }
      case "string": {
        const base = node.format === "date-time"
          ? "1970-01-01T00:00:00.000Z"
          : node.format === "date"
          ? "1970-01-01"
          : `${key || "value"} (LocalModel)`
        const min = typeof node.minLength === "number" ? node.minLength : 0
        const max = typeof node.maxLength === "number" ? node.maxLength : Infinity
        return base.padEnd(min, ".").slice(0, max)
      }
      case "integer":
      case "number": {
        const min = typeof node.minimum === "number"
          ? node.minimum
          : typeof node.exclusiveMinimum === "number"
          ? node.exclusiveMinimum + 1
          : 0
        return type === "integer" ? Math.ceil(min) : min
      }
      case "boolean":
        return true
      default:
        return null
    }
  }
  return go(schema, "", 0)
}

const outputSchemaOf = (body: RequestBody): unknown => {
  const format = (body.text as { readonly format?: { readonly type?: unknown; readonly schema?: unknown } } | undefined)
    ?.format
  return format?.type === "json_schema" ? format.schema : undefined
}

const toolOffered = (body: RequestBody, name: string): boolean =>
  (body.tools ?? []).some((t) => t.name === name)

// After codex's "Output:" line (exec_command and apply_patch both report that way).
const outputBody = (output: string): string => {
  const at = output.indexOf("Output:\n")
  return at < 0 ? output : output.slice(at + "Output:\n".length)
}

const firstLine = (text: string): string => oneLine(text.split("\n").find((l) => l.trim() !== "") ?? text)

const quoteOutput = (output: string): string => {
  const lines = outputBody(output).replace(/\n+$/, "").split("\n")
  if (lines.length === 1 && lines[0] === "") return "It printed nothing."
  const shown = lines.slice(0, MAX_OUTPUT_LINES).map((l) => oneLine(l, 200))
  const more = lines.length > MAX_OUTPUT_LINES ? `\n… (${lines.length - MAX_OUTPUT_LINES} more lines)` : ""
  return `Its output:\n\n\`\`\`\n${shown.join("\n")}${more}\n\`\`\``
}

const describeCommand = (calls: ReadonlyArray<Call>): string => {
  const last = calls[calls.length - 1]!
  const cmd = `\`${last.input}\``
  const retried = calls.length > 1 && ESCALATION_REFUSED.test(calls[0]!.output ?? "")
    ? "codex refused to run it outside the sandbox (approval policy `never`), so I ran it inside the sandbox. "
    : ""
  const output = last.output ?? ""
  const exit = /Process exited with code (\d+)/.exec(output)
  if (exit !== null) return `${retried}I ran ${cmd} (exit code ${exit[1]}). ${quoteOutput(output)}`
  if (/rejected by user|declined/i.test(output)) return `${retried}I asked to run ${cmd}, but that was declined, so it did not run.`
  return `${retried}I tried to run ${cmd}, but it did not run: ${firstLine(output)}`
}

const describePatch = (call: Call, file: string): string => {
  const output = call.output ?? ""
  const name = `\`${file}\``
  if (/Success\./.test(output)) {
    const verb = /^\*\*\* Update File:/m.test(call.input) ? "added a line to" : "wrote"
    return `I ${verb} ${name} (the change is in the turn's diff).`
  }
  if (/rejected/i.test(output)) return `I proposed a change to ${name}, but it was rejected: ${firstLine(output)}`
  return `My change to ${name} failed: ${firstLine(output)}`
}

const HINT = "I am the LocalModel's built-in responder, a deterministic stand-in for a model: " +
  "a prompt with \"run\" or \"command\" makes me run a shell command, one with \"fix\", \"edit\" or \"change\" makes me edit a file."

/** The prompt's command: the first `backticked` span, else the configured default. */
const commandFor = (prompt: string, config: AssistantConfig): string => {
  const quoted = /`([^`\n]+)`/.exec(prompt)
  return quoted === null ? config.command : quoted[1]!.trim()
}

const patchFor = (prompt: string, earlier: ReadonlyArray<Call>, config: AssistantConfig): string => {
  const line = `- ${oneLine(prompt)}`
  // This thread wrote the file before: append to it (an "update" diff); otherwise create it.
  const wroteBefore = earlier.some((c) =>
    c.kind === "patch" && /Success\./.test(c.output ?? "") && c.input.includes(`File: ${config.file}\n`)
  )
  return wroteBefore
    ? `*** Begin Patch\n*** Update File: ${config.file}\n@@\n+${line}\n*** End Patch\n`
    : `*** Begin Patch\n*** Add File: ${config.file}\n+# Changes requested from the LocalModel\n+\n+${line}\n*** End Patch\n`
}

/** The next output for `body`. */
export const decide = (body: RequestBody, config: AssistantConfig): Decision => {
  const input = body.input ?? []
  const promptAt = input.findLastIndex(isPrompt)
  const prompt = promptAt < 0 ? "" : textOf(input[promptAt]!)
  const earlierPrompts = input.slice(0, Math.max(0, promptAt)).filter(isPrompt).map(textOf)
  const turn = callsIn(input.slice(promptAt + 1))
  const commands = turn.filter((c) => c.kind === "command")
  const patches = turn.filter((c) => c.kind === "patch")
  const wantsCommand = COMMAND_WORDS.test(prompt) && toolOffered(body, "exec_command")
  const wantsPatch = EDIT_WORDS.test(prompt) && toolOffered(body, "apply_patch")
  const cmd = commandFor(prompt, config)

  if (wantsCommand && commands.length === 0) {
    return {
      _tag: "Command",
      cmd,
      escalate: true,
      justification: `Run \`${cmd}\` for "${oneLine(prompt, 80)}"?`,
      thought: `The request asks me to run something: I will run \`${cmd}\`.`
    }
  }
  const lastCommand = commands[commands.length - 1]
  if (wantsCommand && commands.length === 1 && lastCommand!.escalated && ESCALATION_REFUSED.test(lastCommand!.output ?? "")) {
    return {
      _tag: "Command",
      cmd,
      escalate: false,
      justification: "",
      thought: `Escalation was refused: I will run \`${cmd}\` inside the sandbox.`
    }
  }
  if (wantsPatch && patches.length === 0) {
    return {
      _tag: "Patch",
      patch: patchFor(prompt, callsIn(input.slice(0, Math.max(0, promptAt))), config),
      thought: `The request asks for a change: I will write it down in ${config.file}.`
    }
  }

  const schema = outputSchemaOf(body)
  if (schema !== undefined) {
    return { _tag: "Answer", text: JSON.stringify(sampleJson(schema)), thought: "The answer must match a JSON schema." }
  }
  const said = `You said: “${oneLine(prompt)}” (message ${earlierPrompts.length + 1} of this thread).`
  const before = earlierPrompts.length === 0
    ? ""
    : ` Before that you said: “${oneLine(earlierPrompts[earlierPrompts.length - 1]!)}”.`
  const done = [
    ...(commands.length > 0 ? [describeCommand(commands)] : []),
    ...patches.map((p) => describePatch(p, config.file))
  ]
  return done.length > 0
    ? { _tag: "Answer", text: `${said} ${done.join(" ")}`, thought: "Done: I will say what happened." }
    : {
      _tag: "Answer",
      // The hint once per thread: later answers quote the prompt before instead.
      text: earlierPrompts.length === 0 ? `${said} ${HINT}` : `${said}${before}`,
      thought: `Answering “${oneLine(prompt, 60)}”.`
    }
}

/** Splits `text` into word deltas (each word with the spaces after it), at most `max` of them. */
export const wordDeltas = (text: string, max = 48): ReadonlyArray<string> => {
  const words = text.match(/\S+\s*|\s+/g) ?? [text]
  if (words.length <= max) return words
  const per = Math.ceil(words.length / max)
  const out: Array<string> = []
  for (let i = 0; i < words.length; i += per) out.push(words.slice(i, i + per).join(""))
  return out
}

/** A rough, deterministic token count (4 characters a token). */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4)
