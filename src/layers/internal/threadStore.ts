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
import { Effect, Option, Schedule } from "../../schema/internal/effect.ts"
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
}

const storageError = (what: string) => (cause: unknown) =>
  CodexError.make(
    new CodexError.TransportError({
      description: `cluster storage: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause
    })
  )

const utf8Length = (text: string) => Buffer.byteLength(text, "utf8")

/** An in-memory store: for one process (the embedded cluster), where the runner never changes. */
export const makeMemory = (): Store => {
  const threads = new Map<string, ThreadRecord>()
  const rollouts = new Map<string, Array<string>>()
  const turns = new Map<
    string,
    { status: "running" | "completed" | "failed"; attempt: number; runner: string; result?: string }
  >()
  return {
    load: (key) => Effect.sync(() => Option.fromUndefinedOr(threads.get(key))),
    rollout: (threadId) => Effect.sync(() => (rollouts.get(threadId) ?? []).join("")),
    saveThread: (record) =>
      Effect.sync(() => {
        const previous = threads.get(record.key)
        if (previous !== undefined) rollouts.delete(previous.threadId)
        threads.set(record.key, { ...record, rolloutSize: 0 })
        rollouts.set(record.threadId, [])
      }),
    appendRollout: (key, threadId, offset, data, runner) =>
      Effect.suspend(() => {
        const record = threads.get(key)
        if (record === undefined || record.threadId !== threadId || record.rolloutSize !== offset) {
          return Effect.fail(storageError("append rollout")(`${key}: stored rollout is not at ${offset}`))
        }
        const chunks = rollouts.get(threadId) ?? []
        chunks.push(data)
        rollouts.set(threadId, chunks)
        threads.set(key, { ...record, rolloutSize: offset + utf8Length(data), runner })
        return Effect.void
      }),
    beginTurn: (key, turnKey, runner) =>
      Effect.sync((): TurnStart => {
        const id = `${key}\u0000${turnKey}`
        const row = turns.get(id)
        if (row === undefined) {
          turns.set(id, { status: "running", attempt: 1, runner })
          return { _tag: "New" }
        }
        if (row.status === "completed") return { _tag: "Done", result: row.result!, attempt: row.attempt }
        turns.set(id, { status: "running", attempt: row.attempt + 1, runner })
        return row.status === "failed"
          ? { _tag: "Retried", attempt: row.attempt + 1 }
          : { _tag: "Redelivered", attempt: row.attempt + 1, previousRunner: row.runner }
      }),
    finishTurn: (key, turnKey, result) =>
      Effect.sync(() => {
        const id = `${key}\u0000${turnKey}`
        const row = turns.get(id)
        turns.set(id, { status: "completed", attempt: row?.attempt ?? 1, runner: row?.runner ?? "", result })
      }),
    failTurn: (key, turnKey) =>
      Effect.sync(() => {
        const id = `${key}\u0000${turnKey}`
        const row = turns.get(id)
        if (row !== undefined) turns.set(id, { ...row, status: "failed" })
      })
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
        runner VARCHAR(255) NOT NULL
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
            runner: record.runner
          })
        }`
      })).pipe(Effect.mapError(storageError("save thread")))

    const appendRollout: Store["appendRollout"] = (key, threadId, offset, data, runner) =>
      sql.withTransaction(Effect.gen(function*() {
        // The size moves on only from where this runner last saw it: a writer that lost the key fails here.
        yield* sql`UPDATE ${threadsTable} SET rollout_size = ${offset + utf8Length(data)}, runner = ${runner}
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
        const rows = yield* sql<{ status: string; attempt: number; runner: string; result: string | null }>`
          SELECT status, attempt, runner, result FROM ${turnsTable}
          WHERE entity_key = ${key} AND turn_key = ${turnKey} ${forUpdate}`
        const row = rows[0]
        if (row === undefined) {
          yield* sql`INSERT INTO ${turnsTable} ${
            sql.insert({ entity_key: key, turn_key: turnKey, status: "running", attempt: 1, runner, result: null })
          }`
          return { _tag: "New" } as const
        }
        if (row.status === "completed" && row.result !== null) {
          return { _tag: "Done", result: row.result, attempt: Number(row.attempt) } as const
        }
        const attempt = Number(row.attempt) + 1
        yield* sql`UPDATE ${turnsTable} SET attempt = ${attempt}, runner = ${runner}, status = 'running'
          WHERE entity_key = ${key} AND turn_key = ${turnKey}`
        return row.status === "failed"
          ? { _tag: "Retried", attempt } as const
          : { _tag: "Redelivered", attempt, previousRunner: row.runner } as const
      })).pipe(Effect.mapError(storageError("begin turn")))

    const finishTurn: Store["finishTurn"] = (key, turnKey, result) =>
      sql`UPDATE ${turnsTable} SET status = 'completed', result = ${result}
        WHERE entity_key = ${key} AND turn_key = ${turnKey}`.pipe(
        Effect.asVoid,
        Effect.mapError(storageError("finish turn"))
      )

    const failTurn: Store["failTurn"] = (key, turnKey) =>
      sql`UPDATE ${turnsTable} SET status = 'failed' WHERE entity_key = ${key} AND turn_key = ${turnKey}`.pipe(
        Effect.asVoid,
        Effect.mapError(storageError("fail turn"))
      )

    return { load, rollout, saveThread, appendRollout, beginTurn, finishTurn, failTurn } satisfies Store
  })
