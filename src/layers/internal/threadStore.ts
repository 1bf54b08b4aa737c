/**
 * Where the cluster keeps what a key's thread needs to outlive its runner:
 * the key -> thread map, the thread's rollout (codex's append-only history
 * file, kept as the chunks appended after each turn), and a journal of the
 * persisted turns (to tell a redelivered message from a new one).
 *
 * Two implementations: SQL (`effect/sql`, tables created if missing) for a
 * cluster, memory for one process.
 *
 * @internal
 */
import { Clock, Duration, Effect, Option, Schedule } from "../../schema/internal/effect.ts"
import * as SqlClient from "effect/sql/SqlClient"
import * as CodexError from "../../schema/CodexError.ts"

/** A key's thread as stored. `rolloutPath` is relative to the CODEX_HOME of the runner that wrote it. */
export interface ThreadRecord {
  readonly key: string
  readonly threadId: string
  readonly rolloutPath: string
  /** Bytes of the rollout stored so far (the sum of the chunks). */
  readonly rolloutSize: number
  readonly runner: string
}

/** How a persisted turn stands in the journal when its message arrives. */
export type TurnStart =
  | { readonly _tag: "New" }
  /** It was running when its runner stopped: the cluster delivered it again. */
  | { readonly _tag: "Redelivered"; readonly attempt: number; readonly previousRunner: string }
  /** It failed before (a `turnKey` sent again after an error). */
  | { readonly _tag: "Retried"; readonly attempt: number }
  | { readonly _tag: "Done"; readonly result: string; readonly attempt: number }

/**
 * What {@link Store.prune} keeps. Every field unset keeps everything of its kind.
 *
 * - `turnsPerKey`: the journal keeps the newest N finished (completed or failed) turns of each key.
 * - `turnMaxAge`: finished turns last touched longer ago are dropped.
 * - `threadMaxAge`: a key with nothing touched for longer (its thread record, rollout, journal) is
 *   forgotten whole; its next message starts a new thread.
 *
 * A running turn is never dropped by the first two (its entry tells a redelivery from a new message).
 */
export interface Retention {
  readonly turnsPerKey?: number | undefined
  readonly turnMaxAge?: Duration.Input | undefined
  readonly threadMaxAge?: Duration.Input | undefined
}

/** What one {@link Store.prune} removed: journal entries, and keys forgotten whole. */
export interface Pruned {
  readonly turns: number
  readonly keys: number
}

/** The store. Every failure is a `CodexError` (`TransportError`, "cluster storage: ..."). */
export interface Store {
  readonly load: (key: string) => Effect.Effect<Option.Option<ThreadRecord>, CodexError.CodexError>
  /** The stored rollout of a thread, whole. */
  readonly rollout: (threadId: string) => Effect.Effect<string, CodexError.CodexError>
  /** Records the key's (new) thread, with no rollout yet. */
  readonly saveThread: (record: Omit<ThreadRecord, "rolloutSize">) => Effect.Effect<void, CodexError.CodexError>
  /**
   * Appends `data` (bytes `offset ..` of the rollout) and moves the key's size on. Fails when
   * `offset` is not the stored size: someone else wrote (a runner that lost the key).
   */
  readonly appendRollout: (
    key: string,
    threadId: string,
    offset: number,
    data: string,
    runner: string
  ) => Effect.Effect<void, CodexError.CodexError>
  /** Marks a turn running (first delivery, or once more) or returns its stored result. */
  readonly beginTurn: (key: string, turnKey: string, runner: string) => Effect.Effect<TurnStart, CodexError.CodexError>
  readonly finishTurn: (key: string, turnKey: string, result: string) => Effect.Effect<void, CodexError.CodexError>
  /** Marks a turn failed: sending it again is a retry, not a redelivery. */
  readonly failTurn: (key: string, turnKey: string) => Effect.Effect<void, CodexError.CodexError>
  /** Drops what `retention` does not keep (see {@link Retention}), as of the `Clock`'s now. */
  readonly prune: (retention: Retention) => Effect.Effect<Pruned, CodexError.CodexError>
}

/** The cut-off times of `retention` as of `now` (Unix ms; `undefined` keeps that kind); throws on a bad `turnsPerKey`. */
export const cutoffs = (retention: Retention, now: number) => {
  const before = (age: Duration.Input | undefined) =>
    age === undefined ? undefined : now - Duration.toMillis(Duration.fromInputUnsafe(age))
  const turnsPerKey = retention.turnsPerKey
  if (turnsPerKey !== undefined && !(Number.isInteger(turnsPerKey) && turnsPerKey >= 0)) {
    throw new Error(`retention.turnsPerKey must be a whole number >= 0, got ${turnsPerKey}`)
  }
  return { turnsPerKey, turnsBefore: before(retention.turnMaxAge), keysBefore: before(retention.threadMaxAge) }
}

/** A store failure: `TransportError`, "cluster storage: <what>: ...". */
export const storageError = (what: string) => (cause: unknown) =>
  CodexError.make(
    new CodexError.TransportError({
      description: `cluster storage: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause
    })
  )

const utf8Length = (text: string) => Buffer.byteLength(text, "utf8")

/** An in-memory store: for one process (the embedded cluster), where the runner never changes. */
export const makeMemory = (): Store => {
  const threads = new Map<string, ThreadRecord & { updatedAt: number }>()
  const rollouts = new Map<string, Array<string>>()
  interface TurnRow {
    readonly key: string
    readonly turnKey: string
    status: "running" | "completed" | "failed"
    attempt: number
    runner: string
    result?: string
    updatedAt: number
  }
  const turns = new Map<string, TurnRow>()
  const turnId = (key: string, turnKey: string) => `${key}\u0000${turnKey}`
  const record = ({ updatedAt: _, ...rest }: ThreadRecord & { updatedAt: number }): ThreadRecord => rest
  return {
    load: (key) => Effect.sync(() => Option.map(Option.fromUndefinedOr(threads.get(key)), record)),
    rollout: (threadId) => Effect.sync(() => (rollouts.get(threadId) ?? []).join("")),
    saveThread: (saved) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const previous = threads.get(saved.key)
        if (previous !== undefined) rollouts.delete(previous.threadId)
        threads.set(saved.key, { ...saved, rolloutSize: 0, updatedAt: now })
        rollouts.set(saved.threadId, [])
      }),
    appendRollout: (key, threadId, offset, data, runner) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const stored = threads.get(key)
        if (stored === undefined || stored.threadId !== threadId || stored.rolloutSize !== offset) {
          return Effect.fail(storageError("append rollout")(`${key}: stored rollout is not at ${offset}`))
        }
        const chunks = rollouts.get(threadId) ?? []
        chunks.push(data)
        rollouts.set(threadId, chunks)
        threads.set(key, { ...stored, rolloutSize: offset + utf8Length(data), runner, updatedAt: now })
        return Effect.void
      }),
    beginTurn: (key, turnKey, runner) =>
      Effect.map(Clock.currentTimeMillis, (now): TurnStart => {
        const id = turnId(key, turnKey)
        const row = turns.get(id)
        if (row === undefined) {
          turns.set(id, { key, turnKey, status: "running", attempt: 1, runner, updatedAt: now })
          return { _tag: "New" }
        }
        if (row.status === "completed") return { _tag: "Done", result: row.result!, attempt: row.attempt }
        const previous = { status: row.status, runner: row.runner }
        Object.assign(row, { status: "running", attempt: row.attempt + 1, runner, updatedAt: now })
        return previous.status === "failed"
          ? { _tag: "Retried", attempt: row.attempt }
          : { _tag: "Redelivered", attempt: row.attempt, previousRunner: previous.runner }
      }),
    finishTurn: (key, turnKey, result) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const id = turnId(key, turnKey)
        const row = turns.get(id)
        turns.set(id, {
          key,
          turnKey,
          status: "completed",
          attempt: row?.attempt ?? 1,
          runner: row?.runner ?? "",
          result,
          updatedAt: now
        })
      }),
    failTurn: (key, turnKey) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const row = turns.get(turnId(key, turnKey))
        if (row !== undefined) Object.assign(row, { status: "failed", updatedAt: now })
      }),
    prune: (retention) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.try({ try: () => cutoffs(retention, now), catch: storageError("prune") }).pipe(
          Effect.map(({ keysBefore, turnsBefore, turnsPerKey }) => {
            let removedTurns = 0
            let removedKeys = 0
            if (keysBefore !== undefined) {
              // a key's last touch: its thread record or any of its journal entries
              const lastTouched = new Map<string, number>()
              const touch = (key: string, at: number) => lastTouched.set(key, Math.max(lastTouched.get(key) ?? at, at))
              for (const [key, thread] of threads) touch(key, thread.updatedAt)
              for (const row of turns.values()) touch(row.key, row.updatedAt)
              for (const [key, at] of lastTouched) {
                if (at >= keysBefore) continue
                const thread = threads.get(key)
                if (thread !== undefined) {
                  rollouts.delete(thread.threadId)
                  threads.delete(key)
                  removedKeys++
                }
                for (const [id, row] of turns) {
                  if (row.key === key) {
                    turns.delete(id)
                    removedTurns++
                  }
                }
              }
            }
            const finished = new Map<string, Array<[string, TurnRow]>>()
            for (const entry of turns) {
              if (entry[1].status === "running") continue
              if (turnsBefore !== undefined && entry[1].updatedAt < turnsBefore) {
                turns.delete(entry[0])
                removedTurns++
                continue
              }
              finished.set(entry[1].key, [...(finished.get(entry[1].key) ?? []), entry])
            }
            if (turnsPerKey !== undefined) {
              for (const entries of finished.values()) {
                // newest first; the turn key breaks ties, as in SQL
                entries.sort(([, a], [, b]) => b.updatedAt - a.updatedAt || (a.turnKey < b.turnKey ? 1 : -1))
                for (const [id] of entries.slice(turnsPerKey)) {
                  turns.delete(id)
                  removedTurns++
                }
              }
            }
            return { turns: removedTurns, keys: removedKeys }
          })
        ))
  }
}

/** The prefix of every table the store creates. */
export const TABLE_PREFIX = "effect_codex"

/**
 * A store over the cluster's SQL database. Creates its three tables if they are missing (runners
 * starting together race on `CREATE TABLE IF NOT EXISTS` in PostgreSQL, so it is retried).
 */
export const makeSql = (options: { readonly tablePrefix?: string | undefined } = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const prefix = options.tablePrefix ?? TABLE_PREFIX
    const threadsTable = sql(`${prefix}_threads`)
    const rolloutsTable = sql(`${prefix}_rollouts`)
    const turnsTable = sql(`${prefix}_turns`)
    const longText = sql.onDialectOrElse({ mysql: () => sql.literal("LONGTEXT"), orElse: () => sql.literal("TEXT") })
    // SQLite has no row locks (and no FOR UPDATE): its transactions lock the whole database.
    const forUpdate = sql.onDialectOrElse({ sqlite: () => sql.literal(""), orElse: () => sql.literal("FOR UPDATE") })

    yield* Effect.gen(function*() {
      yield* sql`CREATE TABLE IF NOT EXISTS ${threadsTable} (
        entity_key VARCHAR(255) PRIMARY KEY,
        thread_id VARCHAR(255) NOT NULL,
        rollout_path TEXT NOT NULL,
        rollout_size BIGINT NOT NULL,
        runner VARCHAR(255) NOT NULL,
        updated_at BIGINT NOT NULL
      )`
      yield* sql`CREATE TABLE IF NOT EXISTS ${rolloutsTable} (
        thread_id VARCHAR(255) NOT NULL,
        start_offset BIGINT NOT NULL,
        data ${longText} NOT NULL,
        PRIMARY KEY (thread_id, start_offset)
      )`
      yield* sql`CREATE TABLE IF NOT EXISTS ${turnsTable} (
        entity_key VARCHAR(255) NOT NULL,
        turn_key VARCHAR(255) NOT NULL,
        status VARCHAR(16) NOT NULL,
        attempt INT NOT NULL,
        runner VARCHAR(255) NOT NULL,
        result ${longText},
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (entity_key, turn_key)
      )`
    }).pipe(
      Effect.retry({ times: 5, schedule: Schedule.spaced("100 millis") }),
      Effect.mapError(storageError("create tables"))
    )

    const load: Store["load"] = (key) =>
      sql<{ thread_id: string; rollout_path: string; rollout_size: number | string | bigint; runner: string }>`
        SELECT thread_id, rollout_path, rollout_size, runner FROM ${threadsTable} WHERE entity_key = ${key}`.pipe(
        Effect.map((rows) =>
          Option.map(Option.fromUndefinedOr(rows[0]), (row): ThreadRecord => ({
            key,
            threadId: row.thread_id,
            rolloutPath: row.rollout_path,
            rolloutSize: Number(row.rollout_size),
            runner: row.runner
          }))
        ),
        Effect.mapError(storageError("load thread"))
      )

    const rollout: Store["rollout"] = (threadId) =>
      sql<{ data: string }>`SELECT data FROM ${rolloutsTable} WHERE thread_id = ${threadId} ORDER BY start_offset`.pipe(
        Effect.map((rows) => rows.map((row) => row.data).join("")),
        Effect.mapError(storageError("load rollout"))
      )

    const saveThread: Store["saveThread"] = (record) =>
      sql.withTransaction(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        // a key that gets a new thread drops the old one's rollout
        yield* sql`DELETE FROM ${rolloutsTable} WHERE thread_id IN (
          SELECT thread_id FROM ${threadsTable} WHERE entity_key = ${record.key})`
        yield* sql`DELETE FROM ${threadsTable} WHERE entity_key = ${record.key}`
        yield* sql`DELETE FROM ${rolloutsTable} WHERE thread_id = ${record.threadId}`
        yield* sql`INSERT INTO ${threadsTable} ${
          sql.insert({
            entity_key: record.key,
            thread_id: record.threadId,
            rollout_path: record.rolloutPath,
            rollout_size: 0,
            runner: record.runner,
            updated_at: now
          })
        }`
      })).pipe(Effect.mapError(storageError("save thread")))

    const appendRollout: Store["appendRollout"] = (key, threadId, offset, data, runner) =>
      sql.withTransaction(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        // The size moves on only from where this runner last saw it: a writer that lost the key fails here.
        yield* sql`UPDATE ${threadsTable} SET rollout_size = ${offset + utf8Length(data)}, runner = ${runner},
          updated_at = ${now}
          WHERE entity_key = ${key} AND thread_id = ${threadId} AND rollout_size = ${offset}`
        const rows = yield* sql<{ thread_id: string; rollout_size: number | string | bigint; runner: string }>`
          SELECT thread_id, rollout_size, runner FROM ${threadsTable} WHERE entity_key = ${key}`
        const row = rows[0]
        if (
          row === undefined || row.thread_id !== threadId || Number(row.rollout_size) !== offset + utf8Length(data) ||
          row.runner !== runner
        ) {
          return yield* Effect.fail(new Error(`${key}: stored rollout is not at ${offset} for thread ${threadId}`))
        }
        yield* sql`INSERT INTO ${rolloutsTable} ${sql.insert({ thread_id: threadId, start_offset: offset, data })}`
      })).pipe(Effect.mapError(storageError("append rollout")))

    const beginTurn: Store["beginTurn"] = (key, turnKey, runner) =>
      sql.withTransaction(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const rows = yield* sql<{ status: string; attempt: number; runner: string; result: string | null }>`
          SELECT status, attempt, runner, result FROM ${turnsTable}
          WHERE entity_key = ${key} AND turn_key = ${turnKey} ${forUpdate}`
        const row = rows[0]
        if (row === undefined) {
          yield* sql`INSERT INTO ${turnsTable} ${
            sql.insert({
              entity_key: key,
              turn_key: turnKey,
              status: "running",
              attempt: 1,
              runner,
              result: null,
              updated_at: now
            })
          }`
          return { _tag: "New" } as const
        }
        if (row.status === "completed" && row.result !== null) {
          return { _tag: "Done", result: row.result, attempt: Number(row.attempt) } as const
        }
        const attempt = Number(row.attempt) + 1
        yield* sql`UPDATE ${turnsTable} SET attempt = ${attempt}, runner = ${runner}, status = 'running',
          updated_at = ${now}
          WHERE entity_key = ${key} AND turn_key = ${turnKey}`
        return row.status === "failed"
          ? { _tag: "Retried", attempt } as const
          : { _tag: "Redelivered", attempt, previousRunner: row.runner } as const
      })).pipe(Effect.mapError(storageError("begin turn")))

    const finishTurn: Store["finishTurn"] = (key, turnKey, result) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        sql`UPDATE ${turnsTable} SET status = 'completed', result = ${result}, updated_at = ${now}
        WHERE entity_key = ${key} AND turn_key = ${turnKey}`).pipe(
        Effect.asVoid,
        Effect.mapError(storageError("finish turn"))
      )

    const failTurn: Store["failTurn"] = (key, turnKey) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        sql`UPDATE ${turnsTable} SET status = 'failed', updated_at = ${now}
        WHERE entity_key = ${key} AND turn_key = ${turnKey}`).pipe(
        Effect.asVoid,
        Effect.mapError(storageError("fail turn"))
      )

    // Rows are chosen first, then deleted by their keys in batches (with the choice's conditions again,
    // so a row touched meanwhile stays): portable SQL, and counts without RETURNING.
    const BATCH = 500
    const batches = <A>(items: ReadonlyArray<A>) =>
      Array.from({ length: Math.ceil(items.length / BATCH) }, (_, i) => items.slice(i * BATCH, (i + 1) * BATCH))

    const pruneKeys = (before: number) =>
      Effect.gen(function*() {
        // keys whose thread record and every journal entry were last touched before the cut-off
        const rows = yield* sql<{ entity_key: string }>`
          SELECT entity_key FROM ${threadsTable} WHERE updated_at < ${before}
          UNION
          SELECT entity_key FROM ${turnsTable} GROUP BY entity_key HAVING MAX(updated_at) < ${before}`
        let keys = 0
        let turns = 0
        for (const batch of batches(rows.map((row) => row.entity_key))) {
          const fresh = yield* sql<{ entity_key: string }>`
            SELECT entity_key FROM ${threadsTable} WHERE ${sql.in("entity_key", batch)} AND updated_at >= ${before}
            UNION
            SELECT entity_key FROM ${turnsTable} WHERE ${sql.in("entity_key", batch)} AND updated_at >= ${before}`
          const touched = new Set(fresh.map((row) => row.entity_key))
          const stale = batch.filter((key) => !touched.has(key))
          if (stale.length === 0) continue
          yield* sql.withTransaction(Effect.gen(function*() {
            const threads = yield* sql<{ thread_id: string }>`
              SELECT thread_id FROM ${threadsTable} WHERE ${sql.in("entity_key", stale)} AND updated_at < ${before}
              ${forUpdate}`
            if (threads.length > 0) {
              yield* sql`DELETE FROM ${rolloutsTable} WHERE ${sql.in("thread_id", threads.map((row) => row.thread_id))}`
            }
            yield* sql`DELETE FROM ${threadsTable} WHERE ${sql.in("entity_key", stale)} AND updated_at < ${before}`
            const journal = yield* sql<{ turn_key: string }>`
              SELECT turn_key FROM ${turnsTable} WHERE ${sql.in("entity_key", stale)} AND updated_at < ${before} ${forUpdate}`
            yield* sql`DELETE FROM ${turnsTable} WHERE ${sql.in("entity_key", stale)} AND updated_at < ${before}`
            keys += threads.length
            turns += journal.length
          }))
        }
        return { keys, turns }
      })

    const pruneTurns = (turnsBefore: number | undefined, turnsPerKey: number | undefined) =>
      Effect.gen(function*() {
        if (turnsBefore === undefined && turnsPerKey === undefined) return 0
        // finished entries older than the cut-off, or past the newest `turnsPerKey` of their key
        const rank = sql.literal("ROW_NUMBER() OVER (PARTITION BY entity_key ORDER BY updated_at DESC, turn_key DESC)")
        const rows = yield* sql<{ entity_key: string; turn_key: string; updated_at: number | string | bigint }>`
          SELECT entity_key, turn_key, updated_at FROM (
            SELECT entity_key, turn_key, updated_at, ${rank} AS turn_rank
            FROM ${turnsTable} WHERE status <> 'running'
          ) ranked
          WHERE ${turnsBefore === undefined ? sql.literal("1 = 0") : sql`updated_at < ${turnsBefore}`}
            OR ${turnsPerKey === undefined ? sql.literal("1 = 0") : sql`turn_rank > ${turnsPerKey}`}`
        const byKey = new Map<string, Array<string>>()
        for (const row of rows) byKey.set(row.entity_key, [...(byKey.get(row.entity_key) ?? []), row.turn_key])
        let removed = 0
        for (const [key, turnKeys] of byKey) {
          for (const batch of batches(turnKeys)) {
            // still finished: a failed turn sent again meanwhile is running, and stays
            const chosen = sql`entity_key = ${key} AND ${sql.in("turn_key", batch)} AND status <> 'running'`
            yield* sql.withTransaction(Effect.gen(function*() {
              const locked = yield* sql<{ turn_key: string }>`SELECT turn_key FROM ${turnsTable} WHERE ${chosen} ${forUpdate}`
              yield* sql`DELETE FROM ${turnsTable} WHERE ${chosen}`
              removed += locked.length
            }))
          }
        }
        return removed
      })

    const prune: Store["prune"] = (retention) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const { keysBefore, turnsBefore, turnsPerKey } = yield* Effect.try({
          try: () => cutoffs(retention, now),
          catch: (cause) => cause
        })
        const forgotten = keysBefore === undefined ? { keys: 0, turns: 0 } : yield* pruneKeys(keysBefore)
        const turns = yield* pruneTurns(turnsBefore, turnsPerKey)
        return { keys: forgotten.keys, turns: forgotten.turns + turns }
      }).pipe(Effect.mapError(storageError("prune")))

    return { load, rollout, saveThread, appendRollout, beginTurn, finishTurn, failTurn, prune } satisfies Store
  })
