/**
 * Runs every example in `examples/` as a user would (`node --import ./scripts/source-hooks.ts
 * examples/<name>.ts`), without an API key, so each one plays its embedded
 * LocalModel script against the real codex binary.
 *
 * For each example: exit code 0 within a time bound, its key lines on stdout,
 * no ERROR/WARN log line, and no codex app-server left behind (every example
 * runs with its own TMPDIR, which holds the LocalModel's CODEX_HOME, so its
 * codex processes can be found by their command line). The dashboard is
 * driven over HTTP (a task POSTed, its Server-Sent Events read); the scheduled
 * review posts to a webhook served here. All traffic stays on 127.0.0.1.
 *
 * At most two examples run at once (each spawns a codex process).
 */
import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as OtlpReceiver from "../support/OtlpReceiver.ts"

const ROOT = Path.resolve(import.meta.dirname, "../..")
const EXIT_TIMEOUT_MS = 90_000
const TEST_TIMEOUT_MS = 300_000 // includes waiting for a slot

// -----------------------------------------------------------------------------
// At most two examples at once
// -----------------------------------------------------------------------------

const makeLimit = (max: number) => {
  let active = 0
  const waiting: Array<() => void> = []
  return async <A>(f: () => Promise<A>): Promise<A> => {
    if (active < max) active++
    else await new Promise<void>((resolve) => waiting.push(resolve)) // the slot is handed over
    try {
      return await f()
    } finally {
      const next = waiting.shift()
      if (next === undefined) active--
      else next()
    }
  }
}
const limit = makeLimit(2)

// -----------------------------------------------------------------------------
// Running an example
// -----------------------------------------------------------------------------

interface Exited {
  readonly name: string
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

interface Running {
  readonly child: ChildProcess
  readonly tmp: string
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves with the first match of `pattern` on stdout. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>
  readonly exited: Promise<Exited>
}

const cleanEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  delete env.CODEX_API_KEY
  delete env.OPENAI_API_KEY
  return env
}

const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

const start = (name: string, args: ReadonlyArray<string> = [], env: Record<string, string> = {}): Running => {
  // Its own TMPDIR: the LocalModel's CODEX_HOME (and so codex's command line) lives in it.
  const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), `example-${name}-`))
  const started = performance.now()
  const child = spawn(process.execPath, ["--import", "./scripts/source-hooks.ts", `examples/${name}.ts`, ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), TMPDIR: tmp, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true // its own process group, killed as a whole on timeout
  })
  let stdout = ""
  let stderr = ""
  const listeners = new Set<() => void>()
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
    for (const listener of listeners) listener()
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))

  const exited = new Promise<Exited>((resolve) => {
    const timer = setTimeout(() => {
      killGroup(child, "SIGTERM")
      setTimeout(() => killGroup(child, "SIGKILL"), 5_000).unref()
    }, EXIT_TIMEOUT_MS)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      const ms = Math.round(performance.now() - started)
      resolve({ name: [name, ...args].join(" "), code, signal, stdout, stderr, ms })
    })
  })

  const waitFor = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = stdout.match(pattern)
        if (match !== null) {
          listeners.delete(check)
          clearTimeout(timer)
          resolve(match)
        }
      }
      const timer = setTimeout(() => {
        listeners.delete(check)
        reject(new Error(`no ${pattern} on stdout of ${name} within ${timeoutMs} ms:\n${stdout}\n${stderr}`))
      }, timeoutMs)
      listeners.add(check)
      void exited.then(() => {
        if (listeners.delete(check)) {
          clearTimeout(timer)
          reject(new Error(`${name} exited before printing ${pattern}:\n${stdout}\n${stderr}`))
        }
      })
      check()
    })

  return { child, tmp, stdout: () => stdout, stderr: () => stderr, waitFor, exited }
}

/** codex app-server processes still running for this example's TMPDIR. */
const leftovers = (tmp: string): Array<string> =>
  execFileSync("ps", ["-ww", "-eo", "pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(tmp) && line.includes("app-server"))

/** Waits for the exit, then checks it left no codex process behind and cleans up. */
const finish = async (running: Running): Promise<Exited> => {
  const exit = await running.exited
  let left = leftovers(running.tmp)
  for (let i = 0; i < 20 && left.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    left = leftovers(running.tmp)
  }
  for (const line of left) {
    try {
      process.kill(Number(line.trim().split(/\s+/)[0]), "SIGKILL")
    } catch {
      // gone meanwhile
    }
  }
  Fs.rmSync(running.tmp, { recursive: true, force: true })
  assert.deepStrictEqual(left, [], "codex processes left behind")
  return exit
}

const explain = (exit: Exited) =>
  `${exit.name}: exit code ${exit.code} (signal ${exit.signal}) after ${exit.ms} ms\n` +
  `--- stdout\n${exit.stdout}\n--- stderr\n${exit.stderr}`

const assertOk = (exit: Exited, expected: ReadonlyArray<RegExp>) => {
  assert.strictEqual(exit.code, 0, explain(exit))
  for (const pattern of expected) assert.match(exit.stdout, pattern, explain(exit))
  assert.notMatch(exit.stderr, /\b(ERROR|WARN)\b/, explain(exit))
  console.log(`${exit.name}: exit 0 in ${exit.ms} ms`)
}

const runExample = (name: string, args: ReadonlyArray<string> = [], env: Record<string, string> = {}) =>
  limit(() => finish(start(name, args, env)))

// -----------------------------------------------------------------------------
// Examples checked by their output
// -----------------------------------------------------------------------------

interface Expected {
  readonly args?: ReadonlyArray<string>
  /** Lines stdout must have. */
  readonly expect: ReadonlyArray<RegExp>
  /** What must appear neither on stdout nor on stderr. */
  readonly absent?: RegExp
}

const simple: Record<string, Expected> = {
  // The responder quotes the prompt before: the resumed thread kept its history.
  "demo": { expect: [/\(message 3 of this thread\)\. Before that you said: “What did I just ask\?”/, /tidy/] },
  "cluster": { expect: [/replayed the second time: true, same turn: true/] },
  "quickstart": { expect: [/answer: Hello! I am Codex/, /: completed/] },
  "streaming": {
    expect: [
      /\[progress\] running: .*ls/,
      /final answer: There are a few files here/,
      /items: userMessage, reasoning, commandExecution, agentMessage/
    ]
  },
  "ai-chat": {
    expect: [
      /Your name is Ada, and you like Effect\.\n\(stop, 12 output tokens\)/,
      /both turns ran on one codex thread \(/,
      /history: system, user, assistant, user, assistant/
    ]
  },
  "multi-turn": { expect: [/Your first question was: what is the capital of France\?/, /has 3 turns/] },
  "resume": {
    expect: [/\[process 2\] resumed .*\("resume example", 1 turn so far\)/, /You asked me to remember 'pelican'/]
  },
  "thread-lifecycle": {
    expect: [
      /forked .* -> .* \(forkedFromId /,
      /archived: in the listing false, among archived true/,
      /unarchived .*: in the listing true/
    ]
  },
  "images": {
    expect: [
      /the model received 2 images/,
      /the local file was sent inline: true/,
      /a remote URL: remote image URLs are not supported; use an inline data URL instead/
    ]
  },
  "review": { expect: [/reviewing: current changes/, /review \(completed\):\nThe change breaks the count\./, /- The loop stops at 2/] },
  "command": {
    expect: [
      /exec: exit code 3, stdout "hello from the sandbox\\n"/,
      /sorted: apple\nsorted: fig\nsorted: pear\nsort exited with 0/,
      /sleep 60 after its Scope closed: exit code 137/
    ]
  },
  "history": {
    expect: [
      /3 turns: completed, completed, completed/,
      /items: userMessage, agentMessage, userMessage, agentMessage, userMessage, agentMessage/,
      /after revert: 1 turn left; Only a fruit\./,
      /deleted: listed 0 time\(s\)/
    ]
  },
  "usage-limits": {
    expect: [
      /rate limits \(codex\): primary n\/a/,
      /turn used 125 tokens/,
      /account limits: not available: codex account authentication required/,
      /token usage: not available: codex account authentication required/
    ]
  },
  "errors-and-retry": {
    expect: [
      /attempt failed: TurnFailed/,
      /after retry: effect-codex drives Codex from Effect/,
      /turn failed \("usageLimitExceeded"\)/,
      /the thread is still usable/
    ]
  },
  "turn-parameters": {
    expect: [
      /request 0: model=gpt-5\.4 reasoning=\{"effort":"low"\} developer instructions=true/,
      /request 1: model=gpt-5\.4 reasoning=\{"effort":"medium","summary":"concise"\}/
    ]
  },
  "model-selection": { expect: [/\* mock-model \(Mock Model\)/, /chosen: mock-model, effort medium/] },
  "turn-controls": {
    expect: [
      /steered \(completed\): Beam across the dark/,
      /status interrupted/,
      /gave up after 2 seconds/,
      /next turn: OK\./
    ]
  },
  "account": {
    expect: [/account: signed in \(apiKey\)/, /signing in with <redacted>/, /after logout: not signed in/],
    absent: /sk-local-example/ // the key never shows
  },
  "structured-output": {
    expect: [/verdict: request changes/, /- \[high\] src\/parser\.ts:42/, /could not decode the answer: /]
  },
  "approvals-policy": {
    expect: [
      /approval: ls -la -> "accept"/,
      /command ls -la: completed, exit 0/,
      /approval: touch marker\.txt -> "decline"/,
      /marker\.txt exists: false/
    ]
  },
  "approvals-ui": {
    expect: [/codex asks to run: touch approved\.txt/, /\[ui\] accepted #0: true/, /approved\.txt exists: true/]
  },
  "tool": {
    expect: [
      /tool call lookup_issue\(\{"id":7\}\): success false/,
      /answer: #42 "Parser crashes on trailing comma" \(open\) \/ There is no issue #7\./
    ]
  },
  "mini-cli": {
    args: ["run", "What does this repository do?"],
    expect: [/You said: “What does this repository do\?” \(message 1 of this thread\)\. I am the LocalModel's .*\n\(\d+ tokens/],
    absent: /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|\x1b\[/ // no spinner: stderr is not a terminal here
  }
}

// Driven by their own tests below.
const driven = ["dashboard-api", "scheduled-review", "observability"]

// Every example; one not listed above must at least exit with 0.
const examples = Fs.readdirSync(Path.join(ROOT, "examples"))
  .filter((file) => file.endsWith(".ts"))
  .map((file) => file.slice(0, -3))
  .sort()

describe.concurrent("examples (LocalModel, real codex)", () => {
  it("the examples named here exist", () => {
    for (const name of [...Object.keys(simple), ...driven]) assert.include(examples, name)
  })

  for (const name of examples.filter((name) => !driven.includes(name))) {
    const { absent, args, expect } = simple[name] ?? { expect: [] }
    it(name, { timeout: TEST_TIMEOUT_MS }, async () => {
      const exit = await runExample(name, args)
      assertOk(exit, expect)
      if (absent !== undefined) assert.notMatch(exit.stdout + exit.stderr, absent, explain(exit))
    })
  }

  it("mini-cli --help", { timeout: TEST_TIMEOUT_MS }, async () => {
    assertOk(await runExample("mini-cli", ["--help"]), [/SUBCOMMANDS\n\s+run\s+Run one turn/])
  })

  // ---------------------------------------------------------------------------
  // The dashboard: POST a task, read its Server-Sent Events
  // ---------------------------------------------------------------------------

  interface SseEvent {
    readonly event: string
    readonly data: Record<string, unknown>
  }

  const postTask = (url: string, body: unknown) =>
    fetch(`${url}/api/codex/task`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

  const readEvents = async (response: Response): Promise<Array<SseEvent>> => {
    assert.strictEqual(response.status, 200)
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/)
    return (await response.text()).split("\n\n").filter((block) => block.trim() !== "").map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message"
      const data = block.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6))
      return { event, data: JSON.parse(data.join("\n")) as Record<string, unknown> }
    })
  }

  /** One task's stream: started first, done (completed) last, the deltas spell the final response. */
  const assertTask = (events: ReadonlyArray<SseEvent>, prompt: string) => {
    const names = events.map((e) => e.event)
    assert.strictEqual(names[0], "started", names.join(","))
    assert.strictEqual(names.at(-1), "done", names.join(","))
    const done = events.at(-1)!.data
    assert.strictEqual(done.threadId, events[0]!.data.threadId)
    assert.strictEqual(done.status, "completed")
    const text = events.filter((e) => e.event === "delta").map((e) => e.data.text).join("")
    assert.strictEqual(text, done.finalResponse)
    assert.include(text, `You said: “${prompt}” (message 1 of this thread).`)
    const progress = events.filter((e) => e.event === "progress").map((e) => String(e.data.line))
    const diffs = events.filter((e) => e.event === "diff").map((e) => String(e.data.diff))
    return { text, progress, diffs, threadId: String(done.threadId) }
  }

  // The tasks write in their own workspace (WORKSPACE), not in the repository the example runs from.
  const withWorkspace = async <A>(f: (workspace: string) => Promise<A>): Promise<A> => {
    const workspace = Fs.mkdtempSync(Path.join(Os.tmpdir(), "example-dashboard-ws-"))
    try {
      return await f(workspace)
    } finally {
      Fs.rmSync(workspace, { recursive: true, force: true })
    }
  }

  it("dashboard-api", { timeout: TEST_TIMEOUT_MS }, async () => {
    const exit = await withWorkspace((workspace) =>
      limit(async () => {
        const running = start("dashboard-api", ["--once"], { PORT: "0", WORKSPACE: workspace })
        try {
          const [, url] = await running.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/)
          const bad = await postTask(url!, { prompt: "" })
          assert.strictEqual(bad.status, 400)
          await bad.text()

          const prompt = "Run the parser tests and fix the failing one"
          const { diffs, progress, text } = assertTask(await readEvents(await postTask(url!, { prompt })), prompt)
          // The command asked for approval (accepted: `ls` only reads), then the patch wrote a file.
          assert.includeMembers(progress, [
            "running: ls",
            "waiting for an answer to item/commandExecution/requestApproval",
            "editing 1 file(s)"
          ])
          assert.isTrue(diffs.some((diff) => diff.includes("+++ b/LOCALMODEL_NOTES.md")), diffs.join("\n"))
          assert.match(text, /I ran `ls` \(exit code 0\)\./)
          assert.include(text, "I wrote `LOCALMODEL_NOTES.md`")
          assert.include(Fs.readFileSync(Path.join(workspace, "LOCALMODEL_NOTES.md"), "utf8"), `- ${prompt}\n`)
        } catch (error) {
          killGroup(running.child, "SIGTERM")
          await finish(running)
          throw error
        }
        return finish(running) // --once: it exits by itself after the task
      })
    )
    assertOk(exit, [/served one task; exiting/])
  })

  it("dashboard-api serves 10 tasks in a row (plain, run, fix), each on its own thread", { timeout: TEST_TIMEOUT_MS }, async () => {
    const prompts = [
      "What does this service do?",
      "Run a command to list the workspace",
      "Fix the flaky test",
      "How long did that take?",
      "Run `pwd`",
      "Edit the notes again",
      "Summarise the last task",
      "Run `ls -la`, then change the notes",
      "Is the workspace clean?",
      "Thanks"
    ]
    const exit = await withWorkspace((workspace) =>
      limit(async () => {
        const running = start("dashboard-api", [], { PORT: "0", WORKSPACE: workspace })
        try {
          const [, url] = await running.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/)
          const threads = new Set<string>()
          for (const prompt of prompts) {
            const { diffs, progress, text, threadId } = assertTask(await readEvents(await postTask(url!, { prompt })), prompt)
            threads.add(threadId)
            const runs = /\b(run|command)\b/i.test(prompt)
            const edits = /\b(fix|edit|change)\b/i.test(prompt)
            assert.strictEqual(progress.includes("waiting for an answer to item/commandExecution/requestApproval"), runs, prompt)
            if (runs) assert.match(text, /I ran `[^`]+` \(exit code 0\)\./, prompt)
            assert.strictEqual(diffs.length > 0, edits, prompt)
            if (edits) assert.include(text, "I wrote `LOCALMODEL_NOTES.md`", prompt)
          }
          assert.strictEqual(threads.size, prompts.length)
          // Each thread wrote the notes afresh: the last one is the file now.
          assert.include(Fs.readFileSync(Path.join(workspace, "LOCALMODEL_NOTES.md"), "utf8"), `- ${prompts[7]}\n`)
        } finally {
          running.child.kill("SIGTERM")
        }
        return finish(running)
      })
    )
    assert.isBelow(exit.ms, EXIT_TIMEOUT_MS, explain(exit)) // stopped by the signal
    assert.notMatch(exit.stderr, /\b(ERROR|WARN)\b/, explain(exit))
  })

  // ---------------------------------------------------------------------------
  // The nightly review: --now, posting to a webhook served here
  // ---------------------------------------------------------------------------

  it("scheduled-review --now posts the review to the webhook", { timeout: TEST_TIMEOUT_MS }, async () => {
    const received: Array<{ method: string; url: string; body: string }> = []
    const hook = Http.createServer((req, res) => {
      let body = ""
      req.setEncoding("utf8").on("data", (chunk: string) => (body += chunk)).on("end", () => {
        received.push({ method: req.method ?? "", url: req.url ?? "", body })
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve))
    try {
      const { port } = hook.address() as AddressInfo
      const exit = await runExample("scheduled-review", ["--now"], {
        REVIEW_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/review`,
        REVIEW_REPO: ROOT
      })
      assertOk(exit, [
        /review: risk low, 1 finding\(s\)/,
        /posted the review to http:\/\/127\.0\.0\.1:\d+\/hooks\/review: HTTP 204/,
        /\[workflow\] no DATABASE_URL: in-memory workflow engine, NOT durable/
      ])
      assert.strictEqual(received.length, 1)
      assert.strictEqual(received[0]!.method, "POST")
      assert.strictEqual(received[0]!.url, "/hooks/review")
      const review = JSON.parse(received[0]!.body) as Record<string, unknown>
      assert.strictEqual(review.repo, ROOT)
      assert.strictEqual(review.risk, "low")
      assert.lengthOf(review.findings as Array<unknown>, 1)
    } finally {
      hook.close()
    }
  })

  // ---------------------------------------------------------------------------
  // Observability: traces and metrics to an OTLP/HTTP receiver served here
  // ---------------------------------------------------------------------------

  it("observability exports one trace (the SDK's spans and codex's) and the metrics", { timeout: TEST_TIMEOUT_MS }, async () => {
    const receiver = await OtlpReceiver.start()
    try {
      const exit = await runExample("observability", [], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url })
      assertOk(exit, [
        /trace [0-9a-f]{32}: look for the span "nightly-check"/,
        /turn .*: completed, \d+ tokens/,
        /metrics: 1 turn\(s\) started, 1 completed, 1 command\(s\) accepted/
      ])
      const traceId = /trace ([0-9a-f]{32})/.exec(exit.stdout)![1]!
      const sdk = receiver.spans().filter((span) => span.service === "effect-codex-example")
      const names = new Set(sdk.filter((span) => span.traceId === traceId).map((span) => span.name))
      for (const name of ["nightly-check", "Codex.startThread", "Thread.run", "Turn", "Approval", "AppServerClient.request"]) {
        assert.isTrue(names.has(name), `${name} in the trace: ${[...names].join(", ")}`)
      }
      // codex flushes its spans as it exits, before the example does
      const codex = receiver.spans().filter((span) => span.service === "codex-app-server" && span.traceId === traceId)
      assert.isTrue(codex.some((span) => span.name === "turn/start"), `codex's turn/start in the trace (${codex.length} codex spans)`)
      assert.strictEqual(receiver.latest("codex.turns.started")?.value, 1)
      assert.strictEqual(receiver.latest("codex.turns.completed", { "codex.turn.status": "completed" })?.value, 1)
    } finally {
      await receiver.close()
    }
  })

  it("scheduled-review waits for the next 02:00 and stops on SIGTERM", { timeout: TEST_TIMEOUT_MS }, async () => {
    const exit = await limit(async () => {
      const running = start("scheduled-review")
      try {
        await running.waitFor(/next review at /)
      } finally {
        running.child.kill("SIGTERM")
      }
      return finish(running)
    })
    // Stopped by the signal (not by the EXIT_TIMEOUT_MS kill), before any review ran.
    assert.isBelow(exit.ms, EXIT_TIMEOUT_MS, explain(exit))
    assert.notMatch(exit.stdout, /review: /, explain(exit))
  })
})
