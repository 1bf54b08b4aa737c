/**
 * The `effect-codex` command line, run as a user runs it: a child process
 * (`node --import ./scripts/source-hooks.ts src/bin/effect-codex.ts ...`) on the real codex binary and
 * the embedded LocalModel (`--local-model`, no API key), in a workspace of its own.
 *
 * Non-interactive runs (stdin is a pipe): the streamed answer, `--json`, `--output-schema`, declined
 * and accepted approvals, `--resume`, `threads` / `read` / `models` on a kept LocalModel home,
 * `review`, usage errors, `--timeout`, Ctrl-C (SIGINT) mid-turn. Interactive runs through a
 * pseudo-terminal (tmux): an approval accepted at the prompt, Ctrl-C at the prompt. Every run gets its
 * own TMPDIR, which every process it starts inherits, so no process left behind goes unseen.
 */
import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { pidsWithEnv } from "../support/Home.ts"

const ROOT = Path.resolve(import.meta.dirname, "../..")
const CLI = [Path.join(ROOT, "src/bin/effect-codex.ts")]
const HOOKS = ["--import", Path.join(ROOT, "scripts/source-hooks.ts")]
const EXIT_TIMEOUT_MS = 120_000
const TEST_TIMEOUT_MS = 240_000
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/

// -----------------------------------------------------------------------------
// Running the tool
// -----------------------------------------------------------------------------

/** A workspace (the tool's cwd, a git repository) and a TMPDIR for one test, removed by `cleanup`. */
const makeWorkspace = () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-codex-cli-"))
  const cwd = Path.join(dir, "ws")
  const tmp = Path.join(dir, "tmp")
  Fs.mkdirSync(cwd)
  Fs.mkdirSync(tmp)
  execFileSync("git", ["init", "-q"], { cwd })
  Fs.writeFileSync(Path.join(cwd, "README.md"), "# scratch\n")
  return {
    dir,
    cwd,
    tmp,
    cleanup: () => Fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  }
}
type Workspace = ReturnType<typeof makeWorkspace>

const cliEnv = (ws: Workspace): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: ws.tmp }
  delete env.CODEX_API_KEY
  delete env.OPENAI_API_KEY
  delete env.CODEX_HOME
  return env
}

interface Exited {
  readonly args: ReadonlyArray<string>
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

interface Running {
  readonly child: ChildProcess
  readonly stdout: () => string
  /** Resolves once `pattern` shows on stdout. */
  readonly waitFor: (pattern: RegExp) => Promise<void>
  readonly exited: Promise<Exited>
}

const start = (ws: Workspace, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): Running => {
  const child = spawn(process.execPath, [...HOOKS, ...CLI, ...args], {
    cwd: ws.cwd,
    env: { ...cliEnv(ws), ...env },
    stdio: ["pipe", "pipe", "pipe"]
  })
  child.stdin!.end()
  let stdout = ""
  let stderr = ""
  const listeners = new Set<() => void>()
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
    for (const listener of listeners) listener()
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const exited = new Promise<Exited>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_TIMEOUT_MS)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ args, code, signal, stdout, stderr })
    })
  })
  const waitFor = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(stdout)) {
          listeners.delete(check)
          resolve()
        }
      }
      listeners.add(check)
      void exited.then((exit) => {
        if (listeners.delete(check)) reject(new Error(`exited before ${pattern} showed:\n${explain(exit)}`))
      })
      check()
    })
  return { child, stdout: () => stdout, waitFor, exited }
}

const explain = (exit: Exited) =>
  `effect-codex ${exit.args.join(" ")}: exit code ${exit.code} (signal ${exit.signal})\n` +
  `--- stdout\n${exit.stdout}\n--- stderr\n${exit.stderr}`

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Processes still running with this workspace's TMPDIR (the tool, codex, anything they started). */
const leftovers = async (ws: Workspace): Promise<ReadonlyArray<number>> => {
  let pids = pidsWithEnv("TMPDIR", ws.tmp)
  for (let i = 0; i < 30 && pids.length > 0; i++) {
    await sleep(100)
    pids = pidsWithEnv("TMPDIR", ws.tmp)
  }
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

/** Runs the tool to its end; checks it left no process behind. */
const cli = async (ws: Workspace, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): Promise<Exited> => {
  const exit = await start(ws, args, env).exited
  assert.deepStrictEqual(await leftovers(ws), [], `processes left behind by effect-codex ${args.join(" ")}`)
  return exit
}

const assertOk = (exit: Exited) => assert.strictEqual(exit.code, 0, explain(exit))

/** The usage line the tool prints last: tokens, duration, thread id. */
const USAGE = new RegExp(`^\\d[\\d,]* tokens \\(.*\\) · .* · thread (${UUID.source})$`, "m")

/** A codex that leaves a mark (and fails) if anything starts it. */
const markingCodex = (ws: Workspace) => {
  const marker = Path.join(ws.dir, "codex-was-started")
  const path = Path.join(ws.dir, "codex")
  Fs.writeFileSync(path, `#!/bin/sh\ntouch '${marker}'\nexit 1\n`, { mode: 0o755 })
  return { env: { CODEX_PATH: path }, started: () => Fs.existsSync(marker) }
}

const withWorkspace = (body: (ws: Workspace) => Promise<void>) => async () => {
  const ws = makeWorkspace()
  try {
    await body(ws)
  } finally {
    ws.cleanup()
  }
}

// -----------------------------------------------------------------------------
// Non-interactive
// -----------------------------------------------------------------------------

describe("effect-codex (non-interactive)", () => {
  it("--help answers without starting codex", withWorkspace(async (ws) => {
    const codex = markingCodex(ws)
    for (const args of [["--help"], ["run", "--help"], ["--local-model", "run", "--help"], ["--version"]]) {
      const exit = await cli(ws, args, codex.env)
      assertOk(exit)
      if (args[0] === "--version") assert.match(exit.stdout, /effect-codex v\d+\.\d+\.\d+/)
      else assert.match(exit.stdout, /USAGE/, explain(exit))
    }
    const help = await cli(ws, ["--help"], codex.env)
    for (const command of ["run", "review", "threads", "read", "models"]) assert.match(help.stdout, new RegExp(`^  ${command} `, "m"))
    assert.isFalse(codex.started(), "--help started codex")
    // the mark is left when a command does start codex
    const models = await cli(ws, ["models"], codex.env)
    assert.strictEqual(models.code, 1, explain(models))
    assert.isTrue(codex.started())
  }), TEST_TIMEOUT_MS)

  it("run streams the answer on stdout, the token usage and thread on stderr", withWorkspace(async (ws) => {
    const exit = await cli(ws, ["--local-model", "run", "Say", "hello", "to", "the", "terminal"])
    assertOk(exit)
    assert.match(exit.stdout, /^You said: “Say hello to the terminal” \(message 1 of this thread\)\./, explain(exit))
    assert.isTrue(exit.stdout.endsWith("\n"))
    assert.match(exit.stderr, USAGE, explain(exit))
    // no spinner frames and no escape sequences when stderr is not a terminal
    assert.notMatch(exit.stderr, /\x1b/)
  }), TEST_TIMEOUT_MS)

  it("run --json prints every event of the turn as a JSON line, and nothing else", withWorkspace(async (ws) => {
    const exit = await cli(ws, ["--local-model", "run", "--json", "hello json"])
    assertOk(exit)
    const events = exit.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as { _tag: string; delta?: string })
    assert.strictEqual(events[0]?._tag, "TurnStarted")
    assert.strictEqual(events.at(-1)?._tag, "TurnCompleted")
    const text = events.flatMap((event) => (event._tag === "AgentMessageDelta" ? [event.delta] : [])).join("")
    assert.match(text, /^You said: “hello json”/)
    assert.isTrue(events.some((event) => event._tag === "TokenUsageUpdated"))
    assert.strictEqual(exit.stderr, "", explain(exit))
  }), TEST_TIMEOUT_MS)

  it("run --output-schema prints the decoded answer as JSON", withWorkspace(async (ws) => {
    const schema = Path.join(ws.dir, "schema.json")
    Fs.writeFileSync(schema, JSON.stringify({
      type: "object",
      properties: { verdict: { type: "string", enum: ["ok", "needs work"] }, count: { type: "integer" } },
      required: ["verdict", "count"],
      additionalProperties: false
    }))
    const exit = await cli(ws, ["--local-model", "run", "--output-schema", schema, "Review it"])
    assertOk(exit)
    assert.deepStrictEqual(JSON.parse(exit.stdout), { verdict: "ok", count: 0 })
    assert.match(exit.stderr, USAGE)

    const bad = Path.join(ws.dir, "bad.json")
    Fs.writeFileSync(bad, "[1, 2]")
    const refused = await cli(ws, ["--local-model", "run", "--output-schema", bad, "x"])
    assert.strictEqual(refused.code, 2, explain(refused))
    assert.match(refused.stdout + refused.stderr, /not a JSON Schema object/)
  }), TEST_TIMEOUT_MS)

  it("without a terminal approvals are declined (with a hint); --approve all accepts them", withWorkspace(async (ws) => {
    const prompt = "please run `touch marker.txt`"
    const declined = await cli(ws, ["--local-model", "run", "--ask-for-approval", "on-request", prompt])
    assertOk(declined)
    assert.match(declined.stderr, /^\$ touch marker\.txt · declined$/m, explain(declined))
    assert.match(declined.stderr, /approvals are declined: pass --approve/)
    assert.isFalse(Fs.existsSync(Path.join(ws.cwd, "marker.txt")))

    const accepted = await cli(ws, ["--local-model", "run", "--ask-for-approval", "on-request", "--approve", "all", `${prompt} and fix the notes`])
    assertOk(accepted)
    assert.match(accepted.stderr, /^\$ touch marker\.txt · exit 0/m, explain(accepted))
    assert.match(accepted.stderr, /^\+ LOCALMODEL_NOTES\.md$/m, explain(accepted))
    assert.isTrue(Fs.existsSync(Path.join(ws.cwd, "marker.txt")))
    assert.isTrue(Fs.existsSync(Path.join(ws.cwd, "LOCALMODEL_NOTES.md")))

    const asked = await cli(ws, ["--local-model", "run", "--approve", "ask", prompt])
    assert.strictEqual(asked.code, 2, explain(asked))
    assert.match(asked.stderr, /--approve ask needs a terminal/)
  }), TEST_TIMEOUT_MS)

  it("threads, read, models and --resume on a kept LocalModel home", withWorkspace(async (ws) => {
    const home = `--local-model=${Path.join(ws.dir, "home")}`
    const first = await cli(ws, [home, "run", "Remember the word pelican"])
    assertOk(first)
    const threadId = first.stderr.match(USAGE)![1]!

    const resumed = await cli(ws, [home, "run", "--resume", threadId, "Which word?"])
    assertOk(resumed)
    assert.match(resumed.stdout, /\(message 2 of this thread\)\. Before that you said: “Remember the word pelican”/, explain(resumed))
    assert.strictEqual(resumed.stderr.match(USAGE)![1], threadId)

    const threads = await cli(ws, [home, "threads"])
    assertOk(threads)
    assert.match(threads.stdout, /^ID\s+UPDATED\s+NAME \/ FIRST PROMPT$/m)
    assert.match(threads.stdout, new RegExp(`^${threadId}  just now  Remember the word pelican$`, "m"), explain(threads))
    const listed = (await cli(ws, [home, "threads", "--json"])).stdout.trimEnd().split("\n").map((line) => JSON.parse(line))
    assert.deepStrictEqual(listed.map((thread: { id: string }) => thread.id), [threadId])

    const read = await cli(ws, [home, "read", threadId])
    assertOk(read)
    assert.match(read.stdout, new RegExp(`^id ${threadId} · ${ws.cwd.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} · mock-model$`, "m"), explain(read))
    assert.match(read.stdout, /^> Remember the word pelican$/m)
    assert.match(read.stdout, /^> Which word\?$/m)
    assert.match(read.stdout, /^You said: “Which word\?” \(message 2 of this thread\)/m)

    const missing = await cli(ws, [home, "read", "00000000-0000-7000-8000-000000000000"])
    assert.strictEqual(missing.code, 1, explain(missing))
    assert.match(missing.stderr, /^effect-codex: /m)

    const models = await cli(ws, [home, "models"])
    assertOk(models)
    assert.match(models.stdout, /^\* mock-model\s+low\*,medium\s+Mock Model: Local mock model$/m, explain(models))
  }), TEST_TIMEOUT_MS)

  it("review reviews the uncommitted changes", withWorkspace(async (ws) => {
    Fs.writeFileSync(Path.join(ws.cwd, "README.md"), "# scratch\nchanged\n")
    const exit = await cli(ws, ["--local-model", "review"])
    assertOk(exit)
    assert.match(exit.stdout, /Review the current code changes/, explain(exit))
    assert.match(exit.stderr, new RegExp(`· thread ${UUID.source}$`, "m"))
  }), TEST_TIMEOUT_MS)

  it("usage errors exit with code 2, before codex starts", withWorkspace(async (ws) => {
    const codex = markingCodex(ws)
    for (const args of [["run"], ["run", "--timeout", "soon", "x"], ["run", "--cwd", "/does/not/exist", "x"], ["nope"]]) {
      const exit = await cli(ws, ["--local-model", ...args], codex.env)
      assert.strictEqual(exit.code, 2, explain(exit))
    }
    assert.isFalse(codex.started())
  }), TEST_TIMEOUT_MS)

  it("--timeout interrupts the turn and exits with code 124", withWorkspace(async (ws) => {
    // the embedded model takes at least 20 ms a frame, over 50 frames: a turn lasts more than a second
    const exit = await cli(ws, ["--local-model", "run", "--timeout", "300ms", "Tell me a long story"])
    assert.strictEqual(exit.code, 124, explain(exit))
    assert.match(exit.stderr, /timed out after 300 ms; the turn was interrupted/)
  }), TEST_TIMEOUT_MS)

  it("Ctrl-C (SIGINT) mid-turn interrupts the turn: exit code 130, no process left", withWorkspace(async (ws) => {
    const home = `--local-model=${Path.join(ws.dir, "home")}`
    const running = start(ws, [home, "run", "--json", "Tell me a long story"])
    // the embedded model takes over a second for the turn: the signal lands well before its end
    await running.waitFor(/"_tag":"TurnStarted"/)
    running.child.kill("SIGINT")
    const exit = await running.exited
    assert.strictEqual(exit.code, 130, explain(exit))
    assert.match(exit.stderr, /effect-codex: interrupted/)
    assert.deepStrictEqual(await leftovers(ws), [], "processes left behind after Ctrl-C")
    // codex was asked to interrupt the turn (a killed codex leaves it failed: "stream disconnected")
    const threadId = (JSON.parse(exit.stdout.split("\n")[0]!) as { threadId: string }).threadId
    const read = await cli(ws, [home, "read", threadId])
    assert.match(read.stdout, /^! interrupted$/m, explain(read))
  }), TEST_TIMEOUT_MS)

  it("stdout closed by its reader mid-turn (| head) interrupts the turn: exit code 141, no process left", withWorkspace(async (ws) => {
    const running = start(ws, ["--local-model", "run", "--json", "Tell me a long story"])
    await running.waitFor(/"_tag":"TurnStarted"/)
    running.child.stdout!.destroy() // as `head -n 1` does once it has its line
    const exit = await running.exited
    assert.strictEqual(exit.code, 141, explain(exit))
    assert.match(exit.stderr, /^effect-codex: stdout was closed; the turn was interrupted$/m, explain(exit))
    assert.notMatch(exit.stderr, /EPIPE|Unhandled/)
    assert.deepStrictEqual(await leftovers(ws), [], "processes left behind after stdout closed")
  }), TEST_TIMEOUT_MS)
})

// -----------------------------------------------------------------------------
// Interactive, through a pseudo-terminal
// -----------------------------------------------------------------------------

/** The tool in a tmux session of its own (its own server socket): a real terminal for stdin and stderr. */
const inTmux = (ws: Workspace, args: ReadonlyArray<string>) => {
  const socket = `effect-codex-cli-${process.pid}-${Path.basename(ws.dir)}`
  const exitFile = Path.join(ws.dir, "exit-code")
  const quote = (word: string) => `'${word.replace(/'/g, "'\\''")}'`
  const script = Path.join(ws.dir, "run.sh")
  Fs.writeFileSync(
    script,
    `#!/bin/sh\ncd ${quote(ws.cwd)}\n${[process.execPath, ...HOOKS, ...CLI, ...args].map(quote).join(" ")}\n` +
      `echo $? > ${quote(exitFile)}\nsleep 600\n`,
    { mode: 0o755 }
  )
  const tmux = (...tmuxArgs: ReadonlyArray<string>) =>
    execFileSync("tmux", ["-L", socket, ...tmuxArgs], { env: cliEnv(ws), encoding: "utf8" })
  tmux("new-session", "-d", "-x", "120", "-y", "40", script)
  const screen = () => tmux("capture-pane", "-p")
  const waitForScreen = async (pattern: RegExp, timeoutMs = EXIT_TIMEOUT_MS) => {
    const deadline = Date.now() + timeoutMs
    while (!pattern.test(screen())) {
      if (Date.now() > deadline) throw new Error(`no ${pattern} on the terminal:\n${screen()}`)
      await sleep(100)
    }
  }
  const exitCode = async () => {
    const deadline = Date.now() + EXIT_TIMEOUT_MS
    while (!Fs.existsSync(exitFile) || Fs.readFileSync(exitFile, "utf8").trim() === "") {
      if (Date.now() > deadline) throw new Error(`effect-codex did not exit:\n${screen()}`)
      await sleep(100)
    }
    return Number(Fs.readFileSync(exitFile, "utf8").trim())
  }
  return {
    screen,
    waitForScreen,
    keys: (...keys: ReadonlyArray<string>) => void tmux("send-keys", ...keys),
    exitCode,
    close: () => {
      try {
        tmux("kill-server")
      } catch {
        // already gone
      }
    }
  }
}

describe("effect-codex (interactive, in a pseudo-terminal)", () => {
  it("asks before a command runs: accept once runs it", withWorkspace(async (ws) => {
    const term = inTmux(ws, ["--local-model", "run", "--ask-for-approval", "on-request", "please run `touch marker.txt`"])
    try {
      await term.waitForScreen(/Run this command\?/)
      const asking = term.screen()
      assert.match(asking, /^  \$ touch marker\.txt$/m)
      assert.match(asking, /Accept once/)
      assert.match(asking, /Accept for this session/)
      assert.match(asking, /Decline/)
      assert.isFalse(Fs.existsSync(Path.join(ws.cwd, "marker.txt")), "the command ran before it was approved")
      term.keys("Enter")
      assert.strictEqual(await term.exitCode(), 0, term.screen())
      const done = term.screen()
      assert.match(done, /✔ Run this command\? … +Accept once/)
      assert.match(done, /^\$ touch marker\.txt · exit 0/m, done)
      assert.match(done, /I ran `touch marker\.txt` \(exit code 0\)/)
      assert.isTrue(Fs.existsSync(Path.join(ws.cwd, "marker.txt")))
    } finally {
      term.close()
    }
    assert.deepStrictEqual(await leftovers(ws), [])
  }), TEST_TIMEOUT_MS)

  it("Ctrl-C at the approval prompt interrupts the run: exit code 130, no process left", withWorkspace(async (ws) => {
    const term = inTmux(ws, ["--local-model", "run", "--ask-for-approval", "on-request", "please fix the notes"])
    try {
      await term.waitForScreen(/Apply these changes\?/)
      assert.match(term.screen(), /^  \+ LOCALMODEL_NOTES\.md$/m)
      term.keys("C-c")
      assert.strictEqual(await term.exitCode(), 130, term.screen())
      assert.match(term.screen(), /effect-codex: interrupted/)
      assert.isFalse(Fs.existsSync(Path.join(ws.cwd, "LOCALMODEL_NOTES.md")))
    } finally {
      term.close()
    }
    assert.deepStrictEqual(await leftovers(ws), [])
  }), TEST_TIMEOUT_MS)
})
