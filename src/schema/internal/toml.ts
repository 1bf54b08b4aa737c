/**
 * Encodes a `config` object into repeated `-c key=value` arguments for
 * `codex app-server`.
 *
 * How codex reads `-c key=value` (codex-rs `utils/cli/src/config_override.rs`, 0.169.0, verified
 * against the binary): it splits at the first `=`, trims both halves, splits the key on **every**
 * `.` (quotes are not understood: `a."b.c".d` becomes the segments `a`, `"b`, `c"`, `d`), and parses
 * the value as TOML (`_x_ = <value>`); when that parse fails the raw text silently becomes a string.
 * The overrides form their own config layer, which is deep-merged over `config.toml`.
 *
 * So the encoding is:
 * - objects become dotted leaves (`{ a: { b: { c: 1 } } }` -> `-c a.b.c=1`) as long as every key
 *   is a TOML bare key (`[A-Za-z0-9_-]+`), the only keys that codex's naive split and a real TOML
 *   key parser read the same way;
 * - the children of a table whose keys are not bare (`"my.provider"`, `"my key"`, `"é"`) are sent
 *   as ONE inline table at that table's path, before any dotted leaf under it (a later inline table
 *   at the same path would replace earlier leaves inside the override layer):
 *   `-c model_providers={ "my.provider" = { name = "x" } }`; such a key at the root cannot be
 *   expressed and is rejected;
 * - values are TOML: basic strings with full escaping, integers (safe integers, and `bigint`s in
 *   the 64-bit range; numbers beyond 2^53 are sent as floats in exponent form), floats, booleans,
 *   arrays, inline tables (`{}` for an empty object); `undefined` properties are skipped; `null`,
 *   `NaN`, `±Infinity`, `Date`, functions, symbols and non-plain objects are rejected with a
 *   {@link TomlEncodeError}. Every emitted value is valid TOML,
 *   so codex's silent string fallback never applies.
 *
 * @internal
 */
import { Data, Effect } from "./effect.ts"
/**
 * A config value that cannot be encoded as a `-c key=value` argument. `path` locates the value
 * (TOML key syntax, `[i]` for array elements; empty for the root).
 */
export class TomlEncodeError extends Data.TaggedError("TomlEncodeError")<{
  readonly path: string
  readonly message: string
}> {}

const BARE_KEY = /^[A-Za-z0-9_-]+$/

const I64_MIN = -(2n ** 63n)
const I64_MAX = 2n ** 63n - 1n

/** Whether `key` is a TOML bare key (`[A-Za-z0-9_-]+`), i.e. needs no quoting. */
export const isBareKey = (key: string): boolean => BARE_KEY.test(key)

/**
 * Encodes a string as a TOML basic string: `"`, `\` and every control character are escaped
 * (`\b \t \n \f \r`, otherwise `\uXXXX`); other characters (including non-ASCII and emoji) are kept
 * as they are. Throws a {@link TomlEncodeError} for a lone UTF-16 surrogate, which has no UTF-8 form.
 */
export const encodeTomlString = (value: string, path = ""): string => {
  let out = "\""
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = value.charCodeAt(i + 1)
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += value[i]! + value[i + 1]!
        i++
        continue
      }
      throw new TomlEncodeError({
        path,
        message: `string contains a lone UTF-16 surrogate (\\u${hex4(code)}) at index ${i}`
      })
    }
    switch (code) {
      case 0x08:
        out += "\\b"
        break
      case 0x09:
        out += "\\t"
        break
      case 0x0a:
        out += "\\n"
        break
      case 0x0c:
        out += "\\f"
        break
      case 0x0d:
        out += "\\r"
        break
      case 0x22:
        out += "\\\""
        break
      case 0x5c:
        out += "\\\\"
        break
      default:
        out += code < 0x20 || code === 0x7f ? `\\u${hex4(code)}` : value[i]!
    }
  }
  return out + "\""
}

const hex4 = (code: number): string => code.toString(16).toUpperCase().padStart(4, "0")

/** Encodes one key segment: bare when possible, otherwise a quoted basic string. */
export const encodeKey = (key: string): string => isBareKey(key) ? key : encodeTomlString(key)

/**
 * Encodes a key path as a TOML dotted key, quoting the segments that are not bare keys:
 * `["model_providers", "my.provider", "name"]` -> `model_providers."my.provider".name`.
 *
 * This is real TOML syntax (valid inside inline tables and config files); note that codex's `-c`
 * key parser does NOT understand quoted segments, which is why {@link configToArgs} never puts a
 * quoted segment on the left of `=`.
 */
export const encodeKeyPath = (segments: ReadonlyArray<string>): string => segments.map((key) => encodeKey(key)).join(".")

const childPath = (path: string, key: string): string => path === "" ? encodeKey(key) : `${path}.${encodeKey(key)}`

const isPlainObject = (value: object): value is Record<string, unknown> => {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const describe = (value: unknown): string => {
  if (value === null) return "null"
  if (typeof value !== "object") return typeof value
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === "string" && name !== "" ? `a ${name} instance` : "a non-plain object"
}

const encodeNumber = (value: number, path: string): string => {
  if (!Number.isFinite(value)) {
    throw new TomlEncodeError({ path, message: `${value} is not a finite number` })
  }
  if (Number.isSafeInteger(value)) {
    return Object.is(value, -0) ? "0" : String(value)
  }
  if (Number.isInteger(value)) {
    // Beyond 2^53 a number is a float in all but name (`String(1e21)` would even read as an
    // out-of-range TOML integer): emit exponent form, a TOML float. Pass a bigint for a big integer.
    return value.toExponential()
  }
  // JavaScript renders non-integral finite numbers as `1.5`, `1e-7`, `1.5e+300`: all valid TOML floats.
  return String(value)
}

const encodeValue = (value: unknown, path: string, seen: Set<object>): string => {
  switch (typeof value) {
    case "string":
      return encodeTomlString(value, path)
    case "boolean":
      return value ? "true" : "false"
    case "number":
      return encodeNumber(value, path)
    case "bigint":
      if (value < I64_MIN || value > I64_MAX) {
        throw new TomlEncodeError({ path, message: `${value} does not fit a TOML (64-bit) integer` })
      }
      return value.toString()
    case "object": {
      if (value === null) {
        throw new TomlEncodeError({ path, message: "null has no TOML representation; omit the key instead" })
      }
      if (seen.has(value)) {
        throw new TomlEncodeError({ path, message: "circular reference" })
      }
      seen.add(value)
      try {
        if (Array.isArray(value)) {
          const items: Array<string> = []
          for (let i = 0; i < value.length; i++) {
            const itemPath = `${path}[${i}]`
            if (value[i] === undefined) {
              throw new TomlEncodeError({ path: itemPath, message: "arrays cannot contain undefined" })
            }
            items.push(encodeValue(value[i], itemPath, seen))
          }
          return `[${items.join(", ")}]`
        }
        if (value instanceof Date) {
          throw new TomlEncodeError({ path, message: "Date values are not supported; pass an ISO string" })
        }
        if (!isPlainObject(value)) {
          throw new TomlEncodeError({ path, message: `cannot encode ${describe(value)}; only plain objects` })
        }
        return encodeInlineTable(Object.entries(value), path, seen)
      } finally {
        seen.delete(value)
      }
    }
    default:
      throw new TomlEncodeError({ path, message: `cannot encode a value of type ${typeof value}` })
  }
}

const encodeInlineTable = (
  entries: ReadonlyArray<readonly [string, unknown]>,
  path: string,
  seen: Set<object>
): string => {
  const parts: Array<string> = []
  for (const [key, child] of entries) {
    if (child === undefined) continue
    parts.push(`${encodeKey(key)} = ${encodeValue(child, childPath(path, key), seen)}`)
  }
  return parts.length === 0 ? "{}" : `{ ${parts.join(", ")} }`
}

/**
 * Encodes a value as a TOML value: basic string, integer, float, boolean, array, or inline table
 * (nested objects are nested inline tables; `undefined` properties are skipped). Throws a
 * {@link TomlEncodeError} for anything TOML cannot represent (see the module notes).
 */
export const encodeTomlValue = (value: unknown): string => {
  if (value === undefined) {
    throw new TomlEncodeError({ path: "", message: "undefined has no TOML representation" })
  }
  return encodeValue(value, "", new Set())
}

/**
 * Encodes a config object as repeated `["-c", "key=value", ...]` arguments for `codex app-server`
 * (see the module notes for the rules). Synchronous; throws a {@link TomlEncodeError}.
 */
export const configToArgs = (config: Record<string, unknown>): ReadonlyArray<string> => {
  if (typeof config !== "object" || config === null || Array.isArray(config) || !isPlainObject(config)) {
    throw new TomlEncodeError({ path: "", message: `config must be a plain object, got ${describe(config)}` })
  }
  const args: Array<string> = []
  const seen = new Set<object>([config])
  const emit = (keyPath: string, value: string) => {
    args.push("-c", `${keyPath}=${value}`)
  }

  // `segments` are all bare keys; `path` is the same path for error messages.
  const walkTable = (table: Record<string, unknown>, segments: ReadonlyArray<string>) => {
    const path = segments.join(".")
    const entries = Object.entries(table).filter(([, v]) => v !== undefined)
    const quoted = entries.filter(([key]) => !isBareKey(key))
    if (quoted.length > 0) {
      if (segments.length === 0) {
        const [key] = quoted[0]!
        throw new TomlEncodeError({
          path: encodeKey(key),
          message: `top-level key ${
            encodeTomlString(key)
          } is not a bare key ([A-Za-z0-9_-]+); codex's -c parser splits keys on '.' and cannot address it`
        })
      }
      // One inline table for all non-bare children, first: a later inline table at this path
      // would replace the dotted leaves emitted before it.
      emit(path, encodeInlineTable(quoted, path, seen))
    }
    for (const [key, value] of entries) {
      if (!isBareKey(key)) continue
      const childSegments = [...segments, key]
      if (
        typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date) &&
        isPlainObject(value)
      ) {
        if (seen.has(value)) {
          throw new TomlEncodeError({ path: childSegments.join("."), message: "circular reference" })
        }
        const defined = Object.values(value).some((v) => v !== undefined)
        if (!defined) {
          emit(childSegments.join("."), "{}")
          continue
        }
        seen.add(value)
        walkTable(value, childSegments)
        seen.delete(value)
      } else {
        emit(childSegments.join("."), encodeValue(value, childSegments.join("."), seen))
      }
    }
  }

  walkTable(config, [])
  return args
}

/** {@link configToArgs} as an `Effect` that fails with a {@link TomlEncodeError}. */
export const encodeConfigArgs = (
  config: Record<string, unknown>
): Effect.Effect<ReadonlyArray<string>, TomlEncodeError> =>
  Effect.try({
    try: () => configToArgs(config),
    catch: (error) =>
      error instanceof TomlEncodeError
        ? error
        : new TomlEncodeError({ path: "", message: error instanceof Error ? error.message : String(error) })
  })

const isTable = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Encodes an object as a TOML document (a `config.toml`): scalars first, then
 * one `[section]` per nested object. Throws {@link TomlEncodeError} like
 * {@link encodeTomlValue}.
 */
export const encodeDocument = (doc: Record<string, unknown>): string => {
  const lines: Array<string> = []
  const walk = (table: Record<string, unknown>, path: ReadonlyArray<string>) => {
    const entries = Object.entries(table).filter(([, v]) => v !== undefined)
    const scalars = entries.filter(([, v]) => !isTable(v))
    const tables = entries.filter(([, v]) => isTable(v)) as Array<[string, Record<string, unknown>]>
    if (path.length > 0 && (scalars.length > 0 || tables.length === 0)) lines.push("", `[${encodeKeyPath(path)}]`)
    for (const [k, v] of scalars) lines.push(`${encodeKey(k)} = ${encodeTomlValue(v)}`)
    for (const [k, v] of tables) walk(v, [...path, k])
  }
  walk(doc, [])
  return lines.join("\n").trimStart() + "\n"
}
