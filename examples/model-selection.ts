/**
 * Choosing a model: list what this codex offers with `Codex.models()` (the
 * protocol's `ModelListResponse`), pick one by its capabilities, and start a
 * thread on it with its strongest reasoning effort.
 *
 *   node --import ./scripts/source-hooks.ts examples/model-selection.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Codex } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const EFFORTS = ["minimal", "low", "medium", "high", "xhigh"]
const rank = (effort: string) => EFFORTS.indexOf(effort)

const program = Effect.gen(function*() {
  const { data } = yield* Codex.models({ limit: 50 })
  const models = data.filter((model) => !model.hidden)
  for (const model of models) {
    const efforts = model.supportedReasoningEfforts.map((option) => option.reasoningEffort)
    const mark = model.isDefault ? "*" : " "
    yield* Console.log(`${mark} ${model.model} (${model.displayName}): efforts ${efforts.join("/")}`)
  }

  // Prefer a model that takes images and reasons at "high"; else the default one.
  const chosen = models.find((model) =>
    model.inputModalities?.includes("image") &&
    model.supportedReasoningEfforts.some((option) => option.reasoningEffort === "high")
  ) ?? models.find((model) => model.isDefault) ?? models[0]
  if (chosen === undefined) return yield* Console.log("no model available")

  const effort = chosen.supportedReasoningEfforts
    .map((option) => option.reasoningEffort)
    .reduce((best, next) => (rank(next) > rank(best) ? next : best), chosen.defaultReasoningEffort)
  yield* Console.log(`chosen: ${chosen.model}, effort ${effort}`)

  const thread = yield* Codex.startThread({ model: chosen.model })
  const result = yield* thread.run("Which model are you? One sentence.", { effort })
  yield* Console.log(`answer: ${result.finalResponse}`)
})

program.pipe(
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer([LocalModel.text("I am the local mock model, answering from 127.0.0.1.")])),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
