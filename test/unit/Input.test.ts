/**
 * Input constructors: images inline as the `data:` URL codex accepts (by bytes, with the type told by
 * magic bytes), skills from what `skills/list` returns.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Input from "../../src/schema/Input.ts"

const bytes = (...values: ReadonlyArray<number | string>) =>
  Uint8Array.from(values.flatMap((value) => typeof value === "string" ? [...value].map((c) => c.charCodeAt(0)) : [value]))

describe("Input", () => {
  it("imageMimeType: PNG, JPEG, GIF and WebP by their first bytes; anything else is undefined", () => {
    assert.strictEqual(Input.imageMimeType(bytes(0x89, "PNG\r\n", 0x1a, "\n", 0, 0)), "image/png")
    assert.strictEqual(Input.imageMimeType(bytes(0xff, 0xd8, 0xff, 0xe0)), "image/jpeg")
    assert.strictEqual(Input.imageMimeType(bytes("GIF89a", 1)), "image/gif")
    assert.strictEqual(Input.imageMimeType(bytes("GIF87a")), "image/gif")
    assert.strictEqual(Input.imageMimeType(bytes("RIFF", 1, 2, 3, 4, "WEBPVP8 ")), "image/webp")
    assert.isUndefined(Input.imageMimeType(bytes("RIFF", 1, 2, 3, 4, "WAVEfmt ")))
    assert.isUndefined(Input.imageMimeType(bytes("%PDF-1.7")))
    assert.isUndefined(Input.imageMimeType(bytes(0x89, "PN")))
    assert.isUndefined(Input.imageMimeType(new Uint8Array()))
  })

  it("imageBytes: an image item with a base64 data URL", () => {
    assert.deepStrictEqual(Input.imageBytes(bytes(1, 2, 255), "image/png"), { type: "image", url: "data:image/png;base64,AQL/" })
  })

  it("skillFrom: the skill item of a skills/list entry (name and path only)", () => {
    assert.deepStrictEqual(
      Input.skillFrom({
        name: "greeter",
        path: "/repo/.codex/skills/greeter/SKILL.md",
        description: "Greets",
        enabled: true,
        scope: "repo"
      } as Parameters<typeof Input.skillFrom>[0]),
      { type: "skill", name: "greeter", path: "/repo/.codex/skills/greeter/SKILL.md" }
    )
  })
})
