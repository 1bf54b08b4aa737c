// The data path of Transport.stdio without a process: the inbox (stdout
// chunks -> lines, handed out as whole batches, pausing its source while too
// many wait) and the outbox (offers -> one write per microtask, held while the
// target waits for drain).
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import * as Lines from "../../src/layers/internal/stdioLines.ts"

const source = () => {
  const calls: Array<"pause" | "resume"> = []
  return {
    calls,
    options: (highWaterMark = 4): Lines.InboxOptions => ({
      highWaterMark,
      pause: () => calls.push("pause"),
      resume: () => calls.push("resume")
    })
  }
}

/** The exit of a pull that must be decided without waiting. */
const pullNow = <E>(inbox: Lines.Inbox<E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(inbox.pull)
    yield* Effect.yieldNow
    const exit = fiber.pollUnsafe()
    if (exit === undefined) {
      yield* Fiber.interrupt(fiber)
      return undefined
    }
    return exit
  })

const microtask = () => new Promise<void>((resolve) => queueMicrotask(resolve))

describe("stdio inbox", () => {
  it.effect("every complete line waiting is one batch; the unterminated rest waits for its end", () =>
    Effect.gen(function*() {
      const inbox = Lines.makeInbox<string>(source().options(100))
      inbox.push(`{"a":1}\n{"b":2}\n{"c"`)
      inbox.push(new TextEncoder().encode(`:3}\n{"d":4}\n{"e"`))
      assert.deepStrictEqual(yield* inbox.pull, [`{"a":1}`, `{"b":2}`, `{"c":3}`, `{"d":4}`])
      assert.isUndefined(yield* pullNow(inbox))
      inbox.end()
      assert.deepStrictEqual(yield* inbox.pull, [`{"e"`])
    }))

  it.effect("a waiting reader is resumed by the push itself, with everything that chunk completed", () =>
    Effect.gen(function*() {
      const inbox = Lines.makeInbox<string>(source().options(100))
      const reader = yield* Effect.forkChild(inbox.pull)
      yield* Effect.yieldNow
      inbox.push("x\ny\nz")
      // no scheduler turn in between: the reader has its batch when push returns
      assert.deepStrictEqual(reader.pollUnsafe(), Exit.succeed(["x", "y"]))
    }))

  it.effect("line ends: \\n, \\r\\n (also split over two chunks), a lone \\r, empty lines; UTF-8 split inside a character", () =>
    Effect.gen(function*() {
      const inbox = Lines.makeInbox<string>(source().options(100))
      const e = new TextEncoder().encode("é")
      inbox.push("a\r\nb\rc\r")
      inbox.push("\nd\n\ne")
      inbox.push(new Uint8Array([e[0]!]))
      inbox.push(new Uint8Array([e[1]!, 10]))
      inbox.push("\r")
      inbox.push("f\n")
      assert.deepStrictEqual(yield* inbox.pull, ["a", "b", "c", "d", "", "eé", "", "f"])
    }))

  it.effect("a long line in many chunks is whole, and only the new text of each chunk is searched", () =>
    Effect.gen(function*() {
      const inbox = Lines.makeInbox<string>(source().options(100))
      const piece = "x".repeat(64 * 1024)
      for (let i = 0; i < 256; i++) inbox.push(piece)
      inbox.push("\n")
      const [line] = yield* inbox.pull
      assert.strictEqual(line.length, 256 * piece.length)
    }))

  it.effect("the source is paused while highWaterMark lines wait, and resumed when they are taken", () =>
    Effect.gen(function*() {
      const { calls, options } = source()
      const inbox = Lines.makeInbox<string>(options(4))
      inbox.push("1\n2\n3\n")
      assert.deepStrictEqual(calls, [])
      inbox.push("4\n5\n")
      assert.deepStrictEqual(calls, ["pause"])
      // a source that still delivers what it had in hand is not paused twice
      inbox.push("6\n")
      assert.deepStrictEqual(calls, ["pause"])
      assert.deepStrictEqual(yield* inbox.pull, ["1", "2", "3", "4", "5", "6"])
      assert.deepStrictEqual(calls, ["pause", "resume"])
    }))

  it.effect("fail: the lines before the failure first, then the error; later lines are dropped", () =>
    Effect.gen(function*() {
      const inbox = Lines.makeInbox<string>(source().options(100))
      inbox.push("last\n")
      inbox.fail("exited")
      inbox.push("after\n")
      assert.deepStrictEqual(yield* inbox.pull, ["last"])
      assert.deepStrictEqual(yield* Effect.flip(inbox.pull), "exited")
      // a reader already waiting is told at once
      const waiting = Lines.makeInbox<string>(source().options(100))
      const reader = yield* Effect.forkChild(Effect.flip(waiting.pull))
      yield* Effect.yieldNow
      waiting.fail("exited")
      assert.deepStrictEqual(reader.pollUnsafe(), Exit.succeed("exited"))
    }))

  it.effect("shutdown: a paused source reads again, what it reads is dropped, a waiting reader is interrupted", () =>
    Effect.gen(function*() {
      const { calls, options } = source()
      const inbox = Lines.makeInbox<string>(options(2))
      inbox.push("1\n2\n3\n")
      inbox.shutdown()
      assert.deepStrictEqual(calls, ["pause", "resume"])
      inbox.push(`${"4\n".repeat(100)}`)
      assert.deepStrictEqual(calls, ["pause", "resume"])
      const exit = yield* pullNow(inbox)
      assert.isTrue(exit !== undefined && Exit.hasInterrupts(exit))
      const waiting = Lines.makeInbox<string>(options(2))
      const reader = yield* Effect.forkChild(waiting.pull)
      yield* Effect.yieldNow
      waiting.shutdown()
      const read = reader.pollUnsafe()
      assert.isTrue(read !== undefined && Exit.hasInterrupts(read))
    }))

  it.effect("an interrupted reader leaves no waiter behind: the next reader gets the lines", () =>
    Effect.gen(function*() {
      const inbox = Lines.makeInbox<string>(source().options(100))
      const first = yield* Effect.forkChild(inbox.pull)
      yield* Effect.yieldNow
      yield* Fiber.interrupt(first)
      inbox.push("a\n")
      assert.deepStrictEqual(yield* inbox.pull, ["a"])
    }))
})

describe("stdio outbox", () => {
  const target = (accepts: (written: number) => boolean = () => true) => {
    const writes: Array<string> = []
    const ends: Array<string | undefined> = []
    let drain: (() => void) | undefined
    const t: Lines.OutboxTarget = {
      write: (text) => {
        writes.push(text)
        return accepts(writes.length)
      },
      onDrain: (callback) => {
        drain = callback
      },
      end: (text) => void ends.push(text)
    }
    return { t, writes, ends, drain: () => drain?.() }
  }

  it.effect("the offers of one synchronous burst go out as one write, on a microtask", () =>
    Effect.promise(async () => {
      const { t, writes } = target()
      const outbox = Lines.makeOutbox(t)
      assert.isTrue(outbox.offer(`{"id":1}`))
      assert.isTrue(outbox.offer(`{"id":2}`))
      assert.deepStrictEqual(writes, [])
      await microtask()
      assert.deepStrictEqual(writes, [`{"id":1}\n{"id":2}\n`])
      outbox.offer(`{"id":3}`)
      await microtask()
      assert.deepStrictEqual(writes, [`{"id":1}\n{"id":2}\n`, `{"id":3}\n`])
    }))

  it.effect("a target that wants no more: offers are held until drain, then written in one go", () =>
    Effect.promise(async () => {
      const { drain, t, writes } = target((n) => n !== 1)
      const outbox = Lines.makeOutbox(t)
      outbox.offer("a")
      await microtask()
      assert.deepStrictEqual(writes, ["a\n"])
      for (const m of ["b", "c", "d"]) {
        outbox.offer(m)
        await microtask()
      }
      assert.deepStrictEqual(writes, ["a\n"])
      drain()
      assert.deepStrictEqual(writes, ["a\n", "b\nc\nd\n"])
      outbox.offer("e")
      await microtask()
      assert.deepStrictEqual(writes, ["a\n", "b\nc\nd\n", "e\n"])
    }))

  it.effect("close writes what is held (blocked or not) with the end, and later offers are refused", () =>
    Effect.promise(async () => {
      const { ends, t, writes } = target(() => false)
      const outbox = Lines.makeOutbox(t)
      outbox.offer("a")
      await microtask()
      outbox.offer("b")
      outbox.offer("c")
      outbox.close()
      assert.deepStrictEqual(writes, ["a\n"])
      assert.deepStrictEqual(ends, ["b\nc\n"])
      assert.isFalse(outbox.offer("d"))
      await microtask()
      assert.deepStrictEqual(writes, ["a\n"])
      outbox.close()
      assert.deepStrictEqual(ends, ["b\nc\n"])
      const empty = target()
      Lines.makeOutbox(empty.t).close()
      assert.deepStrictEqual(empty.ends, [undefined])
    }))
})
