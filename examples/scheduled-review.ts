/**
 * A nightly review of every open pull request, as a durable workflow
 * (`effect/workflow` with `effect-codex/workflow`): every night at 02:00
 * (`Schedule.cron("0 2 * * *")`) the `NightlyReview` workflow reviews each
 * open PR on a thread of its own (one turn activity per PR, with a structured
 * verdict: an Effect Schema as `outputSchema`), then posts one summary to a
 * webhook (an activity of its own, so it is posted once).
 *
 * - `DATABASE_URL`: a PostgreSQL URL. With it, the workflow is durable: a
 *   run killed mid-way (`kill -9`, a reboot) is resumed by the next run of
 *   the same night: reviewed PRs are not reviewed again, the PR that was in
 *   flight is (see docs/workflow.md), the summary is posted once. Without it,
 *   an in-memory engine: not durable (a crash loses the run).
 * - `CODEX_HOME`: where codex keeps the threads (default `~/.codex`); a
 *   resumed run resumes its threads from there.
 * - `REVIEW_WEBHOOK_URL`: where to POST the summary (without it, printed).
 * - `REVIEW_REPO`: the repository (default: the current directory).
 * - `REVIEW_NIGHT`: the night to run or resume (default: today, UTC).
 * - `--now`: run tonight's review now and exit, instead of waiting for 02:00.
 *
 * The open PRs are a fixture below; a real job lists them from its forge.
 *
 *   DATABASE_URL=postgres://127.0.0.1/reviews REVIEW_WEBHOOK_URL=http://127.0.0.1:9000/hook \
 *     node --import ./scripts/source-hooks.ts examples/scheduled-review.ts --now
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Config, Console, Cron, Effect, Layer, Option, Schedule, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { Activity, Workflow } from "effect/workflow"
import { Codex, CodexError } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import { CodexWorkflow } from "effect-codex/workflow"
import * as Backend from "./internal/backend.ts"

// -----------------------------------------------------------------------------
// The open pull requests (a fixture; a real job asks its forge)
// -----------------------------------------------------------------------------

/** An open pull request. */
export interface PullRequest {
  readonly number: number
  readonly title: string
  readonly author: string
  readonly diff: string
}

/** The open pull requests the nightly review goes through. */
export const openPullRequests: ReadonlyArray<PullRequest> = [
  { number: 101, title: "Retry the upload on 503", author: "ada", diff: "+  retry: Schedule.exponential(\"1 second\")" },
  { number: 102, title: "Rename `cfg` to `config`", author: "lin", diff: "-const cfg = load()\n+const config = load()" },
  { number: 103, title: "Cache the TOML encoder", author: "sam", diff: "+const cache = new Map<string, string>()" },
  { number: 104, title: "Docs: the new flag", author: "kim", diff: "+- `--dry-run`: print what would change" }
]

// -----------------------------------------------------------------------------
// The workflow
// -----------------------------------------------------------------------------

const Review = Schema.Struct({
  summary: Schema.String,
  risk: Schema.Literals(["low", "medium", "high"]),
  findings: Schema.Array(Schema.Struct({ file: Schema.String, note: Schema.String }))
})

const Summary = Schema.Struct({
  repo: Schema.String,
  night: Schema.String,
  reviewedAt: Schema.String,
  risk: Schema.Literals(["low", "medium", "high"]),
  findings: Schema.Array(Schema.Struct({ pr: Schema.Number, file: Schema.String, note: Schema.String })),
  reviews: Schema.Array(Schema.Struct({
    pr: Schema.Number,
    title: Schema.String,
    risk: Schema.Literals(["low", "medium", "high"]),
    summary: Schema.String,
    recovery: CodexWorkflow.Recovery
  }))
})

/** The webhook did not take the summary. */
export class PostFailed extends Schema.TaggedError<PostFailed>()("PostFailed", { message: Schema.String }) {}

/** One night's review of a repository: its execution id is the repository and the night. */
export const NightlyReview = Workflow.make("NightlyReview", {
  payload: { repo: Schema.String, night: Schema.String },
  success: Summary,
  error: Schema.Union([CodexError.CodexError, PostFailed]),
  idempotencyKey: ({ night, repo }) => `${repo}@${night}`
})

const prompt = (pr: PullRequest) =>
  `Review pull request #${pr.number} “${pr.title}” by ${pr.author}. Inspect the code if needed.\n\n\`\`\`diff\n${pr.diff}\n\`\`\``

const ranks = { low: 0, medium: 1, high: 2 } as const

/** The workflow's body: runs again from the top on every replay; finished activities return their results. */
export const NightlyReviewLive = NightlyReview.toLayer(({ night, repo }) =>
  Effect.gen(function*() {
    const reviews = yield* Effect.forEach(openPullRequests, (pr) =>
      Effect.gen(function*() {
        // One thread per PR, started once per night; one turn activity per PR.
        const thread = yield* CodexWorkflow.thread(`pr-${pr.number}`, {
          cwd: repo,
          sandbox: "read-only",
          approvalPolicy: "never"
        })
        const review = yield* CodexWorkflow.turn(thread, `review-pr-${pr.number}`, prompt(pr), {
          outputSchema: Review,
          retry: Schedule.max([Schedule.exponential("2 seconds"), Schedule.recurs(2)])
        })
        // The body runs again on a replay: this line then shows the stored review.
        const after = review.recovery === "ranAgain"
          ? " (ran again: it was in flight when an earlier run died)"
          : review.recovery === "fromHistory"
          ? " (read from the thread: it completed as an earlier run died)"
          : ""
        yield* Console.log(`PR #${pr.number}: risk ${review.output.risk}${after}`)
        return { pr, review: review.output, recovery: review.recovery }
      }))

    // Posted once: a replay after the post returns the stored summary.
    const summary = yield* Activity.make({
      name: "post-summary",
      success: Summary,
      error: PostFailed,
      execute: Effect.gen(function*() {
        const summary: typeof Summary.Type = {
          repo,
          night,
          reviewedAt: new Date().toISOString(),
          risk: reviews.reduce<"low" | "medium" | "high">(
            (max, r) => ranks[r.review.risk] > ranks[max] ? r.review.risk : max,
            "low"
          ),
          findings: reviews.flatMap((r) => r.review.findings.map((f) => ({ pr: r.pr.number, ...f }))),
          reviews: reviews.map((r) => ({
            pr: r.pr.number,
            title: r.pr.title,
            risk: r.review.risk,
            summary: r.review.summary,
            recovery: r.recovery
          }))
        }
        const webhook = yield* Config.String("REVIEW_WEBHOOK_URL").pipe(Config.option, Effect.orDie)
        if (Option.isNone(webhook)) {
          yield* Console.log(`summary (no REVIEW_WEBHOOK_URL):\n${JSON.stringify(summary, null, 2)}`)
          return summary
        }
        // A crash after the POST and before its result is stored posts again:
        // the key (the same in every run) lets the receiver drop the repeat.
        const key = yield* Activity.idempotencyKey("post-summary")
        const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
        const response = yield* HttpClientRequest.post(webhook.value).pipe(
          HttpClientRequest.setHeader("idempotency-key", key),
          HttpClientRequest.bodyJsonUnsafe(summary),
          client.execute,
          Effect.mapError((error) => new PostFailed({ message: error.message }))
        )
        yield* Console.log(`posted the review to ${webhook.value}: HTTP ${response.status}`)
        return summary
      })
    })
    return summary
  })
)

// -----------------------------------------------------------------------------
// The engine: PostgreSQL when DATABASE_URL is set, else in memory
// -----------------------------------------------------------------------------

/** The workflow engine: durable on PostgreSQL with `DATABASE_URL`, else in memory (not durable). */
export const engine = Layer.unwrap(Effect.gen(function*() {
  const url = yield* Config.Redacted("DATABASE_URL").pipe(Config.option)
  if (Option.isNone(url)) {
    yield* Console.log(
      "[workflow] no DATABASE_URL: in-memory workflow engine, NOT durable (a crash loses the run; the next one starts over)"
    )
    return CodexWorkflow.layerMemory
  }
  yield* Console.log("[workflow] PostgreSQL (DATABASE_URL): durable; a run killed mid-way is resumed by the next one")
  return CodexWorkflow.layerSql().pipe(Layer.provide(PgClient.layer({ url: url.value })))
}))

/** Tonight's review (or `REVIEW_NIGHT`'s) of `REVIEW_REPO`. */
export const tonight = Effect.gen(function*() {
  const repo = yield* Config.String("REVIEW_REPO").pipe(Config.withDefault(process.cwd()))
  const night = yield* Config.String("REVIEW_NIGHT").pipe(Config.withDefault(new Date().toISOString().slice(0, 10)))
  yield* Console.log(`nightly review of ${repo} for ${night}: ${openPullRequests.length} open pull request(s)`)
  const summary = yield* NightlyReview.execute({ repo, night })
  yield* Console.log(
    `review: risk ${summary.risk}, ${summary.findings.length} finding(s) across ${summary.reviews.length} pull request(s)`
  )
  return summary
})

const NIGHTLY = "0 2 * * *" // every day at 02:00, local time

const program = Effect.gen(function*() {
  if (process.argv.includes("--now")) return yield* tonight
  yield* Console.log(`next review at ${Cron.next(Cron.parseUnsafe(NIGHTLY)).toString()}`)
  yield* Effect.schedule(
    // A failed night is reported; the next one still runs.
    tonight.pipe(Effect.catchCause((cause) => Effect.logError("the review failed", cause))),
    Schedule.cron(NIGHTLY) // waits for each 02:00, then runs the review
  )
})

// Without an API key: what the LocalModel answers for each PR (the PR number is in the prompt).
const answers: Record<string, typeof Review.Type> = {
  101: { summary: "Adds a bounded retry.", risk: "low", findings: [] },
  102: { summary: "A rename, nothing else.", risk: "low", findings: [] },
  103: {
    summary: "An unbounded cache.",
    risk: "low",
    findings: [{ file: "src/toml.ts", note: "The cache never evicts: bound it." }]
  },
  104: { summary: "Documentation only.", risk: "low", findings: [] }
}

/** The LocalModel's answer to a review prompt. */
export const localAnswer: LocalModel.Step = (request) => {
  const pr = /pull request #(\d+)/.exec(LocalModel.lastUserText(request) ?? "")?.[1] ?? ""
  return LocalModel.json(answers[pr] ?? { summary: "Nothing to review.", risk: "low", findings: [] })
}

// A resumed run finds its threads in CODEX_HOME, on the LocalModel too (its own home is temporary).
const backend = Layer.unwrap(Effect.gen(function*() {
  const home = yield* Config.String("CODEX_HOME").pipe(Config.option)
  return Backend.layerBackend([], {
    local: { fallback: localAnswer },
    ...(Option.isSome(home) ? { appServer: { codexHome: home.value } } : {})
  })
}))

if (import.meta.main) {
  program.pipe(
    Effect.provide(NightlyReviewLive),
    Effect.provide(engine),
    // One app-server for the run, ended with it.
    Effect.provide(Codex.layer),
    Effect.provide(Backend.appServer),
    Effect.provide(backend),
    Effect.provide([NodeServices.layer, FetchHttpClient.layer]),
    NodeRuntime.runMain
  )
}
