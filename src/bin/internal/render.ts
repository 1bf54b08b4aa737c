/**
 * How `effect-codex run` shows a turn: a pure fold from turn events to output operations. The answer
 * goes to stdout as it streams; a line per command, file change and tool call goes to stderr; the
 * spinner's label follows what codex is doing. The terminal side (spinner, line breaks between the two
 * streams) is in `terminal.ts`; this file does no I/O, so the whole display is unit-tested.
 *
 * @internal
 */
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import * as TurnEvent from "../../streams/TurnEvent.ts"
import * as Format from "./format.ts"

/**
 * What to do with an event: write answer text on stdout, write a line on stderr, or change the
 * spinner's label.
 *
 * @internal
 */
export type Op =
  | { readonly _tag: "Answer"; readonly text: string }
  | { readonly _tag: "Note"; readonly line: string }
  | { readonly _tag: "Status"; readonly label: string }

const answer = (text: string): Op => ({ _tag: "Answer", text })
const note = (line: string): Op => ({ _tag: "Note", line })
const status = (label: string): Op => ({ _tag: "Status", label })

/**
 * Options of {@link Renderer}.
 *
 * @internal
 */
export interface Options {
  /**
   * Whether the agent's messages are printed (default `true`). `false` for `--output-schema`, whose
   * answer is printed once decoded.
   */
  readonly answer?: boolean | undefined
  /** The thread's directory: file paths inside it are shown relative to it. */
  readonly cwd?: string | undefined
}

/**
 * Folds one turn's events into {@link Op}s. It remembers which message is being printed (so a new
 * message starts on a line of its own, after a blank line) and the items codex started (so an approval
 * prompt can list the files of a file change).
 *
 * @internal
 */
export class Renderer {
  private readonly printAnswer: boolean
  /** The thread's directory (paths are shown relative to it). */
  readonly cwd: string | undefined
  /** The agent message whose text is being printed, its line not ended yet. */
  private open: string | undefined
  /** Whether any answer text was printed (the next message is set off by a blank line). */
  private printed = false
  private readonly streamed = new Set<string>()
  private readonly started = new Map<string, Protocol.ThreadItem>()

  constructor(options: Options = {}) {
    this.printAnswer = options.answer ?? true
    this.cwd = options.cwd
  }

  /** The item codex started with this id, if it did in this turn. */
  item(itemId: string): Protocol.ThreadItem | undefined {
    return this.started.get(itemId)
  }

  /** The operations for one event, in order. */
  feed(event: TurnEvent.TurnEvent): Array<Op> {
    switch (event._tag) {
      case "TurnStarted":
        return [status("thinking")]
      case "AgentMessageDelta":
        if (!this.printAnswer || event.delta === "") return []
        this.streamed.add(event.itemId)
        return [...this.begin(event.itemId), answer(event.delta)]
      case "ItemStarted":
        this.started.set(event.item.id, event.item)
        return [status(TurnEvent.describe(event) ?? "thinking")]
      case "ItemCompleted":
        this.started.delete(event.item.id)
        return [...this.completed(event.item), status("thinking")]
      case "ApprovalRequested":
        return [status("waiting for approval")]
      case "Error":
        return [...this.end(), note(`! ${event.error.message}${event.willRetry ? " (codex retries)" : ""}`)]
      case "TurnCompleted":
        return this.end()
      default:
        return []
    }
  }

  /** Ends the line of the message being printed, if any. */
  private end(): Array<Op> {
    if (this.open === undefined) return []
    this.open = undefined
    return [answer("\n")]
  }

  /** Starts printing message `itemId`: ends the previous one and sets it off by a blank line. */
  private begin(itemId: string): Array<Op> {
    if (this.open === itemId) return []
    const ops = this.end()
    if (this.printed) ops.push(answer("\n"))
    this.open = itemId
    this.printed = true
    return ops
  }

  private completed(item: Protocol.ThreadItem): Array<Op> {
    switch (item.type) {
      case "agentMessage": {
        if (!this.printAnswer) return []
        // a message that arrived whole (no deltas) is printed whole
        if (!this.streamed.has(item.id)) {
          if (item.text === "") return []
          return [...this.begin(item.id), answer(item.text), ...this.end()]
        }
        return this.open === item.id ? this.end() : []
      }
      case "commandExecution":
        return [...this.end(), note(Format.commandLine(item))]
      case "fileChange":
        return [...this.end(), ...Format.fileChangeLines(item, this.cwd).map(note)]
      default: {
        const line = Format.itemLine(item)
        return line === undefined ? [] : [...this.end(), note(line)]
      }
    }
  }
}
