/**
 * The dashboard (examples/dashboard) in a real browser: Debian's chromium driven by playwright-core,
 * against the dashboard server started as a user would (`node --import ./scripts/source-hooks.ts
 * examples/dashboard/server.ts`), without an API key, so the embedded LocalModel answers and the real
 * codex binary runs every turn.
 *
 * The server runs with its own TMPDIR (which holds the LocalModel's CODEX_HOME, so every codex process it
 * starts can be found by its environment) and WORKSPACE, a temporary copy of examples/dashboard/sample.
 * The tests share one server and one page, in order: a first fix with its approval accepted, a second
 * one interrupted, a follow-up on the first thread, ten fixes in a row; the last test stops the server
 * with SIGTERM and checks that no codex process is left. A second server, with small limits
 * (KEEP_RUNS, KEEP_RUN_EVENTS), runs many turns: it keeps that many runs and events, and the page says
 * what it dropped and still shows what it kept.
 *
 * Chromium is required, not optional: without it the tests fail (CI installs it, see .ci/run).
 * `UPDATE_SCREENSHOT=1` also writes the page after the first fix to docs/images/dashboard.png.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import * as Home from "../support/Home.ts"

const ROOT = Path.resolve(import.meta.dirname, "../..")
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]
const TURN_TIMEOUT_MS = 60_000
const TEST_TIMEOUT_MS = 240_000

// -----------------------------------------------------------------------------
// The server, as a child process
// -----------------------------------------------------------------------------

interface Server {
  readonly child: ChildProcess
  readonly url: string
  readonly tmp: string
  readonly workspace: string
  /** The LocalModel's CODEX_HOME: every codex process of this server has it in its environment. */
  readonly codexHome: string
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const cleanEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  delete env.CODEX_API_KEY
  delete env.OPENAI_API_KEY
  return env
}

const startServer = async (env: Readonly<Record<string, string>> = {}): Promise<Server> => {
  const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dashboard-test-"))
  const workspace = Path.join(tmp, "workspace")
  Fs.cpSync(Path.join(ROOT, "examples/dashboard/sample"), workspace, { recursive: true })
  const child = spawn(process.execPath, ["--import", "./scripts/source-hooks.ts", "examples/dashboard/server.ts"], {
    cwd: ROOT,
    env: { ...cleanEnv(), TMPDIR: tmp, PORT: "0", WORKSPACE: workspace, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true // its own process group, so a failed test can kill all of it
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal }))
  )
  const deadline = Date.now() + 60_000
  let url: string | undefined
  while (url === undefined) {
    url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1]
    if (url !== undefined) break
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the dashboard did not start:\n--- stdout\n${stdout}\n--- stderr\n${stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const home = Fs.readdirSync(tmp).find((entry) => entry.startsWith("effect-codex-home-"))
  assert.isDefined(home, `no LocalModel CODEX_HOME in ${tmp}`)
  return {
    child,
    url,
    tmp,
    workspace,
    codexHome: Path.join(tmp, home!),
    stdout: () => stdout,
    stderr: () => stderr,
    exited
  }
}

const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

// -----------------------------------------------------------------------------
// The page
// -----------------------------------------------------------------------------

const launch = async (): Promise<{ context: BrowserContext; userDataDir: string }> => {
  if (!Fs.existsSync(CHROMIUM)) {
    throw new Error(
      `chromium is not installed at ${CHROMIUM}: the dashboard's browser test needs it ` +
        "(apt-get update && apt-get install -y chromium, as .ci/run does; or set CHROMIUM_PATH)"
    )
  }
  const userDataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dashboard-chromium-"))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1360, height: 1000 }
  })
  return { context, userDataDir }
}

const testid = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`)

/** Does `action` and waits for the page to show the turn it started (a fresh timeline); returns its id. */
const startsTurn = async (page: Page, action: () => Promise<void>): Promise<string> => {
  const before = await testid(page, "run").getAttribute("data-turn-id")
  await action()
  const handle = await page.waitForFunction(
    (previous) => {
      const id = document.querySelector("[data-testid=run]")?.getAttribute("data-turn-id")
      return id !== null && id !== undefined && id !== previous ? id : false
    },
    before,
    { timeout: TURN_TIMEOUT_MS }
  )
  return String(await handle.jsonValue())
}

/** Waits for the turn on screen to end with `status`. */
const waitForStatus = (page: Page, status: string) =>
  page.waitForFunction(
    (expected) => document.querySelector("[data-testid=run-status]")?.textContent === expected,
    status,
    { timeout: TURN_TIMEOUT_MS }
  )

/** From now on, records every length the streaming answer and the reasoning text take. */
const recordGrowth = (page: Page) =>
  page.evaluate(() => {
    const lengths = { answer: [] as Array<number>, reasoning: [] as Array<number> }
    const record = (list: Array<number>, text: string) => {
      if (list.at(-1) !== text.length) list.push(text.length)
    }
    new MutationObserver(() => {
      // the answer's Markdown so far, as the page received it
      record(lengths.answer, document.querySelector<HTMLElement>(".step.answer")?.dataset.text ?? "")
      record(lengths.reasoning, [...document.querySelectorAll("[data-testid=reasoning]")].map((n) => n.textContent).join(""))
    }).observe(document.getElementById("timeline")!, { childList: true, subtree: true, characterData: true, attributes: true })
    ;(window as unknown as { growth: typeof lengths }).growth = lengths
  })

const growth = (page: Page) =>
  page.evaluate(() => (window as unknown as { growth: { answer: Array<number>; reasoning: Array<number> } }).growth)

/** At least `steps` lengths on the way to the final one, each longer than the one before: the text arrived in pieces. */
const assertStreamed = (lengths: ReadonlyArray<number>, what: string, steps: number) => {
  const seen = lengths.filter((n) => n > 0)
  assert.isAtLeast(seen.length, steps, `${what} grew in ${seen.length} steps: ${seen.join(", ")}`)
  for (let i = 1; i < seen.length; i++) assert.isAbove(seen[i]!, seen[i - 1]!, `${what}: ${seen.join(", ")}`)
}

const fixAndAccept = async (page: Page, ticketId: string) => {
  await startsTurn(page, () => testid(page, `fix-${ticketId}`).click())
  const approval = testid(page, "approval")
  await approval.waitFor({ timeout: TURN_TIMEOUT_MS })
  await approval.locator("[data-testid=accept]").click()
  await waitForStatus(page, "completed")
}

// -----------------------------------------------------------------------------
// Tests
// -----------------------------------------------------------------------------

describe("dashboard in chromium (LocalModel, real codex)", () => {
  let server: Server | undefined
  let browser: { context: BrowserContext; userDataDir: string } | undefined
  let page: Page
  let interruptedTurn = ""
  // Alerts the page raised (a request it sent failed) and errors its script threw: none expected.
  const problems: Array<string> = []
  const assertNoProblems = () => assert.deepStrictEqual(problems, [], "the page reported errors")

  const setUp = async () => {
    browser = await launch()
    server = await startServer()
    page = browser.context.pages()[0] ?? (await browser.context.newPage())
    page.on("dialog", (dialog) => {
      problems.push(`alert: ${dialog.message()}`)
      void dialog.dismiss()
    })
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
    await page.goto(server.url)
  }

  // Also after a failed or filtered run: nothing of this suite outlives it.
  const tearDown = async () => {
    await browser?.context.close().catch(() => undefined)
    if (browser !== undefined) Fs.rmSync(browser.userDataDir, { recursive: true, force: true })
    browser = undefined
    if (server !== undefined) {
      killGroup(server.child, "SIGKILL") // a no-op when the last test stopped it
      for (const pid of Home.pidsWithEnv("CODEX_HOME", server.codexHome)) process.kill(pid, "SIGKILL")
      Fs.rmSync(server.tmp, { recursive: true, force: true })
    }
  }
  afterAll(tearDown)

  it("Fix this bug: reasoning and the answer stream in, the approval is accepted, the command's output, the answer and the diff show", {
    timeout: TEST_TIMEOUT_MS
  }, async () => {
    try {
      await setUp()
    } catch (error) {
      await tearDown()
      throw error
    }
    await testid(page, "fix-SHOP-101").waitFor()
    assert.strictEqual(await testid(page, "backend").textContent(), "embedded LocalModel (no API key)")
    assert.strictEqual(await page.locator("[data-testid^=ticket-]").count(), 4)
    await recordGrowth(page)

    await startsTurn(page, () => testid(page, "fix-SHOP-101").click())
    const approval = testid(page, "approval")
    await approval.waitFor({ timeout: TURN_TIMEOUT_MS })
    assert.include(await testid(page, "run-status").textContent(), "running")
    assert.include(await approval.textContent(), "$ ls")
    // 11 words a frame apart; a busy machine may deliver a few of them together
    assertStreamed((await growth(page)).reasoning, "the reasoning before the approval", 3)
    // The command waits for the answer: it has not run.
    assert.strictEqual(await testid(page, "command-output").textContent(), "")

    await approval.locator("[data-testid=accept]").click()
    await page.waitForFunction(
      () => document.querySelector("[data-testid=command-output]")?.textContent?.includes("package.json") === true,
      undefined,
      { timeout: TURN_TIMEOUT_MS }
    )
    assert.strictEqual(await testid(page, "command-output").textContent(), "README.md\npackage.json\nsrc\ntest\n")
    await waitForStatus(page, "completed")

    assert.strictEqual(await approval.locator("[data-testid=approval-outcome]").textContent(), "accepted")
    assert.include(await testid(page, "file-change").textContent(), "add LOCALMODEL_NOTES.md")
    const answer = await testid(page, "final-answer").textContent()
    assert.include(answer, "You said: “Fix this bug: Cart total ignores quantities (SHOP-101).")
    assert.include(answer, "I ran ls (exit code 0).") // `ls` shown as code
    assert.include(answer, "I wrote LOCALMODEL_NOTES.md")
    assert.deepStrictEqual(
      await testid(page, "final-answer").locator("code").allTextContents(),
      ["ls", "README.md\npackage.json\nsrc\ntest", "LOCALMODEL_NOTES.md"]
    )
    assert.strictEqual(await testid(page, "answer").textContent(), answer, "the streamed answer is the final one")
    assertStreamed((await growth(page)).answer, "the answer", 10) // about 45 words
    const diff = await testid(page, "final-diff").textContent()
    assert.include(diff, "+++ b/LOCALMODEL_NOTES.md")
    assert.include(diff, "+- Fix this bug: Cart total ignores quantities (SHOP-101).")
    assert.include(Fs.readFileSync(Path.join(server!.workspace, "LOCALMODEL_NOTES.md"), "utf8"), "SHOP-101")

    // The thread is listed, named after the ticket, with its turn.
    const thread = testid(page, "thread").filter({ hasText: "SHOP-101: Cart total ignores quantities" })
    await thread.locator("[data-testid=thread-turn]").filter({ hasText: "completed" }).waitFor()

    const shot = await page.screenshot({ fullPage: true })
    assert.deepStrictEqual([...shot.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "a PNG")
    if (process.env.UPDATE_SCREENSHOT === "1") {
      Fs.mkdirSync(Path.join(ROOT, "docs/images"), { recursive: true })
      Fs.writeFileSync(Path.join(ROOT, "docs/images/dashboard.png"), shot)
    }
    assertNoProblems()
  })

  it("Interrupt stops a second run that waits for an approval", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.isDefined(server, "the server started")
    interruptedTurn = await startsTurn(page, () => testid(page, "fix-SHOP-102").click())
    const approval = testid(page, "approval")
    await approval.waitFor({ timeout: TURN_TIMEOUT_MS })
    assert.include(await testid(page, "run-title").textContent(), "SHOP-102")
    assert.isTrue(await testid(page, "interrupt").isEnabled())

    await testid(page, "interrupt").click()
    await waitForStatus(page, "interrupted")
    assert.isTrue(await testid(page, "interrupt").isDisabled())
    assert.strictEqual(await approval.locator("[data-testid=approval-outcome]").textContent(), "the turn ended")
    assert.strictEqual(await testid(page, "final-diff").textContent(), "(no file changed)\n")
    // The command never ran, so the notes are still the first fix's.
    assert.notInclude(Fs.readFileSync(Path.join(server!.workspace, "LOCALMODEL_NOTES.md"), "utf8"), "SHOP-102")
    const thread = testid(page, "thread").filter({ hasText: "SHOP-102" })
    await thread.locator("[data-testid=thread-turn]").filter({ hasText: "interrupted" }).waitFor()
    assertNoProblems()
  })

  it("a past thread resumes with a follow-up prompt, with its history", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.isDefined(server, "the server started")
    const thread = testid(page, "thread").filter({ hasText: "SHOP-101: Cart total ignores quantities" })
    await thread.locator("[data-testid=follow-up-input]").fill("Thanks. Is the total right now?")
    await startsTurn(page, () => thread.locator("[data-testid=follow-up-send]").click())
    await waitForStatus(page, "completed")

    assert.strictEqual(await testid(page, "run-prompt").textContent(), "Thanks. Is the total right now?")
    const answer = await testid(page, "final-answer").textContent()
    assert.include(answer, "You said: “Thanks. Is the total right now?” (message 2 of this thread).")
    assert.include(answer, "Before that you said: “Fix this bug: Cart total ignores quantities (SHOP-101).")
    assert.strictEqual(await testid(page, "approval").count(), 0, "no command, no approval")
    await thread.locator("[data-testid=thread-turn]").nth(1).waitFor()
    assert.strictEqual(await thread.locator("[data-testid=thread-turn]").count(), 2)
    assertNoProblems()
  })

  it("the API refuses what it cannot do, with a status and a message; events replay after Last-Event-ID", {
    timeout: TEST_TIMEOUT_MS
  }, async () => {
    assert.isDefined(server, "the server started")
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server!.url}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
      return { status: response.status, text: await response.text() }
    }
    const refused = async (method: string, path: string, body: unknown, status: number, message: RegExp) => {
      const response = await call(method, path, body)
      assert.strictEqual(response.status, status, `${method} ${path}: ${response.text}`)
      assert.match(String((JSON.parse(response.text) as { error?: unknown }).error), message, `${method} ${path}`)
    }
    await refused("POST", "/api/tickets/NOPE-1/fix", undefined, 404, /no ticket NOPE-1/)
    await refused("GET", "/api/turns/not-a-turn/events", undefined, 404, /no turn not-a-turn/)
    await refused("POST", `/api/turns/${interruptedTurn}/interrupt`, undefined, 409, /has ended/)
    await refused("POST", `/api/turns/${interruptedTurn}/approvals`, { requestId: 0, decision: "maybe" }, 400, /decision/)
    const threads = JSON.parse((await call("GET", "/api/threads")).text) as Array<{ threadId: string; name: string }>
    const first = threads.find((thread) => thread.name.startsWith("SHOP-101"))!
    await refused("POST", `/api/threads/${first.threadId}/turns`, { prompt: "" }, 400, /prompt/)

    // The interrupted turn's approval was dropped with its turn: nothing waits for an answer.
    const replay = (await call("GET", `/api/turns/${interruptedTurn}/events`)).text
    const approval = /event: approval\ndata: (.*)/.exec(replay)
    assert.isNotNull(approval, replay)
    const { requestId } = JSON.parse(approval![1]!) as { requestId: number | string }
    await refused("POST", `/api/turns/${interruptedTurn}/approvals`, { requestId, decision: "accept" }, 404, /nothing waits/)

    // A reconnecting EventSource gets what follows the last id it saw, nothing before.
    const ids = [...replay.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
    assert.deepStrictEqual(ids, ids.map((_, i) => i), "ids count from 0")
    const response = await fetch(`${server!.url}/api/turns/${interruptedTurn}/events`, { headers: { "last-event-id": "2" } })
    const after = [...(await response.text()).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
    assert.deepStrictEqual(after, ids.slice(3))
    assert.match(replay, /event: done\ndata: \{"status":"interrupted"/)

    // One turn at a time on a thread: a follow-up waits for the running turn to end.
    const started = JSON.parse((await call("POST", "/api/tickets/SHOP-103/fix")).text) as { threadId: string; turnId: string }
    const live = await fetch(`${server!.url}/api/turns/${started.turnId}/events`)
    const reader = live.body!.pipeThrough(new TextDecoderStream()).getReader()
    let seen = ""
    while (!seen.includes("event: approval\n")) {
      const chunk = await reader.read()
      assert.isFalse(chunk.done, `the turn ended before asking:\n${seen}`)
      seen += chunk.value
    }
    await refused("POST", `/api/threads/${started.threadId}/turns`, { prompt: "And also" }, 409, /a turn is running/)
    assert.strictEqual((await call("POST", `/api/turns/${started.turnId}/interrupt`)).status, 204)
    while (!seen.includes("event: done\n")) {
      const chunk = await reader.read()
      if (chunk.done) break
      seen += chunk.value
    }
    assert.match(seen, /event: done\ndata: \{"status":"interrupted"/)
  })

  it("serves 10 tasks in a row on the embedded model", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.isDefined(server, "the server started")
    const tickets = ["SHOP-101", "SHOP-102", "SHOP-103", "SHOP-104"]
    for (let i = 0; i < 10; i++) {
      const ticket = tickets[i % tickets.length]!
      await fixAndAccept(page, ticket)
      const answer = await testid(page, "final-answer").textContent()
      assert.include(answer, `(${ticket}).`, `task ${i + 1}`)
      assert.include(answer, "I ran ls (exit code 0).", `task ${i + 1}`)
      assert.include(answer, "I wrote LOCALMODEL_NOTES.md", `task ${i + 1}`)
    }
    // 3 threads before, 10 now, each listed.
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=thread]").length === 13, undefined, {
      timeout: 10_000
    })
    assertNoProblems()
  })

  it("stops on SIGTERM and leaves no codex process", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.isDefined(server, "the server started")
    const running = server!
    assert.isNotEmpty(Home.pidsWithEnv("CODEX_HOME", running.codexHome), "the app-server runs")
    await browser!.context.close()
    running.child.kill("SIGTERM")
    const exit = await Promise.race([
      running.exited,
      new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 30_000))
    ])
    const left = await Effect.runPromise(Home.awaitNoPidsWithEnv("CODEX_HOME", running.codexHome, 10_000))
    const logs = `--- stdout\n${running.stdout()}\n--- stderr\n${running.stderr()}`
    assert.notStrictEqual(exit, "timeout", `the server did not stop within 30 s\n${logs}`)
    assert.deepStrictEqual(left, [], "codex processes left behind")
    assert.notMatch(running.stderr(), /\b(ERROR|WARN)\b/, logs)
  })
})

describe("dashboard with small limits: memory stays bounded over many runs (LocalModel, real codex)", () => {
  const KEEP_RUNS = 4
  const KEEP_RUN_EVENTS = 2
  let server: Server | undefined
  let browser: { context: BrowserContext; userDataDir: string } | undefined
  const problems: Array<string> = []

  afterAll(async () => {
    await browser?.context.close().catch(() => undefined)
    if (browser !== undefined) Fs.rmSync(browser.userDataDir, { recursive: true, force: true })
    if (server !== undefined) {
      killGroup(server.child, "SIGTERM")
      await Promise.race([server.exited, new Promise((resolve) => setTimeout(resolve, 15_000))])
      killGroup(server.child, "SIGKILL")
      for (const pid of Home.pidsWithEnv("CODEX_HOME", server.codexHome)) process.kill(pid, "SIGKILL")
      Fs.rmSync(server.tmp, { recursive: true, force: true })
    }
  })

  interface Kept {
    readonly limits: { readonly runs: number; readonly runEvents: number }
    readonly runs: ReadonlyArray<{ readonly turnId: string; readonly threadId: string; readonly status: string; readonly events: number | null }>
    readonly events: number
    readonly droppedRuns: number
    readonly droppedRunEvents: number
  }

  it(`keeps the last ${KEEP_RUNS} runs and the events of the last ${KEEP_RUN_EVENTS}; the page says what was dropped and shows what is kept`, {
    timeout: TEST_TIMEOUT_MS
  }, async () => {
    browser = await launch()
    server = await startServer({ KEEP_RUNS: String(KEEP_RUNS), KEEP_RUN_EVENTS: String(KEEP_RUN_EVENTS) })
    const url = server.url
    const page = browser.context.pages()[0] ?? (await browser.context.newPage())
    page.on("dialog", (dialog) => {
      problems.push(`alert: ${dialog.message()}`)
      void dialog.dismiss()
    })
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
    await page.goto(url)
    await testid(page, "fix-SHOP-101").waitFor()

    const getJson = async <A>(path: string): Promise<A> => {
      const response = await fetch(`${url}${path}`)
      assert.strictEqual(response.status, 200, path)
      return (await response.json()) as A
    }
    // A follow-up through the API, read to its end over its event stream.
    const followUp = async (threadId: string, prompt: string): Promise<string> => {
      const response = await fetch(`${url}/api/threads/${threadId}/turns`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt })
      })
      assert.strictEqual(response.status, 200, await response.clone().text())
      const { turnId } = (await response.json()) as { turnId: string }
      const text = await (await fetch(`${url}/api/turns/${turnId}/events`)).text()
      assert.match(text, /event: done\ndata: \{"status":"completed"/, text)
      return turnId
    }

    const started: Array<string> = [] // every run, in order
    let mostEventsOfOneRun = 0
    const check = async (what: string) => {
      const kept = await getJson<Kept>("/api/runs")
      const n = started.length
      assert.deepStrictEqual(kept.limits, { runs: KEEP_RUNS, runEvents: KEEP_RUN_EVENTS })
      // the last KEEP_RUNS runs, oldest first; of those, the last KEEP_RUN_EVENTS with their events
      assert.deepStrictEqual(kept.runs.map((run) => run.turnId), started.slice(-KEEP_RUNS), what)
      assert.isTrue(kept.runs.every((run) => run.status === "completed"), what)
      const withEvents = kept.runs.filter((run) => run.events !== null)
      assert.deepStrictEqual(withEvents.map((run) => run.turnId), started.slice(-KEEP_RUN_EVENTS), what)
      assert.strictEqual(kept.droppedRuns, Math.max(0, n - KEEP_RUNS), what)
      assert.strictEqual(kept.droppedRunEvents, Math.max(0, n - KEEP_RUN_EVENTS), what)
      for (const run of withEvents) mostEventsOfOneRun = Math.max(mostEventsOfOneRun, run.events!)
      assert.strictEqual(kept.events, withEvents.reduce((sum, run) => sum + run.events!, 0), what)
      assert.isAtMost(kept.events, KEEP_RUN_EVENTS * mostEventsOfOneRun, what)
      return kept
    }

    // Thread A: a fix on the page (its approval accepted), then follow-ups through the API.
    await fixAndAccept(page, "SHOP-101")
    const threadA = (await getJson<Array<{ threadId: string; name: string }>>("/api/threads"))
      .find((thread) => thread.name.startsWith("SHOP-101"))!.threadId
    started.push(await testid(page, "run").getAttribute("data-turn-id") as string)
    await check("after the first fix")
    for (let i = 1; i <= 6; i++) {
      started.push(await followUp(threadA, `Is it right now? (A${i})`))
      await check(`after follow-up A${i}`)
    }
    // Thread B: the same, so every run of A is forgotten.
    await fixAndAccept(page, "SHOP-102")
    const threadB = (await getJson<Array<{ threadId: string; name: string }>>("/api/threads"))
      .find((thread) => thread.name.startsWith("SHOP-102"))!.threadId
    started.push(await testid(page, "run").getAttribute("data-turn-id") as string)
    await check("after the second fix")
    let lastAnswer = ""
    for (let i = 1; i <= 5; i++) {
      started.push(await followUp(threadB, `Is it right now? (B${i})`))
      await check(`after follow-up B${i}`)
    }
    assert.lengthOf(started, 13)
    const kept = await check("at the end")
    assert.isAbove(mostEventsOfOneRun, 20, "runs stream many events (deltas)")
    // 13 runs, 2 holding events: a dashboard without limits would hold 13 runs' events
    console.log(
      `[dashboard] 13 runs, kept ${kept.runs.length} (${kept.runs.filter((run) => run.events !== null).length} with events, ` +
        `${kept.events} events in all); dropped ${kept.droppedRuns} runs, the events of ${kept.droppedRunEvents}`
    )

    // A forgotten run is gone, with a reason; one that keeps its summary replays it.
    const forgotten = await fetch(`${url}/api/turns/${started[0]}/events`)
    assert.strictEqual(forgotten.status, 404)
    assert.match(((await forgotten.json()) as { error: string }).error, /no turn .* remembers the last 4 runs/)
    const summary = await (await fetch(`${url}/api/turns/${started[9]}/events`)).text()
    assert.deepStrictEqual([...summary.matchAll(/^event: (.*)$/gm)].map((m) => m[1]), ["turn", "events-dropped", "done"])
    assert.match(summary, /"diff":null/)

    // The page, reloaded: it says what was dropped, and shows what it keeps.
    await page.reload()
    const notice = testid(page, "dropped-notice")
    await notice.waitFor()
    assert.strictEqual(
      await notice.textContent(),
      "9 older runs were dropped (the dashboard remembers the last 4); 2 runs keep only a summary (events are kept for the last 2 finished)."
    )
    const cardB = testid(page, "thread").filter({ hasText: "SHOP-102" })
    await cardB.locator("[data-testid=thread-turn]").first().waitFor()
    assert.deepStrictEqual(
      await cardB.locator("[data-testid=thread-turn]").evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-turn-id"))),
      started.slice(-KEEP_RUNS)
    )
    assert.strictEqual(await cardB.locator("[data-testid=thread-dropped]").textContent(), "2 earlier runs dropped")
    assert.strictEqual(await cardB.locator("[data-testid=thread-turn-summary]").count(), 2)
    // thread A is still listed (codex has it), without the runs this process forgot
    const cardA = testid(page, "thread").filter({ hasText: "SHOP-101" })
    assert.strictEqual(await cardA.count(), 1)
    assert.strictEqual(await cardA.locator("[data-testid=thread-turn]").count(), 0)

    // A run kept as a summary: the timeline says its events were dropped; status, answer and usage show.
    await startsTurn(page, () => cardB.locator(`[data-testid=thread-turn][data-turn-id="${started[9]}"] a`).click())
    await waitForStatus(page, "completed")
    assert.match(await testid(page, "events-dropped").textContent() ?? "", /^The \d+ events of this run were dropped/)
    assert.include(await testid(page, "final-answer").textContent(), "You said: “Is it right now? (B2)”")
    assert.strictEqual(await testid(page, "final-diff").textContent(), "(dropped with the run's events)")
    assert.match(await testid(page, "final-meta").textContent() ?? "", /\d+ tokens/)
    assert.strictEqual(await testid(page, "answer").count(), 0, "no timeline of its own")

    // The last run, with its events: the whole timeline, as before.
    await startsTurn(page, () => cardB.locator(`[data-testid=thread-turn][data-turn-id="${started[12]}"] a`).click())
    await waitForStatus(page, "completed")
    lastAnswer = await testid(page, "final-answer").textContent() ?? ""
    assert.include(lastAnswer, "You said: “Is it right now? (B5)”")
    assert.strictEqual(await testid(page, "answer").textContent(), lastAnswer, "its streamed answer replays")
    assert.strictEqual(await testid(page, "events-dropped").count(), 0)
    assert.deepStrictEqual(problems, [], "the page reported errors")
  })
})
