/**
 * The nightly review (examples/scheduled-review.ts) as a durable workflow on
 * PostgreSQL, killed with SIGKILL mid-run and restarted: every PR is reviewed
 * once, the summary is posted once, no codex process outlives the run that
 * spawned it.
 *
 * The pipeline runs in a child process (test/real/WorkflowNightly.child.ts)
 * against a LocalModel served here, so the model sees the requests of every
 * run, and the test chooses the moment of the kill:
 * - with PR #103's turn in flight (its model request held open): the
 *   restart runs that turn again (at-least-once), the rest from storage;
 * - after codex completed PR #103's turn while the pipeline was frozen
 *   (SIGSTOP), so the result was never stored: the restart reads it from the
 *   thread's history and the model is not asked again.
 * A third run of the same night does nothing (the workflow's stored result).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Postgres from "../support/Postgres.ts"

const ROOT = Path.resolve(import.meta.dirname, "../..")
const NODE = Path.join(ROOT, "node_modules", ".bin", "node")
const CHILD = Path.join(import.meta.dirname, "WorkflowNightly.child.ts")
const RUN_TIMEOUT_MS = 60_000

// -----------------------------------------------------------------------------
// Processes
// -----------------------------------------------------------------------------

interface Run {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const EXAMPLE = Path.join(ROOT, "examples", "scheduled-review.ts")

const startRun = (env: Record<string, string>, script: ReadonlyArray<string> = [CHILD]): Run => {
  const child = spawn(NODE, ["--import", "./scripts/source-hooks.ts", ...script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
  const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS)
  void exited.then(() => clearTimeout(timer))
  return { child, output: () => output, exited }
}

/** The live (not zombie) processes whose environment has `CODEX_HOME=home`: the runs' codex app-servers. */
const codexProcesses = (home: string): Array<number> =>
  Fs.readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      const stat = Fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      const state = stat.slice(stat.lastIndexOf(")") + 2)[0]
      if (state === "Z" || state === "X") return []
      const environ = Fs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0")
      return environ.includes(`CODEX_HOME=${home}`) ? [Number(entry)] : []
    } catch {
      return [] // gone, or not ours to read
    }
  })

const until = async (what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Whether codex's rollout of some thread records the turn of `marker` (its client message id) as complete. */
const completedInRollout = (home: string, marker: string): boolean => {
  const walk = (dir: string): Array<string> =>
    Fs.existsSync(dir)
      ? Fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(Path.join(dir, e.name)) : [Path.join(dir, e.name)]
      )
      : []
  return walk(Path.join(home, "sessions")).some((file) => {
    const text = Fs.readFileSync(file, "utf8")
    const at = text.indexOf(marker)
    return at >= 0 && text.indexOf("\"type\":\"task_complete\"", at) >= 0
  })
}

// -----------------------------------------------------------------------------
// The webhook
// -----------------------------------------------------------------------------

interface Posted {
  readonly key: string | undefined
  readonly body: {
    readonly findings: ReadonlyArray<{ readonly pr: number }>
    readonly reviews: ReadonlyArray<{ readonly pr: number; readonly recovery: string }>
  }
}

const webhook = Effect.acquireRelease(
  Effect.promise(async () => {
    const posted: Array<Posted> = []
    const server = Http.createServer((req, res) => {
      let body = ""
      req.setEncoding("utf8").on("data", (chunk: string) => (body += chunk)).on("end", () => {
        const key = req.headers["idempotency-key"]
        posted.push({ key: typeof key === "string" ? key : undefined, body: JSON.parse(body) })
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    return { posted, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/nightly` }
  }),
  ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
)

// -----------------------------------------------------------------------------
// The scenario
// -----------------------------------------------------------------------------

const prOf = (request: LocalModel.RecordedRequest): number | undefined => {
  const match = /pull request #(\d+)/.exec(LocalModel.lastUserText(request) ?? "")
  return match === null ? undefined : Number(match[1])
}

const IN_FLIGHT = 103

/** The example's open PRs (its fixture), and what the model answers about each (one finding, on #103). */
const PRS = [101, 102, 103, 104]
const answer = (pr: number): LocalModel.SseStep =>
  LocalModel.json({
    summary: `Looked at #${pr}.`,
    risk: "low",
    findings: pr === 103 ? [{ file: "src/toml.ts", note: "The cache never evicts." }] : []
  })

/**
 * Runs the pipeline, kills it as `kill` says once the model is asked about
 * PR #103, restarts it, runs it a third time; returns what the model and the
 * webhook saw.
 */
const scenario = (label: string, kill: "inFlight" | "afterCompletion") =>
  Effect.gen(function*() {
    const database = yield* Effect.promise(() => databaseFor(label))
    const hook = yield* webhook
    let firstRun = true
    const model = yield* LocalModel.make([], {
      // The first run's request for PR #103 is held (in flight until the kill), or answered slowly
      // enough for the test to freeze the pipeline before codex completes the turn.
      fallback: (request) => {
        const pr = prOf(request) ?? 0
        if (pr !== IN_FLIGHT || !firstRun) return answer(pr)
        firstRun = false
        return kill === "inFlight" ? LocalModel.hang() : LocalModel.slow(answer(pr), { chunkDelay: "300 millis" })
      }
    })
    const workspace = Fs.mkdtempSync(Path.join(Os.tmpdir(), "workflow-nightly-ws-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(workspace, { recursive: true, force: true })))
    const env = {
      DATABASE_URL: database,
      REVIEW_WEBHOOK_URL: hook.url,
      REVIEW_REPO: workspace,
      REVIEW_NIGHT: "2026-12-01",
      WORKFLOW_CODEX_HOME: model.codexHome,
      WORKFLOW_CODEX_CONFIG: JSON.stringify(model.appServerOptions.config)
    }
    const requestsFor = (pr: number) => Effect.map(model.requests, (all) => all.filter((r) => prOf(r) === pr).length)

    // Run 1: killed with PR #103 on its way.
    const first = startRun(env)
    yield* Effect.promise(() =>
      until("the model request for PR #103", () => {
        const seen = Effect.runSync(requestsFor(IN_FLIGHT)) > 0
        if (!seen && first.child.exitCode !== null) throw new Error(`run 1 exited early:\n${first.output()}`)
        return seen
      })
    )
    const spawned = codexProcesses(model.codexHome)
    assert.isAbove(spawned.length, 0, "run 1's codex app-server is found by its CODEX_HOME")
    if (kill === "afterCompletion") {
      // Frozen, the pipeline cannot store the result; codex (not frozen) completes the turn.
      first.child.kill("SIGSTOP")
      yield* Effect.promise(() =>
        until("codex to complete PR #103's turn", () => completedInRollout(model.codexHome, "/review-pr-103"))
      )
    }
    first.child.kill("SIGKILL")
    const killed = yield* Effect.promise(() => first.exited)
    assert.strictEqual(killed.signal, "SIGKILL")
    assert.deepStrictEqual(hook.posted, [], "nothing posted before the kill")
    assert.match(first.output(), /PR #101: risk low/, first.output())
    assert.match(first.output(), /PR #102: risk low/, first.output())
    assert.notMatch(first.output(), /PR #10[34]: /, first.output())
    // Its codex saw stdin close when the parent died and exited by itself.
    yield* Effect.promise(() =>
      until(`run 1's codex (${spawned.join(", ")}) to exit`, () => codexProcesses(model.codexHome).length === 0, 10_000)
    )

    // Run 2: resumes the night.
    const second = startRun(env)
    const resumed = yield* Effect.promise(() => second.exited)
    assert.strictEqual(resumed.code, 0, second.output())
    assert.notMatch(second.output(), /\bERROR\b/, second.output())
    assert.match(second.output(), /review: risk low, 1 finding\(s\) across 4 pull request\(s\)/, second.output())
    assert.deepStrictEqual(codexProcesses(model.codexHome), [], "run 2's codex ended with it")

    // Run 3: the night is done; nothing runs, nothing is posted.
    const third = startRun(env)
    const done = yield* Effect.promise(() => third.exited)
    assert.strictEqual(done.code, 0, third.output())
    assert.match(third.output(), /review: risk low, 1 finding\(s\) across 4 pull request\(s\)/, third.output())

    const requests: Record<number, number> = {}
    for (const pr of PRS) requests[pr] = yield* requestsFor(pr)
    return { hook, requests, second: second.output(), third: third.output() }
  }).pipe(Effect.scoped)

let databaseFor: (label: string) => Promise<string>

describe.skipIf(!Postgres.available)("the nightly review workflow on PostgreSQL (real codex, LocalModel)", () => {
  databaseFor = Postgres.suite()

  /** Every PR once in the one summary posted, with its idempotency key. */
  const assertPostedOnce = (posted: ReadonlyArray<Posted>, recoveryOf103: string) => {
    assert.strictEqual(posted.length, 1, JSON.stringify(posted))
    const [summary] = posted
    assert.match(summary!.key ?? "", /^[0-9a-f]{16,}$/)
    assert.deepStrictEqual(summary!.body.reviews.map((r) => r.pr), PRS)
    for (const review of summary!.body.reviews) {
      assert.strictEqual(review.recovery, review.pr === IN_FLIGHT ? recoveryOf103 : "ran", JSON.stringify(review))
    }
    assert.deepStrictEqual(summary!.body.findings.map((f) => f.pr), [103])
  }

  it.live("SIGKILL with a turn in flight: the restart runs that turn again, every other PR once, one summary", () =>
    Effect.gen(function*() {
      const { hook, requests, second, third } = yield* scenario("in flight", "inFlight")
      // Asked once about every PR; twice about #103 (the held request died with run 1's codex).
      assert.deepStrictEqual(requests, { 101: 1, 102: 1, 103: 2, 104: 1 })
      assertPostedOnce(hook.posted, "ranAgain")
      assert.match(second, /workflow turn "review-pr-103" was started by an earlier run that did not finish it/)
      assert.match(second, /workflow thread "pr-103": resuming /)
      assert.notMatch(second, /workflow thread "pr-10[12]": resuming/, "stored turns load no thread")
      assert.notMatch(third, /resuming|PR #/)
    }), 150_000)

  it.live("SIGKILL after codex completed the turn but before it was stored: the restart reads it from the thread's history", () =>
    Effect.gen(function*() {
      const { hook, requests, second } = yield* scenario("after completion", "afterCompletion")
      assert.deepStrictEqual(requests, { 101: 1, 102: 1, 103: 1, 104: 1 }, "the model is never asked twice")
      assertPostedOnce(hook.posted, "fromHistory")
      assert.match(second, /workflow turn "review-pr-103" was started by an earlier run and completed in codex/)
    }), 150_000)
  // The example itself, as a user runs it (its own LocalModel, no API key): the engine it picks.
  it.live("the example: without DATABASE_URL it says it is not durable", () =>
    Effect.promise(async () => {
      const run = startRun({ REVIEW_REPO: ROOT, REVIEW_NIGHT: "2026-12-01" }, [EXAMPLE, "--now"])
      const exit = await run.exited
      assert.strictEqual(exit.code, 0, run.output())
      assert.match(run.output(), /in-memory workflow engine, NOT durable/)
      assert.match(run.output(), /review: risk low, 1 finding\(s\) across 4 pull request\(s\)/)
    }), 60_000)

  it.live("the example: with DATABASE_URL and CODEX_HOME, killed after two PRs and run again, it posts every PR once", () =>
    Effect.gen(function*() {
      const database = yield* Effect.promise(() => databaseFor("example"))
      const hook = yield* webhook
      const home = Fs.mkdtempSync(Path.join(Os.tmpdir(), "workflow-example-home-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(home, { recursive: true, force: true })))
      const env = {
        DATABASE_URL: database,
        CODEX_HOME: home,
        REVIEW_WEBHOOK_URL: hook.url,
        REVIEW_REPO: ROOT,
        REVIEW_NIGHT: "2026-12-01"
      }
      const first = startRun(env, [EXAMPLE, "--now"])
      yield* Effect.promise(() =>
        until("PR #102's review", () => {
          if (first.child.exitCode !== null) throw new Error(`run 1 exited early:\n${first.output()}`)
          return /PR #102: risk low/.test(first.output())
        })
      )
      first.child.kill("SIGKILL")
      yield* Effect.promise(() => first.exited)
      assert.match(first.output(), /PostgreSQL \(DATABASE_URL\): durable/)
      yield* Effect.promise(() => until("run 1's codex to exit", () => codexProcesses(home).length === 0, 10_000))

      const second = startRun(env, [EXAMPLE, "--now"])
      const exit = yield* Effect.promise(() => second.exited)
      assert.strictEqual(exit.code, 0, second.output())
      assert.match(second.output(), /review: risk low, 1 finding\(s\) across 4 pull request\(s\)/)
      assert.notMatch(second.output(), /workflow thread "pr-10[12]": resuming/, second.output())
      assert.strictEqual(hook.posted.length, 1, second.output())
      assert.deepStrictEqual(hook.posted[0]!.body.reviews.map((r) => r.pr), PRS)
      assert.deepStrictEqual(hook.posted[0]!.body.reviews.slice(0, 2).map((r) => r.recovery), ["ran", "ran"])
      assert.deepStrictEqual(codexProcesses(home), [])
    }).pipe(Effect.scoped), 120_000)
})
