/**
 * Bounded, redacted lines from a child process's stderr, and the bounded tail
 * of them that a `ProcessExited` keeps.
 *
 * A child may write anything to stderr: a 200 MB line, or the API key it was
 * given. So lines are split from raw bytes by a splitter that holds at most a
 * fixed window of each line (the rest is only counted), every secret is
 * replaced by `<redacted>` in the completed line, and only then is the line
 * cut to {@link MAX_LINE_BYTES} with a visible `… [truncated N bytes]`.
 *
 * Every function is pure (bytes in, strings out); the splitter and the tail
 * hold only their own bounded state.
 *
 * @internal
 */
import { occurrenceSpans, REDACTED } from "./redact.ts"

/** The most UTF-8 bytes of one rendered stderr line, truncation marker included. */
export const MAX_LINE_BYTES = 8 * 1024

/** The most stderr lines a tail keeps. */
export const MAX_TAIL_LINES = 50

/** The most UTF-8 bytes of all the lines a tail keeps together. */
export const MAX_TAIL_BYTES = 16 * 1024

/**
 * Room kept for the truncation marker: `"… [truncated "` + up to 16 digits +
 * `" bytes]"` is at most 38 bytes.
 */
const MARKER_RESERVE = 40

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8")
const REDACTED_BYTES = encoder.encode(REDACTED)

/** The position of `needle` in `haystack` at or after `from`, or -1. */
const indexOfBytes = (haystack: Uint8Array, needle: Uint8Array, from: number): number => {
  const first = needle[0]!
  const last = haystack.length - needle.length
  for (let at = haystack.indexOf(first, from); at !== -1 && at <= last; at = haystack.indexOf(first, at + 1)) {
    let i = 1
    while (i < needle.length && haystack[at + i] === needle[i]) i++
    if (i === needle.length) return at
  }
  return -1
}

/** Whether `byte` continues a UTF-8 sequence (so a cut before it would split a character). */
const isContinuation = (byte: number | undefined) => byte !== undefined && (byte & 0xc0) === 0x80

/** The UTF-8 length of a string, without encoding it. */
export const utf8Length = (text: string): number => {
  let length = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) length += 1
    else if (code < 0x800) length += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 4
        i++
      } else length += 3
    } else length += 3
  }
  return length
}

/**
 * Renders one line: the kept bytes `window` of a line whose further `dropped`
 * bytes were only counted. Every occurrence of a secret in the window becomes
 * `<redacted>` first; then the result is cut to `maxLineBytes` (marker
 * included) at a character boundary.
 *
 * Invariant that keeps a long line from leaking a secret: when bytes were
 * dropped, text is only emitted from positions where every secret that could
 * start there lies wholly inside the window (so it was found); a cut never
 * falls inside a secret, it goes before the `<redacted>` that replaces it.
 * The splitter keeps `maxLineBytes + longest secret` bytes for this.
 */
export const renderLine = (
  window: Uint8Array,
  dropped: number,
  secrets: ReadonlyArray<Uint8Array>,
  maxLineBytes: number = MAX_LINE_BYTES
): string => {
  const length = window.length
  const total = length + dropped
  const spans = secrets.length === 0 ? [] : occurrenceSpans(secrets, (secret, from) => indexOfBytes(window, secret, from))
  // Pieces: [start, end, redacted] in window positions.
  const pieces: Array<readonly [number, number, boolean]> = []
  let at = 0
  for (const [start, end] of spans) {
    if (start > at) pieces.push([at, start, false])
    pieces.push([start, end, true])
    at = end
  }
  if (at < length) pieces.push([at, length, false])
  let fullBytes = 0
  for (const [start, end, redacted] of pieces) fullBytes += redacted ? REDACTED_BYTES.length : end - start
  if (dropped === 0 && fullBytes <= maxLineBytes) return decode(window, pieces)

  const longest = secrets.reduce((max, secret) => Math.max(max, secret.length), 0)
  const safeEnd = dropped === 0 ? length : Math.min(length, length - longest + 1)
  const budget = Math.max(0, maxLineBytes - MARKER_RESERVE)
  const kept: Array<readonly [number, number, boolean]> = []
  let used = 0
  let consumed = 0
  for (const [start, end, redacted] of pieces) {
    if (redacted) {
      if (used + REDACTED_BYTES.length > budget) break
      kept.push([start, end, true])
      used += REDACTED_BYTES.length
      consumed = end
      continue
    }
    let cut = Math.min(end, safeEnd, start + (budget - used))
    while (cut > start && cut < length && isContinuation(window[cut])) cut--
    if (cut > start) kept.push([start, cut, false])
    used += cut - start
    consumed = Math.max(consumed, cut)
    if (cut < end) break
  }
  return `${decode(window, kept)}… [truncated ${total - consumed} bytes]`
}

const decode = (window: Uint8Array, pieces: ReadonlyArray<readonly [number, number, boolean]>): string => {
  let out = ""
  for (const [start, end, redacted] of pieces) out += redacted ? REDACTED : decoder.decode(window.subarray(start, end))
  return out
}

/**
 * Splits a byte stream into rendered lines at `\n`, `\r\n` or a lone `\r`
 * (like `Stream.splitLines`), holding at most `maxLineBytes + longest
 * secret` bytes of the current line whatever its length.
 *
 * @internal
 */
export interface LineSplitter {
  /** Feeds a chunk; returns the lines it completed. */
  readonly push: (chunk: Uint8Array) => ReadonlyArray<string>
  /** Ends the input; returns the unterminated last line, if any. */
  readonly end: () => ReadonlyArray<string>
}

/**
 * A {@link LineSplitter} that redacts `secrets` (matched as UTF-8 bytes) and
 * caps each line at `maxLineBytes`.
 *
 * @internal
 */
export const makeLineSplitter = (options: {
  readonly secrets?: ReadonlyArray<string> | undefined
  readonly maxLineBytes?: number | undefined
} = {}): LineSplitter => {
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES
  const secrets = (options.secrets ?? []).filter((secret) => secret.length > 0).map((secret) => encoder.encode(secret))
  const capacity = maxLineBytes + secrets.reduce((max, secret) => Math.max(max, secret.length), 0)
  const buffer = new Uint8Array(capacity)
  let length = 0
  let dropped = 0
  let pending = false // bytes of a line seen since the last terminator
  let afterCR = false // the last chunk ended in `\r`: a leading `\n` belongs to it

  const append = (chunk: Uint8Array, start: number, end: number) => {
    if (end <= start) return
    pending = true
    const room = Math.min(end - start, capacity - length)
    if (room > 0) {
      buffer.set(chunk.subarray(start, start + room), length)
      length += room
    }
    dropped += end - start - room
  }
  const complete = (): string => {
    const line = renderLine(buffer.subarray(0, length), dropped, secrets, maxLineBytes)
    length = 0
    dropped = 0
    pending = false
    return line
  }

  return {
    push: (chunk) => {
      if (chunk.length === 0) return []
      const lines: Array<string> = []
      let at = 0
      if (afterCR) {
        afterCR = false
        if (chunk[0] === 10) at = 1
      }
      let nextLF = chunk.indexOf(10, at)
      let nextCR = chunk.indexOf(13, at)
      while (at < chunk.length) {
        if (nextLF !== -1 && nextLF < at) nextLF = chunk.indexOf(10, at)
        if (nextCR !== -1 && nextCR < at) nextCR = chunk.indexOf(13, at)
        const stop = nextLF === -1 ? nextCR : nextCR === -1 ? nextLF : Math.min(nextLF, nextCR)
        if (stop === -1) {
          append(chunk, at, chunk.length)
          break
        }
        append(chunk, at, stop)
        lines.push(complete())
        at = stop + 1
        if (chunk[stop] === 13) {
          if (at === chunk.length) afterCR = true
          else if (chunk[at] === 10) at++
        }
      }
      return lines
    },
    end: () => pending ? [complete()] : []
  }
}

/**
 * The last lines of a stream: at most `maxLines`, and at most `maxBytes`
 * UTF-8 bytes together; the oldest lines go first. Lines longer than
 * `maxBytes` are not expected (lines are capped at {@link MAX_LINE_BYTES});
 * the newest line is always kept.
 *
 * @internal
 */
export interface Tail {
  readonly push: (line: string) => void
  /** A copy of the kept lines, oldest first. */
  readonly lines: () => Array<string>
}

/**
 * A {@link Tail}, by default of {@link MAX_TAIL_LINES} lines and
 * {@link MAX_TAIL_BYTES} bytes.
 *
 * @internal
 */
export const makeTail = (options: {
  readonly maxLines?: number | undefined
  readonly maxBytes?: number | undefined
} = {}): Tail => {
  const maxLines = options.maxLines ?? MAX_TAIL_LINES
  const maxBytes = options.maxBytes ?? MAX_TAIL_BYTES
  const lines: Array<string> = []
  const sizes: Array<number> = []
  let bytes = 0
  return {
    push: (line) => {
      const size = utf8Length(line)
      lines.push(line)
      sizes.push(size)
      bytes += size
      while (lines.length > 1 && (lines.length > maxLines || bytes > maxBytes)) {
        lines.shift()
        bytes -= sizes.shift()!
      }
    },
    lines: () => lines.slice()
  }
}
