/**
 * effect/ai `Prompt` -> what a Codex turn gets, for `CodexLanguageModel`.
 * Pure: no I/O, no service.
 *
 * - System messages become the thread's developer instructions (joined).
 * - The "new part" of a prompt is everything after its last assistant message
 *   (the whole prompt when there is none): its user parts become the turn's
 *   input (text and images; text files inline; tool results as text).
 * - What comes before it is history. When the last assistant message carries
 *   the thread and turn ids this provider stamped on its parts (the
 *   `codex` provider options, which `Chat` keeps in its history), the
 *   conversation continues on that thread and only the new part is sent.
 *   Otherwise the history is replayed, as a transcript, in the first input of a
 *   new thread.
 *
 * @internal
 */
import { Base64, Predicate, Result } from "../../schema/internal/effect.ts"
import * as AiError from "effect/ai/AiError"
import type * as Prompt from "effect/ai/Prompt"
import { MODULE } from "./aiErrors.ts"
import * as Input from "../../schema/Input.ts"

/** The key of this provider's options and metadata on parts. */
export const PROVIDER_KEY = "codex"

/** The ids this provider stamps on the parts of its responses. */
export interface Stamp {
  readonly threadId: string
  readonly turnId: string
}

/** Where the conversation of a prompt continues. */
export interface Continuation {
  readonly threadId: string
  /** The turn the last assistant message came from (undefined: known only by `previousResponseId`). */
  readonly turnId: string | undefined
  /** Only the new part of the prompt. */
  readonly input: ReadonlyArray<Input.Item>
}

/** What to send for a prompt. */
export interface Plan {
  /** The system messages, joined by a blank line. */
  readonly instructions: string | undefined
  readonly continuation: Continuation | undefined
  /** The input of a new thread: the replayed history (if any), then the new part. */
  readonly fresh: ReadonlyArray<Input.Item>
  /** Whether `fresh` carries earlier history. */
  readonly replayed: boolean
}

const invalid = (description: string) => new AiError.InvalidUserInputError({ description })

const stampOf = (options: Prompt.ProviderOptions | undefined): Stamp | undefined => {
  const value = options?.[PROVIDER_KEY]
  if (!Predicate.isObject(value)) return undefined
  const { threadId, turnId } = value as { readonly threadId?: unknown; readonly turnId?: unknown }
  return typeof threadId === "string" && typeof turnId === "string" ? { threadId, turnId } : undefined
}

/** The stamp of an assistant message: on the message or on any of its parts. */
const stampOfMessage = (message: Prompt.AssistantMessage): Stamp | undefined => {
  const own = stampOf(message.options)
  if (own !== undefined) return own
  for (const part of message.content) {
    const stamp = stampOf(part.options)
    if (stamp !== undefined) return stamp
  }
  return undefined
}

const json = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const isTextual = (mediaType: string) =>
  mediaType.startsWith("text/") || /^application\/(json|xml|yaml|x-yaml|toml|javascript|typescript)\b/.test(mediaType) ||
  /\+(json|xml)$/.test(mediaType)

/** Input items under construction: text is buffered so neighbouring text becomes one item. */
class Items {
  readonly items: Array<Input.Item> = []
  private text = ""
  add(text: string): void {
    this.text += text
  }
  item(item: Input.Item): void {
    this.flush()
    this.items.push(item)
  }
  flush(): void {
    if (this.text.length > 0) this.items.push(Input.text(this.text))
    this.text = ""
  }
  done(): ReadonlyArray<Input.Item> {
    this.flush()
    return this.items
  }
}

/** A file part of a user message: an image (by URL, data URL or local path), or text read inline. */
const addFile = (items: Items, part: Prompt.FilePart): AiError.InvalidUserInputError | undefined => {
  const { data, mediaType } = part
  const name = part.fileName ?? "file"
  if (mediaType.startsWith("image/")) {
    if (data instanceof URL) {
      items.item(data.protocol === "file:" ? Input.localImage(decodeURIComponent(data.pathname)) : Input.image(data.href))
    } else {
      items.item(Input.image(`data:${mediaType};base64,${typeof data === "string" ? data : Base64.encode(data)}`))
    }
    return undefined
  }
  if (data instanceof URL) {
    if (data.protocol === "file:") {
      // codex reads a mentioned file itself
      items.item(Input.mention(part.fileName ?? data.pathname.split("/").pop() ?? name, decodeURIComponent(data.pathname)))
      return undefined
    }
    return invalid(`codex takes images and local files; cannot send ${mediaType} from ${data.protocol} URL ${name}`)
  }
  if (!isTextual(mediaType)) return invalid(`codex takes text and images; cannot send ${name} (${mediaType})`)
  const text = typeof data === "string" ? Base64.decodeString(data) : Result.succeed(new TextDecoder().decode(data))
  if (Result.isFailure(text)) return invalid(`${name} (${mediaType}): the data is not base64`)
  items.add(`\n<file name=${JSON.stringify(name)} type=${JSON.stringify(mediaType)}>\n${text.success}\n</file>\n`)
  return undefined
}

/** The new part of a prompt (user and tool messages) as turn input. */
const addNew = (items: Items, messages: ReadonlyArray<Prompt.Message>): AiError.InvalidUserInputError | undefined => {
  for (const message of messages) {
    if (message.role === "user") {
      for (const part of message.content) {
        if (part.type === "text") items.add(part.text)
        else {
          const error = addFile(items, part)
          if (error !== undefined) return error
        }
      }
      items.flush()
    } else if (message.role === "tool") {
      for (const part of message.content) {
        if (part.type === "tool-result") {
          items.add(`Result of the tool call ${part.id} (${part.name})${part.isFailure ? ", failed" : ""}: ${json(part.result)}\n`)
        }
      }
      items.flush()
    }
  }
  return undefined
}

/** Earlier messages as a transcript, for a thread that has not seen them. */
const addHistory = (items: Items, messages: ReadonlyArray<Prompt.Message>): AiError.InvalidUserInputError | undefined => {
  items.add("<conversation_history>\nThe conversation so far, for context; answer the message after it.\n")
  for (const message of messages) {
    switch (message.role) {
      case "system":
        break
      case "user": {
        items.add("<user>\n")
        for (const part of message.content) {
          if (part.type === "text") items.add(part.text)
          else {
            const error = addFile(items, part)
            if (error !== undefined) return error
          }
        }
        items.add("\n</user>\n")
        break
      }
      case "assistant": {
        items.add("<assistant>\n")
        for (const part of message.content) {
          switch (part.type) {
            case "text":
              items.add(part.text)
              break
            case "tool-call":
              items.add(`\n[tool call ${part.id}: ${part.name} ${json(part.params)}]\n`)
              break
            case "tool-result":
              items.add(`\n[tool result ${part.id} (${part.name})${part.isFailure ? ", failed" : ""}: ${json(part.result)}]\n`)
              break
            case "file":
              items.add(`\n[file ${part.fileName ?? ""} (${part.mediaType})]\n`)
              break
            // reasoning and approval requests are the model's own bookkeeping
          }
        }
        items.add("\n</assistant>\n")
        break
      }
      case "tool": {
        for (const part of message.content) {
          if (part.type === "tool-result") {
            items.add(`<tool_result id=${JSON.stringify(part.id)} name=${JSON.stringify(part.name)}${part.isFailure ? " failed" : ""}>\n${json(part.result)}\n</tool_result>\n`)
          }
        }
        break
      }
    }
  }
  items.add("</conversation_history>\n\n")
  return undefined
}

const hasContent = (messages: ReadonlyArray<Prompt.Message>): boolean =>
  messages.some((message) =>
    (message.role === "user" && message.content.length > 0) ||
    (message.role === "tool" && message.content.some((part) => part.type === "tool-result"))
  )

/** The system messages of a prompt, joined. */
export const instructionsOf = (prompt: Prompt.Prompt): string | undefined => {
  const texts = prompt.content.flatMap((message) =>
    message.role === "system" && message.content.trim().length > 0 ? [message.content] : []
  )
  return texts.length === 0 ? undefined : texts.join("\n\n")
}

/**
 * What to send for a prompt. `previous` is what the framework's
 * `ResponseIdTracker` found (`previousResponseId` is a thread id of this
 * provider), used when the prompt itself carries no stamp.
 */
export const plan = (
  method: string,
  prompt: Prompt.Prompt,
  previous: { readonly previousResponseId: string | undefined; readonly incrementalPrompt: Prompt.Prompt | undefined }
): Result.Result<Plan, AiError.AiError> => Result.mapError(planWith(prompt, previous), (reason) =>
  AiError.make({ module: MODULE, method, reason }))

const planWith = (
  prompt: Prompt.Prompt,
  previous: { readonly previousResponseId: string | undefined; readonly incrementalPrompt: Prompt.Prompt | undefined }
): Result.Result<Plan, AiError.InvalidUserInputError> => {
  const messages = prompt.content
  let last = -1
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === "assistant") {
      last = i
      break
    }
  }
  const history = messages.slice(0, last + 1).filter((message) => message.role !== "system")
  const fresh = messages.slice(last + 1)
  if (!hasContent(fresh)) {
    return Result.fail(invalid("the prompt has no user message after the last assistant message: nothing for codex to answer"))
  }
  const newItems = new Items()
  const newError = addNew(newItems, fresh)
  if (newError !== undefined) return Result.fail(newError)
  const input = newItems.done()

  let continuation: Continuation | undefined
  const stamp = last === -1 ? undefined : stampOfMessage(messages[last] as Prompt.AssistantMessage)
  if (stamp !== undefined) {
    continuation = { threadId: stamp.threadId, turnId: stamp.turnId, input }
  } else if (previous.previousResponseId !== undefined && previous.incrementalPrompt !== undefined) {
    const incremental = previous.incrementalPrompt.content
    if (hasContent(incremental)) {
      const items = new Items()
      const error = addNew(items, incremental)
      if (error !== undefined) return Result.fail(error)
      continuation = { threadId: previous.previousResponseId, turnId: undefined, input: items.done() }
    }
  }

  const freshItems = new Items()
  if (history.length > 0) {
    const error = addHistory(freshItems, history)
    if (error !== undefined) return Result.fail(error)
  }
  freshItems.flush()
  return Result.succeed({
    instructions: instructionsOf(prompt),
    continuation,
    fresh: [...freshItems.done(), ...input],
    replayed: history.length > 0
  })
}
