/**
 * Images as input. codex takes inline images only: `Input.imageBytes(bytes,
 * mimeType)` and `Input.imageFile(path)` (read here, its type told by its
 * bytes) make the `data:` URL it accepts, `Input.localImage(path)` names a
 * file codex reads itself; a remote `https://` URL is refused when the turn
 * starts.
 *
 * With the LocalModel, the example also checks what codex sent to the model:
 * the images arrive as `input_image` parts of the user's message.
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

// Two 8x8 PNGs: a red square (sent as bytes) and a blue one (sent as a file).
const RED = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP4z8CAFWEXHbQSACj/P8Fu7N9hAAAAAElFTkSuQmCC", "base64")
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
    Input.imageBytes(RED, "image/png"),
    yield* Input.imageFile(file)
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

  // A remote URL never reaches the model: codex refuses the turn.
  const remote = yield* thread.run(["And this one?", Input.image("https://example.com/cat.png")]).pipe(
    Effect.as("accepted"),
    Effect.catchReason("CodexError", "RpcError", (reason) => Effect.succeed(reason.message))
  )
  yield* Console.log(`a remote URL: ${remote}`)
})

program.pipe(
  Effect.scoped,
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer([LocalModel.text("The first one is red and the second one is blue.")])),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
