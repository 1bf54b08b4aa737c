/**
 * The guide's nightly job, on `effect-codex/promise`: every night at 02:00 a
 * thread reviews the open pull requests and returns a structured summary
 * (`outputSchema`), posted to a webhook when `REVIEW_WEBHOOK_URL` is set.
 * `--now` runs the review once, now, and exits. Only the import differs from
 * the `@openai/codex-sdk` program.
 *
 *   node --import ./scripts/source-hooks.ts examples/promise/cron.ts --now
 */
import { Codex } from "effect-codex/promise"

const reviewSchema = {
  type: "object",
  properties: {
    summary: { type: "string" },
    pullRequests: {
      type: "array",
      items: {
        type: "object",
        properties: { title: { type: "string" }, risk: { type: "string", enum: ["low", "medium", "high"] } },
        required: ["title", "risk"],
        additionalProperties: false
      }
    }
  },
  required: ["summary", "pullRequests"],
  additionalProperties: false
} as const

async function nightlyReview() {
  const codex = new Codex()
  const thread = codex.startThread({ sandboxMode: "read-only", skipGitRepoCheck: true })
  const result = await thread.run("Review all open pull requests and summarize each one with its risk", {
    outputSchema: reviewSchema
  })
  const review = JSON.parse(result.finalResponse) as {
    summary: string
    pullRequests: Array<{ title: string; risk: string }>
  }
  console.log(`review: ${review.summary}`)
  for (const pr of review.pullRequests) console.log(`- [${pr.risk}] ${pr.title}`)
  const webhook = process.env.REVIEW_WEBHOOK_URL
  if (webhook !== undefined) {
    await fetch(webhook, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(review) })
    console.log("posted")
  }
}

/** Milliseconds until the next `hour`:00, local time. */
const untilNext = (hour: number) => {
  const next = new Date()
  next.setHours(hour, 0, 0, 0)
  if (next.getTime() <= Date.now()) next.setDate(next.getDate() + 1)
  return next.getTime() - Date.now()
}

if (process.argv.includes("--now")) {
  await nightlyReview()
} else {
  const schedule = () =>
    setTimeout(() => {
      nightlyReview().catch((error) => console.error("review failed:", error)).finally(schedule)
    }, untilNext(2))
  schedule()
  console.log("next review at 02:00")
}
