/**
 * Retention of effect's own cluster message storage for the `CodexThread`
 * entity. Every persisted `Run` stays there with its reply (the turn's whole
 * result) after it was answered: effect deletes messages only when an address
 * is cleared. This drops the requests answered before a time, with their
 * replies and the acknowledgements and interrupts that name them.
 *
 * The time of an answer is the one in its final reply's id (a snowflake:
 * milliseconds since effect's epoch in the high bits), so no column is
 * needed. A request without its final reply (waiting, running, or to be
 * delivered again) is never dropped, nor one answered within `GRACE_MS`: the
 * caller reads the reply from the storage, and one dropped first would leave
 * it waiting.
 *
 * @internal
 */
import { Clock, Effect, Option } from "../../schema/internal/effect.ts"
import * as MachineId from "effect/cluster/MachineId"
import * as MessageStorage from "effect/cluster/MessageStorage"
import * as Snowflake from "effect/cluster/Snowflake"
import * as SqlClient from "effect/sql/SqlClient"
import type * as CodexError from "../../schema/CodexError.ts"
import { storageError } from "./threadStore.ts"

/** Drops the requests answered before `before` (Unix ms); succeeds with how many went. */
export type Pruner = (before: number) => Effect.Effect<number, CodexError.CodexError>

/** How long an answered request stays at least, whatever the retention (see the module comment). */
export const GRACE_MS = 60_000

/** The table prefix of effect's SqlMessageStorage as `NodeClusterSocket.layer` builds it. */
export const SQL_PREFIX = "cluster"

const BATCH = 500

const madeBefore = (id: string, before: number) => Snowflake.timestamp(Snowflake.Snowflake(id)) < before

// the cut-off, no later than GRACE_MS ago
const cutoff = (before: number) => Effect.map(Clock.currentTimeMillis, (now) => Math.min(before, now - GRACE_MS))

/** Over effect's in-memory driver (the embedded cluster): its maps are mutated in one synchronous step. */
export const memory = (driver: MessageStorage.MemoryDriver["Service"], entityType: string): Pruner => (before) =>
  Effect.map(cutoff(before), (cut) => {
    const gone = new Set<string>()
    for (const [requestId, entry] of driver.requests) {
      if (entry.envelope.address.entityType !== entityType) continue
      const answer = entry.replies.find((reply) => reply._tag === "WithExit")
      if (answer !== undefined && madeBefore(answer.id, cut)) {
        gone.add(requestId)
        driver.requests.delete(requestId)
        for (const reply of entry.replies) driver.replyIds.delete(reply.id)
      }
    }
    if (gone.size === 0) return 0
    for (const [primaryKey, entry] of driver.requestsByPrimaryKey) {
      if (gone.has(entry.envelope.requestId)) driver.requestsByPrimaryKey.delete(primaryKey)
    }
    // one pass: the journal keeps its order, and every envelope that names a dropped request goes
    let kept = 0
    for (const envelope of driver.journal) {
      if (gone.has(envelope.requestId)) {
        driver.unprocessed.delete(envelope)
        continue
      }
      driver.journal[kept++] = envelope
    }
    driver.journal.length = kept
    return gone.size
  })

/** Over effect's SqlMessageStorage tables (`<prefix>_messages`, `<prefix>_replies`), in batches. */
export const sql = (client: SqlClient.SqlClient, entityType: string, prefix: string = SQL_PREFIX): Pruner => {
  const messages = client(`${prefix}_messages`)
  const replies = client(`${prefix}_replies`)
  const sqlTrue = client.onDialectOrElse({
    mssql: () => client.literal("1"),
    sqlite: () => client.literal("1"),
    orElse: () => client.literal("TRUE")
  })
  const batch = (cut: string): Effect.Effect<number, unknown> =>
    Effect.gen(function*() {
      // kind 0: a request (messages), its final reply (replies)
      const rows = yield* client<{ id: string | number | bigint }>`
        SELECT m.id AS id FROM ${messages} m JOIN ${replies} r ON r.request_id = m.id
        WHERE m.entity_type = ${entityType} AND m.kind = 0 AND m.processed = ${sqlTrue} AND r.kind = 0 AND r.id < ${cut}
        LIMIT ${BATCH}`
      if (rows.length === 0) return 0
      const ids = rows.map((row) => String(row.id))
      yield* client`DELETE FROM ${replies} WHERE ${client.in("request_id", ids)}`
      yield* client`DELETE FROM ${messages} WHERE ${client.in("request_id", ids)}`
      return ids.length
    }).pipe(client.withTransaction)
  return (before) =>
    Effect.flatMap(cutoff(before), (at) => {
      const cut = String(Snowflake.make({ timestamp: at, machineId: MachineId.make(0), sequence: 0 }))
      const loop = (total: number): Effect.Effect<number, unknown> =>
        Effect.flatMap(batch(cut), (n) => n < BATCH ? Effect.succeed(total + n) : loop(total + n))
      return loop(0)
    }).pipe(Effect.mapError(storageError("prune messages")))
}

/**
 * The pruner for the message storage in context: effect's in-memory driver
 * when it is there, else its SQL tables when a `SqlClient` is; none otherwise.
 */
export const find = (entityType: string): Effect.Effect<Pruner | undefined> =>
  Effect.gen(function*() {
    const driver = yield* Effect.serviceOption(MessageStorage.MemoryDriver)
    if (Option.isSome(driver)) return memory(driver.value, entityType)
    const client = yield* Effect.serviceOption(SqlClient.SqlClient)
    return Option.isSome(client) ? sql(client.value, entityType) : undefined
  })
