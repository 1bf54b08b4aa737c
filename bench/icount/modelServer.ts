/**
 * A `LocalModel` in its own process, for the instruction-count turn workload: the model's SSE
 * serving then runs natively beside the traced client (callgrind does not trace children), so
 * the count is the client's alone. Every model request is answered with one assistant message
 * of `output_text.delta` chunks: the k-th request gets the k-th count of the command line
 * (the last count again for any further request).
 *
 * Usage: node bench/icount/modelServer.ts <deltas> [<deltas> ...]
 * Prints one JSON line `{ codexHome, config }` (the `AppServer.layer` options that point codex at
 * it) and serves until stdin closes.
 */
import { Effect } from "effect"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"

const counts = process.argv.slice(2).map(Number)
const message = (n: number) => {
  const chunks = Array.from({ length: n }, (_, i) => `t${i} `)
  return LocalModel.text(chunks.join(""), { deltas: chunks, usage: { input: 100, output: 1 } })
}

const main = Effect.gen(function*() {
  const model = yield* LocalModel.make(
    [...counts, ...Array.from({ length: 4 }, () => counts.at(-1)!)].map(message),
    { config: { features: { shell_snapshot: false }, analytics: { enabled: false } } }
  )
  process.stdout.write(JSON.stringify({ codexHome: model.codexHome, config: model.appServerOptions.config }) + "\n")
  yield* Effect.callback<void>((resume) => {
    process.stdin.on("end", () => resume(Effect.void)).resume()
  })
})

Effect.runPromise(Effect.scoped(main)).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
