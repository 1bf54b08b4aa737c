// The data path of Transport.stdio without a process: the inbox (stdout
// chunks -> lines, handed out as whole batches, pausing its source while too
// many wait) and the outbox (offers -> one write per microtask, held while the
// target waits for drain).
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
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

describe("stdio inbox: consume", () => {
  /** A consumer recording every batch and the fiber it ran on; `reply` says what the handler returns. */
  const consumer = <E>(inbox: Lines.Inbox<E>, reply: (batch: ReadonlyArray<string>) => Effect.Effect<void> | undefined = () => undefined) =>
    Effect.gen(function*() {
      const batches: Array<ReadonlyArray<string>> = []
      const onFiber: Array<boolean> = []
      let self: Fiber.Fiber<never, E> | undefined
      const fiber = yield* Effect.forkChild(inbox.consume((batch) => {
        batches.push(batch)
        onFiber.push(self !== undefined && Fiber.getCurrent() === self)
        return reply(batch)
      }))
      self = fiber
      yield* Effect.yieldNow
      return { batches, onFiber, fiber }
    })

  it.effect("a waiting consumer's handler runs inside push, on the pusher's stack: its fiber is not resumed", () =>
    Effect.gen(function*() {
      const inbox = Lines.makeInbox<string>(source().options(100))
      const { batches, fiber, onFiber } = yield* consumer(inbox)
      inbox.push("a\nb\nc")
      // handled when push returns, and not on the consumer's fiber
      assert.deepStrictEqual(batches, [["a", "b"]])
      assert.deepStrictEqual(onFiber, [false])
      inbox.push("\nd\n")
      assert.deepStrictEqual(batches, [["a", "b"], ["c", "d"]])
      assert.isUndefined(fiber.pollUnsafe())
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("lines that waited before consume are handled on its fiber, resuming the paused source; then push hands over", () =>
    Effect.gen(function*() {
      const { calls, options } = source()
      const inbox = Lines.makeInbox<string>(options(2))
      inbox.push("1\n2\n3\n")
      assert.deepStrictEqual(calls, ["pause"])
      const { batches, fiber, onFiber } = yield* consumer(inbox)
      assert.deepStrictEqual(batches, [["1", "2", "3"]])
      assert.deepStrictEqual(onFiber, [true])
      assert.deepStrictEqual(calls, ["pause", "resume"])
      inbox.push("4\n")
      assert.deepStrictEqual(batches, [["1", "2", "3"], ["4"]])
      assert.deepStrictEqual(onFiber, [true, false])
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("an effect the handler returns runs before later lines are handed over; lines meanwhile wait and pause the source", () =>
    Effect.gen(function*() {
      const { calls, options } = source()
      const inbox = Lines.makeInbox<string>(options(2))
      const gate = yield* Deferred.make<void>()
      const ran: Array<string> = []
      const { batches, fiber, onFiber } = yield* consumer(inbox, (batch) =>
        batch[0] === "slow" ? Deferred.await(gate).pipe(Effect.andThen(Effect.sync(() => ran.push("slow done")))) : undefined)
      inbox.push("slow\n")
      inbox.push("x\ny\n")
      inbox.push("z\n")
      assert.deepStrictEqual(batches, [["slow"]])
      assert.deepStrictEqual(calls, ["pause"])
      yield* Deferred.succeed(gate, undefined)
      yield* Effect.yieldNow
      // the effect first, then what waited as one batch (on the fiber), and the source goes on
      assert.deepStrictEqual(ran, ["slow done"])
      assert.deepStrictEqual(batches, [["slow"], ["x", "y", "z"]])
      assert.deepStrictEqual(onFiber, [false, true])
      assert.deepStrictEqual(calls, ["pause", "resume"])
      inbox.push("w\n")
      assert.deepStrictEqual(batches, [["slow"], ["x", "y", "z"], ["w"]])
      assert.deepStrictEqual(onFiber, [false, true, false])
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("a handler that throws inside push: push returns normally, the consumer dies with that defect", () =>
    Effect.gen(function*() {
      const inbox = Lines.makeInbox<string>(source().options(100))
      const boom = new Error("boom")
      const { batches, fiber } = yield* consumer(inbox, (batch) => {
        if (batch.includes("bad")) throw boom
        return undefined
      })
      inbox.push("ok\nbad\n")
      inbox.push("later\n")
      assert.deepStrictEqual(batches, [["ok", "bad"]])
      const exit = fiber.pollUnsafe()
      assert.deepStrictEqual(exit, Exit.die(boom))
      // on the consumer's own fiber (lines that waited) it is a defect too
      const waited = Lines.makeInbox<string>(source().options(100))
      waited.push("bad\n")
      const second = yield* consumer(waited, () => {
        throw boom
      })
      assert.deepStrictEqual(second.fiber.pollUnsafe(), Exit.die(boom))
    }))

  it.effect("fail and shutdown while the consumer waits: it fails with the error / is interrupted, at once", () =>
    Effect.gen(function*() {
      const failing = Lines.makeInbox<string>(source().options(100))
      const first = yield* consumer(failing)
      failing.push("last\n")
      failing.fail("exited")
      assert.deepStrictEqual(first.batches, [["last"]])
      assert.deepStrictEqual(first.fiber.pollUnsafe(), Exit.fail("exited"))
      // lines before a failure are handled before it, also when nobody waited for them
      const late = Lines.makeInbox<string>(source().options(100))
      late.push("a\n")
      late.fail("exited")
      const second = yield* consumer(late)
      assert.deepStrictEqual(second.batches, [["a"]])
      assert.deepStrictEqual(second.fiber.pollUnsafe(), Exit.fail("exited"))
      const shut = Lines.makeInbox<string>(source().options(100))
      const third = yield* consumer(shut)
      shut.shutdown()
      const exit = third.fiber.pollUnsafe()
      assert.isTrue(exit !== undefined && Exit.hasInterrupts(exit))
      shut.push("dropped\n")
      assert.deepStrictEqual(third.batches, [])
    }))

  it.effect("shutdown while a batch is being handled: the batch's effect still runs, then the consumer is interrupted", () =>
    Effect.gen(function*() {
      const inbox = Lines.makeInbox<string>(source().options(100))
      const ran: Array<string> = []
      const { batches, fiber } = yield* consumer(inbox, (batch) => {
        if (batch[0] !== "stop") return undefined
        inbox.shutdown()
        // pushed from inside the handler, after the shutdown: dropped
        inbox.push("after\n")
        return Effect.sync(() => ran.push("effect of stop"))
      })
      inbox.push("stop\n")
      assert.deepStrictEqual(batches, [["stop"]])
      assert.deepStrictEqual(ran, ["effect of stop"])
      const exit = fiber.pollUnsafe()
      assert.isTrue(exit !== undefined && Exit.hasInterrupts(exit))
      // the same with no effect to run, and with fail instead of shutdown
      const quiet = Lines.makeInbox<string>(source().options(100))
      const second = yield* consumer(quiet, () => void quiet.shutdown())
      quiet.push("stop\n")
      const quietExit = second.fiber.pollUnsafe()
      assert.isTrue(quietExit !== undefined && Exit.hasInterrupts(quietExit))
      const failing = Lines.makeInbox<string>(source().options(100))
      const third = yield* consumer(failing, () => void failing.fail("exited"))
      failing.push("x\n")
      assert.deepStrictEqual(third.fiber.pollUnsafe(), Exit.fail("exited"))
    }))

  it.effect("lines pushed from inside the handler are handed over after its batch, in order, in the same push", () =>
    Effect.gen(function*() {
      const inbox = Lines.makeInbox<string>(source().options(100))
      const { batches, fiber } = yield* consumer(inbox, (batch) => {
        if (batch[0] === "1") inbox.push("3\n")
        return undefined
      })
      inbox.push("1\n2\n")
      assert.deepStrictEqual(batches, [["1", "2"], ["3"]])
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("an interrupted consumer gets nothing more, also when interrupted from inside its handler: the lines wait for the next reader", () =>
    Effect.gen(function*() {
      const inbox = Lines.makeInbox<string>(source().options(100))
      const first = yield* consumer(inbox)
      yield* Fiber.interrupt(first.fiber)
      inbox.push("a\n")
      assert.deepStrictEqual(first.batches, [])
      assert.deepStrictEqual(yield* inbox.pull, ["a"])
      let target: Fiber.Fiber<never, string> | undefined
      const second = yield* consumer(inbox, (batch) => {
        if (batch[0] === "b") {
          target!.interruptUnsafe()
          inbox.push("c\n")
        }
        return undefined
      })
      target = second.fiber
      inbox.push("b\n")
      assert.deepStrictEqual(second.batches, [["b"]])
      const exit = second.fiber.pollUnsafe()
      assert.isTrue(exit !== undefined && Exit.hasInterrupts(exit))
      assert.deepStrictEqual(yield* inbox.pull, ["c"])
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
