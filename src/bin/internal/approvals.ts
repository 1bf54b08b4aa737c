/**
 * How `effect-codex` answers codex's approval requests (`--approve <policy>`):
 *
 * - `ask` (the default when stdin and stderr are a terminal): each command and file change is asked on
 *   the terminal, accept once / accept for the session / decline. The requests are left to
 *   `Approvals.manual` and asked by the loop that shows the turn, when it reaches the request in the
 *   turn's events: the item codex started is already shown, and prompts come one at a time.
 * - `decline` (the default otherwise): every request is declined, and a note says how to allow them.
 * - `read-only`: commands that only read (`Approvals.isReadOnlyCommand`) run, everything else is declined.
 * - `all`: every command and file change is accepted (only for sandboxes you trust).
 *
 * Permission requests, MCP elicitations and user-input requests get the SDK's safe default answers.
 *
 * @internal
 */
import { Effect, Layer, type Option } from "../../schema/internal/effect.ts"
import * as Prompt from "effect/cli/Prompt"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import * as Approvals from "../../services/Approvals.ts"
import type * as TurnEvent from "../../streams/TurnEvent.ts"
import type { Policy } from "./flags.ts"
import * as Format from "./format.ts"
import type { Renderer } from "./render.ts"
import type { Display } from "./terminal.ts"

/**
 * Whether approvals can be asked: stdin (the keys) and stderr (the prompt) are a terminal.
 *
 * @internal
 */
export const interactive = (): boolean => process.stdin.isTTY === true && process.stderr.isTTY === true

/**
 * The policy in force: the one given, else `ask` on a terminal and `decline` elsewhere.
 *
 * @internal
 */
export const policyOf = (given: Option.Option<Policy>, isInteractive: boolean): Policy =>
  given._tag === "Some" ? given.value : isInteractive ? "ask" : "decline"

const HINT = "(approvals are declined: pass --approve read-only|all, or run on a terminal to be asked)"

/**
 * The `Approvals` layer of a policy. Declining notes once on stderr how to allow requests.
 *
 * @internal
 */
export const layer = (policy: Policy, display: Display): Layer.Layer<Approvals.Approvals> => {
  switch (policy) {
    case "ask":
      return Approvals.layer({ commandExecution: Approvals.manual, fileChange: Approvals.manual })
    case "all":
      return Approvals.dangerouslyAcceptAll
    case "read-only": {
      const declineNoting = declining(display)
      return Approvals.layer({
        commandExecution: Approvals.acceptCommandsMatching(Approvals.isReadOnlyCommand, declineNoting),
        fileChange: declineNoting
      })
    }
    case "decline": {
      const declineNoting = declining(display)
      return Approvals.layer({ commandExecution: declineNoting, fileChange: declineNoting })
    }
  }
}

const declining = (display: Display) => {
  let hinted = false
  return () =>
    Effect.suspend(() => {
      if (hinted) return Effect.succeed("decline" as const)
      hinted = true
      return Effect.as(display.note(HINT), "decline" as const)
    })
}

type Decision = "accept" | "acceptForSession" | "decline"

// Always these three: codex 0.171 lists `accept`, an execpolicy amendment and `cancel` in
// `availableDecisions`, yet honours `acceptForSession` (the same command is not asked again) and
// `decline` (the model is told, the turn goes on).
const CHOICES: ReadonlyArray<{ readonly title: string; readonly value: Decision }> = [
  { title: "Accept once", value: "accept" },
  { title: "Accept for this session", value: "acceptForSession" },
  { title: "Decline", value: "decline" }
]

/**
 * Asks about one approval request on the terminal and answers it (policy `ask`). Requests other than
 * command and file-change approvals are left to their default answers. Ctrl-C at the prompt
 * interrupts the run, as it does anywhere else.
 *
 * @internal
 */
export const ask = (
  event: TurnEvent.ApprovalRequested,
  renderer: Renderer,
  display: Display
): Effect.Effect<void, never, Approvals.Approvals | Prompt.Environment> => {
  let question: Format.ApprovalQuestion
  switch (event.method) {
    case "item/commandExecution/requestApproval": {
      question = Format.commandApproval(event.params as Protocol.CommandExecutionRequestApprovalParams)
      break
    }
    case "item/fileChange/requestApproval": {
      const params = event.params as Protocol.FileChangeRequestApprovalParams
      question = Format.fileChangeApproval(params, renderer.item(params.itemId), renderer.cwd)
      break
    }
    default:
      return Effect.void
  }
  return display.paused(Effect.gen(function*() {
    for (const line of question.details) yield* display.note(line)
    const decision = yield* Prompt.run(Prompt.Select({ message: question.question, choices: CHOICES }))
    // codex may have withdrawn the request meanwhile (the turn ended): say so rather than pretend
    const answered = yield* Approvals.respond(event.requestId, { decision })
    if (!answered) yield* display.note("  (codex no longer waits for this answer)")
  })).pipe(
    // the prompt reads keys in raw mode, where Ctrl-C is a key, not SIGINT
    Effect.catchTag("QuitError", () => Effect.interrupt)
  )
}
