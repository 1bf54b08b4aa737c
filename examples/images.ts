/**
 * Images as input: `Input.image(url)` (an https or `data:` URL) and
 * `Input.localImage(path)` (a file on the machine running codex), mixed with
 * text in one turn.
 *
 * With the LocalModel, the example also checks what codex sent to the model:
 * both images arrive as `input_image` parts of the user's message.
 *
 *   node --import ./scripts/source-hooks.ts examples/images.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Codex, Input } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Backend from "./internal/backend.ts"

// Two 8x8 PNGs: a red square (sent by URL) and a blue one (sent as a file).
const RED = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP4z8CAFWEXHbQSACj/P8Fu7N9hAAAAAElFTkSuQmCC"
const BLUE = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEElEQVR4nGNgYPiPAw0pCQCpcD/BFMrqcwAAAABJRU5ErkJggg=="

// A temporary directory, removed when the program's scope closes.
const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "codex-images-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const program = Effect.gen(function*() {
  const file = Path.join(yield* tempDir, "blue.png")
  yield* Effect.sync(() => Fs.writeFileSync(file, Buffer.from(BLUE, "base64")))

  const thread = yield* Codex.startThread()
  const result = yield* thread.run([
    Input.text("What colors are these two images? Answer in one short sentence."),
    Input.image(`data:image/png;base64,${RED}`),
    Input.localImage(file)
  ])
  yield* Console.log(`answer: ${result.finalResponse}`)

  // LocalModel only: look at the user message the model received.
  const [request] = yield* Backend.recordedRequests
  const message = request?.body.input?.findLast((item) => item.type === "message" && item.role === "user")
  if (message !== undefined) {
    const parts = message.content as ReadonlyArray<{ readonly type: string; readonly image_url?: string }>
    const images = parts.filter((part) => part.type === "input_image")
    yield* Console.log(`the model received ${images.length} images: ${parts.map((part) => part.type).join(", ")}`)
    yield* Console.log(`the local file was sent inline: ${images.some((part) => part.image_url?.endsWith(BLUE))}`)
  }
})

program.pipe(
  Effect.scoped,
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer([LocalModel.text("The first one is red and the second one is blue.")])),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
