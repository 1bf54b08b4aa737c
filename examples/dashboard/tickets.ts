/**
 * The dashboard's tickets: a JSON file (an array of `{ id, title, body, labels }`), read once at
 * startup, and the prompt a "Fix this bug" click sends for one of them.
 */
import { Effect, Schema } from "effect"
import * as Fs from "node:fs"

/** One ticket of the JSON file. */
export const Ticket = Schema.Struct({
  id: Schema.NonEmptyString,
  title: Schema.NonEmptyString,
  body: Schema.String,
  labels: Schema.optionalKey(Schema.Array(Schema.String))
})

/** A ticket, decoded. */
export type Ticket = typeof Ticket.Type

const Tickets = Schema.fromJsonString(Schema.Array(Ticket))

/** Reads and checks the tickets file; a file that is missing or malformed stops the server at startup. */
export const load = (path: string): Effect.Effect<ReadonlyArray<Ticket>, Error> =>
  Effect.try({ try: () => Fs.readFileSync(path, "utf8"), catch: (cause) => new Error(`cannot read ${path}`, { cause }) }).pipe(
    Effect.flatMap((text) => Schema.decodeUnknownEffect(Tickets)(text)),
    Effect.mapError((error) => error instanceof Error ? error : new Error(`${path}: ${String(error)}`))
  )

/**
 * What "Fix this bug" asks. Written for a real model; on the embedded `LocalModel` the words "Run"
 * and "Fix"/"change" make its responder ask to run a command (an approval in the page), then write
 * a file (a diff), then answer.
 */
export const fixPrompt = (ticket: Ticket): string =>
  `Fix this bug: ${ticket.title} (${ticket.id}).\n\n${ticket.body}\n\n` +
  "Run the tests first to see the failure, then change the code so that they pass, and say what you changed."
