/**
 * The nightly review's workflow (examples/scheduled-review.ts) in a process of
 * its own, for test/real/WorkflowNightly.test.ts: the example's workflow, its
 * engine (PostgreSQL from DATABASE_URL) and its `tonight` program, on the
 * codex binary under test and the test's LocalModel (`WORKFLOW_CODEX_HOME`,
 * `WORKFLOW_CODEX_CONFIG`: the model lives in the test process, so it sees
 * every request of every run and can hold one in flight).
 *
 *   node --import ./scripts/source-hooks.ts test/real/WorkflowNightly.child.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { FetchHttpClient } from "effect/http"
import { engine, NightlyReviewLive, tonight } from "../../examples/scheduled-review.ts"
import * as AppServer from "../../src/layers/AppServer.ts"
import * as Codex from "../../src/services/Codex.ts"
import { codexPath } from "../support/CodexBinary.ts"

const codexHome = process.env.WORKFLOW_CODEX_HOME!
const config = JSON.parse(process.env.WORKFLOW_CODEX_CONFIG!) as Record<string, unknown>

tonight.pipe(
  Effect.provide(NightlyReviewLive),
  Effect.provide(engine),
  Effect.provide(Codex.layer),
  Effect.provide(AppServer.layer({ codexPath, codexHome, config })),
  Effect.provide([NodeServices.layer, FetchHttpClient.layer]),
  NodeRuntime.runMain
)
