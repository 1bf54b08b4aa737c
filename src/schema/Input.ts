/**
 * What a user sends in a turn: text, images, skills and mentions.
 *
 * ```ts
 * import { Input } from "effect-codex"
 *
 * const input = [Input.text("What is in this screenshot?"), Input.localImage("/tmp/shot.png")]
 * ```
 *
 * @stability unstable
 * @since 0.1.0
 */
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
 * An image by URL (`https://...` or a `data:` URL).
 *
 * @category constructors
 * @since 0.1.0
 */
export const image = (url: string): Item => ({ type: "image", url })

/**
 * An image file on the machine running codex.
 *
 * @category constructors
 * @since 0.1.0
 */
export const localImage = (path: string): Item => ({ type: "localImage", path })

/**
 * A skill to use, by name and path of its `SKILL.md`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const skill = (name: string, path: string): Item => ({ type: "skill", name, path })

/**
 * A mention of a file or resource, by display name and path.
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
