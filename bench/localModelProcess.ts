/**
 * A `LocalModel` in a process of its own, for sections that measure the client's CPU: the model
 * server's own work (HTTP, SSE frames) then does not land on the client's clock.
 *
 * Prints one JSON line on stdout, `{ codexHome, config }` (`LocalModel.appServerOptions`), then
 * serves until its stdin ends. Every request is answered at once with "ok", unless the user's
 * text contains `[stream]`: then with 20 word deltas, 5 ms apart (about 100 ms of model time).
 *
 * Run by bench/pool.ts as `node bench/localModelProcess.ts`.
 */
import { Effect } from "effect"
import * as LocalModel from "../src/layers/testing/LocalModel.ts"

const USAGE: LocalModel.Usage = { input: 100, output: 1 }
const STREAMED = Array.from({ length: 20 }, (_, i) => `word${i} `).join("")

const answer = (request: LocalModel.RecordedRequest): LocalModel.Step =>
  (LocalModel.lastUserText(request) ?? "").includes("[stream]")
    ? LocalModel.slow(LocalModel.text(STREAMED, { deltas: 20, usage: USAGE }), { chunkDelay: "5 millis" })
    : LocalModel.text("ok", { usage: USAGE })

const program = Effect.gen(function*() {
  const model = yield* LocalModel.make([], {
    fallback: answer,
    config: { features: { shell_snapshot: false }, analytics: { enabled: false } }
  })
  process.stdout.write(JSON.stringify({ codexHome: model.codexHome, config: model.appServerOptions.config }) + "\n")
  yield* Effect.callback<void>((resume) => {
    process.stdin.on("end", () => resume(Effect.void))
    process.stdin.resume()
  })
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
