/**
 * `Input.imageFile`: reads the file here, tells its type by its magic bytes, fails with InvalidOptions
 * on a file it cannot read or that is not an image.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as Input from "../../src/schema/Input.ts"
import { reasonOf } from "../support/Errors.ts"
import { tempDir } from "../support/Home.ts"

const GIF = Uint8Array.from([..."GIF89a"].map((c) => c.charCodeAt(0)).concat([1, 0, 1, 0, 0, 0, 0]))

describe("Input.imageFile", () => {
  it.effect("a GIF named .png is sent as image/gif: the bytes decide, not the name", () =>
    Effect.gen(function*() {
      const file = NodePath.join(yield* tempDir(), "misnamed.png")
      NodeFs.writeFileSync(file, GIF)
      assert.deepStrictEqual(yield* Input.imageFile(file), Input.imageBytes(GIF, "image/gif"))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a file that is not an image, and one that does not exist, are InvalidOptions naming it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const text = NodePath.join(dir, "notes.png")
      NodeFs.writeFileSync(text, "not an image")
      const notImage = yield* reasonOf(Input.imageFile(text))
      assert.strictEqual(notImage._tag, "InvalidOptions")
      assert.include(notImage.message, `${text} is not a PNG, JPEG, GIF or WebP image`)
      const missing = NodePath.join(dir, "missing.png")
      const unreadable = yield* reasonOf(Input.imageFile(missing))
      assert.strictEqual(unreadable._tag, "InvalidOptions")
      assert.include(unreadable.message, `cannot read ${missing}`)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
