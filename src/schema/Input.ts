/**
 * What a user sends in a turn: text, images, skills and mentions.
 *
 * ```ts
 * import { Input } from "effect-codex"
 *
 * const input = [Input.text("What is in this screenshot?"), Input.localImage("/tmp/shot.png")]
 * ```
 *
 * What codex does with each (0.169 and 0.171): text and images reach the
 * model; an image must be inline (a `data:` URL, or a file codex reads), a
 * remote URL fails the turn's start; a skill adds its `SKILL.md` only when it
 * lies under codex's skill roots; a mention adds nothing to the model request.
 *
 * @stability unstable
 * @since 0.1.0
 */
import { Base64, Effect, FileSystem } from "./internal/effect.ts"
import * as CodexError from "./CodexError.ts"
import type * as Protocol from "./generated/Protocol.gen.ts"

/**
 * One input item of the protocol (`UserInput`).
 *
 * @category models
 * @since 0.1.0
 */
export type Item = Protocol.UserInput

/**
 * What `thread.run`, `thread.turn` and `turn.steer` accept: a string (text),
 * an item, or several of them.
 *
 * @category models
 * @since 0.1.0
 */
export type Input = string | Item | ReadonlyArray<string | Item>

/**
 * Text.
 *
 * @category constructors
 * @since 0.1.0
 */
export const text = (text: string): Item => ({ type: "text", text, text_elements: [] })

/**
 * An image by URL. codex takes only inline images: a `data:` URL
 * (`data:image/png;base64,...`). A remote URL (`https://...`) is refused when
 * the turn starts (RpcError "remote image URLs are not supported; use an
 * inline data URL instead"); fetch it yourself and use {@link imageBytes}.
 * {@link imageFile} and {@link localImage} take a file.
 *
 * @category constructors
 * @since 0.1.0
 */
export const image = (url: string): Item => ({ type: "image", url })

/**
 * An image from its bytes, sent inline as the `data:` URL codex accepts.
 *
 * ```ts
 * import { Input } from "effect-codex"
 *
 * declare const png: Uint8Array
 * const input = [Input.text("What is in this image?"), Input.imageBytes(png, "image/png")]
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const imageBytes = (bytes: Uint8Array, mimeType: string): Item =>
  image(`data:${mimeType};base64,${Base64.encode(bytes)}`)

/**
 * The MIME type of an image by its first bytes: PNG, JPEG, GIF or WebP (what
 * the model API takes), else `undefined`.
 *
 * @category utils
 * @since 0.1.0
 */
export const imageMimeType = (bytes: Uint8Array): "image/png" | "image/jpeg" | "image/gif" | "image/webp" | undefined => {
  const at = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) if (bytes[offset + i] !== text.charCodeAt(i)) return false
    return true
  }
  if (at(0, "\x89PNG\r\n\x1a\n")) return "image/png"
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg"
  if (at(0, "GIF87a") || at(0, "GIF89a")) return "image/gif"
  if (at(0, "RIFF") && at(8, "WEBP")) return "image/webp"
  return undefined
}

/**
 * An image file read here (by this program, not by codex), its type told by
 * its first bytes, sent inline as a `data:` URL. Fails with `InvalidOptions`
 * when the file cannot be read or is not a PNG, JPEG, GIF or WebP image.
 * Use {@link localImage} when codex runs on another machine that has the file.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Input } from "effect-codex"
 *
 * const input = Effect.map(Input.imageFile("screenshot.png"), (image) => [Input.text("What is wrong here?"), image])
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const imageFile = (path: string): Effect.Effect<Item, CodexError.CodexError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const bytes = yield* fs.readFile(path).pipe(
      Effect.mapError((error) =>
        CodexError.make(new CodexError.InvalidOptions({ description: `Input.imageFile: cannot read ${path}: ${error.message}` }))
      )
    )
    const mimeType = imageMimeType(bytes)
    if (mimeType === undefined) {
      return yield* Effect.fail(CodexError.make(
        new CodexError.InvalidOptions({ description: `Input.imageFile: ${path} is not a PNG, JPEG, GIF or WebP image` })
      ))
    }
    return imageBytes(bytes, mimeType)
  })

/**
 * An image file on the machine running codex: codex reads it when the turn
 * starts and sends it to the model inline.
 *
 * @category constructors
 * @since 0.1.0
 */
export const localImage = (path: string): Item => ({ type: "localImage", path })

/**
 * A skill to use, by name and path of its `SKILL.md`. codex adds the skill's
 * `SKILL.md` to the model request only when the path is one of the skills it
 * lists for the thread (`Codex.skills`: its system skills, `$CODEX_HOME/skills`,
 * the `.codex/skills` and `.agents/skills` of the thread's working
 * directory); any other path is dropped without an error. {@link skillFrom}
 * builds the input from a listed skill.
 *
 * @category constructors
 * @since 0.1.0
 */
export const skill = (name: string, path: string): Item => ({ type: "skill", name, path })

/**
 * The input for a skill as `Codex.skills` (`skills/list`) lists it.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Codex, Input } from "effect-codex"
 *
 * const program = Effect.gen(function*() {
 *   const { data } = yield* Codex.skills({ cwds: ["/work/repo"] })
 *   const review = data[0]?.skills.find((skill) => skill.name === "review-agent")
 *   const thread = yield* Codex.startThread({ cwd: "/work/repo" })
 *   return yield* thread.run(review === undefined ? "Review" : ["Review", Input.skillFrom(review)])
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const skillFrom = (skill: Pick<Protocol.SkillMetadata, "name" | "path">): Item => ({
  type: "skill",
  name: skill.name,
  path: skill.path
})

/**
 * A mention of a file or resource, by display name and path. codex records it
 * in the user message of the thread's history but adds nothing to the model
 * request (neither the path nor the file's content): to show the model a
 * file, name it in the text or let it read the file.
 *
 * @category constructors
 * @since 0.1.0
 */
export const mention = (name: string, path: string): Item => ({ type: "mention", name, path })

/**
 * The protocol's input items for an {@link Input}.
 *
 * @category conversions
 * @since 0.1.0
 */
export const toItems = (input: Input): ReadonlyArray<Item> => {
  if (typeof input === "string") return [text(input)]
  if (isArray(input)) return input.map((entry) => typeof entry === "string" ? text(entry) : entry)
  return [input]
}

const isArray = (input: Item | ReadonlyArray<string | Item>): input is ReadonlyArray<string | Item> =>
  Array.isArray(input)
