/**
 * What the SDK hides before it prints anything a child process or a server
 * may echo: the secrets it was given, and the credentials in a WebSocket URL.
 *
 * Every function is pure (strings in, strings out).
 *
 * @internal
 */
import { Redacted } from "../../schema/internal/effect.ts"
/** What a hidden value is replaced with. */
export const REDACTED = "<redacted>"

/**
 * Secrets shorter than this are not searched for: a 1- to 3-character value
 * would blank out ordinary text everywhere it occurs.
 */
export const MIN_SECRET_LENGTH = 4

/**
 * The secrets to hide, longest first, without duplicates: the values of
 * `values` that are long enough ({@link MIN_SECRET_LENGTH}).
 */
export const secretList = (values: Iterable<string | undefined>): ReadonlyArray<string> => {
  const unique = new Set<string>()
  for (const value of values) {
    if (value !== undefined && value.length >= MIN_SECRET_LENGTH) unique.add(value)
  }
  return [...unique].sort((a, b) => b.length - a.length)
}

/**
 * The secrets of a child-process environment: its `Redacted` values (the API
 * key the SDK passes as `CODEX_API_KEY`/`OPENAI_API_KEY`, and whatever the user
 * marked as secret). Plain strings are not secrets.
 */
export const envSecrets = (
  env: Record<string, string | Redacted.Redacted<string> | undefined> | undefined
): ReadonlyArray<string> =>
  secretList(
    Object.values(env ?? {}).map((value) => Redacted.isRedacted(value) ? Redacted.value(value) : undefined)
  )

/**
 * The sorted, non-overlapping spans `[start, end)` covered by any occurrence
 * of any needle. Overlapping or touching occurrences (of one needle or of
 * several) merge into one span, so no byte of any occurrence is left outside.
 */
export const occurrenceSpans = <N extends { readonly length: number }>(
  needles: ReadonlyArray<N>,
  indexOf: (needle: N, from: number) => number
): Array<readonly [number, number]> => {
  const found: Array<readonly [number, number]> = []
  for (const needle of needles) {
    if (needle.length === 0) continue
    for (let at = indexOf(needle, 0); at !== -1; at = indexOf(needle, at + 1)) found.push([at, at + needle.length])
  }
  found.sort((a, b) => a[0] - b[0])
  const merged: Array<readonly [number, number]> = []
  for (const [start, end] of found) {
    const last = merged[merged.length - 1]
    if (last !== undefined && start <= last[1]) merged[merged.length - 1] = [last[0], Math.max(last[1], end)]
    else merged.push([start, end])
  }
  return merged
}

/** `text` with every occurrence of every secret replaced by {@link REDACTED}. */
export const redactText = (text: string, secrets: ReadonlyArray<string>): string => {
  if (secrets.length === 0) return text
  const spans = occurrenceSpans(secrets, (secret, from) => text.indexOf(secret, from))
  if (spans.length === 0) return text
  let out = ""
  let at = 0
  for (const [start, end] of spans) {
    out += text.slice(at, start) + REDACTED
    at = end
  }
  return out + text.slice(at)
}

/** The end of a URL's authority (`host[:port]` with its userinfo) that starts at `from`. */
const authorityEnd = (url: string, from: number): number => {
  let end = url.length
  for (const delimiter of ["/", "\\"]) {
    const at = url.indexOf(delimiter, from)
    if (at !== -1 && at < end) end = at
  }
  return end
}

/** The parts of a URL that may hold credentials. */
const urlParts = (url: string) => {
  const hashAt = url.indexOf("#")
  const fragment = hashAt === -1 ? undefined : url.slice(hashAt + 1)
  const beforeHash = hashAt === -1 ? url : url.slice(0, hashAt)
  const queryAt = beforeHash.indexOf("?")
  const query = queryAt === -1 ? undefined : beforeHash.slice(queryAt + 1)
  const base = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt)
  const slashes = base.indexOf("//")
  let userinfo: { readonly start: number; readonly end: number } | undefined
  if (slashes !== -1 && /^[A-Za-z][A-Za-z0-9+.-]*:$/.test(base.slice(0, slashes))) {
    const start = slashes + 2
    const at = base.lastIndexOf("@", authorityEnd(base, start) - 1)
    if (at >= start) userinfo = { start, end: at }
  }
  return { base, userinfo, query, fragment }
}

/**
 * A URL fit to print: the userinfo (`user:password@`), every query value and
 * the fragment are replaced by {@link REDACTED}; scheme, host, port, path and
 * query names stay. `ws://u:p@127.0.0.1:4500/rpc?token=t&v=2#x` prints as
 * `ws://<redacted>@127.0.0.1:4500/rpc?token=<redacted>&v=<redacted>#<redacted>`.
 *
 * Works on the text, so it also hides the credentials of a URL that does not
 * parse. Every query value is hidden, not a list of known names: a parameter
 * can carry a credential under any name.
 */
export const redactUrl = (url: string): string => {
  const { base, fragment, query, userinfo } = urlParts(url)
  const authority = userinfo === undefined
    ? base
    : base.slice(0, userinfo.start) + REDACTED + base.slice(userinfo.end)
  const search = query === undefined ? "" : "?" + query.split("&").map((part) => {
    if (part === "") return part
    const eq = part.indexOf("=")
    // a bare `?value` may itself be the credential
    return eq === -1 ? REDACTED : `${part.slice(0, eq)}=${REDACTED}`
  }).join("&")
  const hash = fragment === undefined ? "" : fragment === "" ? "#" : `#${REDACTED}`
  return authority + search + hash
}

const decoded = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * The credentials a URL holds, raw and percent-decoded: the userinfo and its
 * user and password, every query value (and bare query part) and the
 * fragment. For scrubbing text that may quote a URL's parts, such as an
 * error message from a WebSocket library.
 */
export const urlSecrets = (url: string): ReadonlyArray<string> => {
  const { base, fragment, query, userinfo } = urlParts(url)
  const raw: Array<string> = []
  if (userinfo !== undefined) {
    const info = base.slice(userinfo.start, userinfo.end)
    const colon = info.indexOf(":")
    raw.push(info)
    if (colon !== -1) raw.push(info.slice(0, colon), info.slice(colon + 1))
  }
  for (const part of query?.split("&") ?? []) {
    const eq = part.indexOf("=")
    raw.push(eq === -1 ? part : part.slice(eq + 1))
  }
  if (fragment !== undefined) raw.push(fragment)
  return secretList(raw.flatMap((value) => [value, decoded(value), decoded(value.replaceAll("+", " "))]))
}
