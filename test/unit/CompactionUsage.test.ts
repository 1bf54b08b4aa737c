/**
 * The tokens a compaction used, from its turn's token updates (src/services/internal/telemetry.ts
 * `compactionTokensOf`): the recorded session's compaction (test/fixtures/transcripts), and the shapes the
 * real codex 0.171 sends (seen in test/real/Observability.test.ts): the thread's totals restated
 * before the compaction's request, its estimate of the compacted context after it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import type * as Protocol from "../../src/schema/generated/Protocol.gen.ts"
import { compactionTokensOf } from "../../src/services/internal/telemetry.ts"
import type * as TurnEvent from "../../src/streams/TurnEvent.ts"

const breakdown = (input: number, output: number, cached = 0): Protocol.TokenUsageBreakdown => ({
  totalTokens: input + output,
  inputTokens: input,
  cachedInputTokens: cached,
  cacheWriteInputTokens: 0,
  outputTokens: output,
  reasoningOutputTokens: 0
})

/** One `thread/tokenUsage/updated`: the thread's totals and the last request's (or codex's estimate). */
const update = (total: Protocol.TokenUsageBreakdown, last: Protocol.TokenUsageBreakdown): TurnEvent.TurnEvent =>
  ({
    _tag: "TokenUsageUpdated",
    threadId: "t",
    turnId: "c",
    tokenUsage: { total, last, modelContextWindow: 121600 }
  }) as TurnEvent.TurnEvent

// codex's estimate of the compacted context: a `last` with no input, the totals unchanged
const estimate = (total: Protocol.TokenUsageBreakdown) => update(total, { ...breakdown(0, 0), totalTokens: 1764 })

describe("compactionTokensOf", () => {
  it("the recorded compaction (e-threads-lifecycle): the restated totals, its request, the estimate", () => {
    const lines = fs.readFileSync(new URL("../fixtures/transcripts/e-threads-lifecycle.jsonl", import.meta.url), "utf8")
      .split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line))
    const compactAt = lines.findIndex((line) => line.msg?.method === "thread/compact/start")
    const turnId = lines.slice(compactAt).find((line) => line.msg?.method === "turn/started").msg.params.turn.id
    const events = lines
      .filter((line) => line.dir === "s2c" && line.msg?.method === "thread/tokenUsage/updated" && line.msg.params.turnId === turnId)
      .map((line) => ({ _tag: "TokenUsageUpdated", ...line.msg.params }) as TurnEvent.TurnEvent)
    assert.lengthOf(events, 3)
    assert.deepStrictEqual(compactionTokensOf(events, true), { input: 100, cached: 10, output: 20, reasoning: 0, total: 120 })
  })

  it("after a turn of one request: the restated totals equal their last, and are still not the compaction's", () => {
    const turn = breakdown(1200, 30)
    const after = breakdown(1900, 55)
    const events = [update(turn, turn), update(after, breakdown(700, 25)), estimate(after)]
    assert.deepStrictEqual(compactionTokensOf(events, true), { input: 700, cached: 0, output: 25, reasoning: 0, total: 725 })
  })

  it("a thread without usage: nothing restated, the first update is the request's", () => {
    const first = breakdown(300, 10)
    assert.deepStrictEqual(compactionTokensOf([update(first, first), estimate(first)], true), {
      input: 300,
      cached: 0,
      output: 10,
      reasoning: 0,
      total: 310
    })
  })

  it("after a compaction: the restated last is the estimate, the request's update follows", () => {
    const before = breakdown(300, 10)
    const after = breakdown(700, 21)
    const restated = update(before, { ...breakdown(0, 0), totalTokens: 1760 })
    assert.deepStrictEqual(compactionTokensOf([restated, update(after, breakdown(400, 11)), estimate(after)], true), {
      input: 400,
      cached: 0,
      output: 11,
      reasoning: 0,
      total: 411
    })
  })

  it("a compaction that failed before its request was answered used none; a restatement alone is none", () => {
    assert.isUndefined(compactionTokensOf([], false))
    const turn = breakdown(1200, 30)
    assert.isUndefined(compactionTokensOf([update(turn, turn)], false))
  })

  it("a completed compaction's only update is its request's", () => {
    assert.deepStrictEqual(compactionTokensOf([update(breakdown(200, 40, 20), breakdown(100, 20, 10))], true), {
      input: 100,
      cached: 10,
      output: 20,
      reasoning: 0,
      total: 120
    })
  })
})
