/**
 * A tiny TOML writer, just enough for codex config: `LocalModel` writes `CODEX_HOME/config.toml` with it,
 * and tests use {@link toDottedArgs} to pass the same settings as `-c key=value` arguments.
 *
 * @internal
 */

const BARE_KEY = /^[A-Za-z0-9_-]+$/

/** A key as TOML wants it: bare when possible, else a quoted string. */
export const encodeKey = (key: string): string => (BARE_KEY.test(key) ? key : encodeString(key))

// JSON string escapes are valid TOML basic-string escapes; TOML also forbids a raw DEL (U+007F).
const encodeString = (s: string): string => JSON.stringify(s).replace(/\u007f/g, "\\u007F")

const isTable = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** Encodes one value as a TOML value: objects become inline tables, `undefined` entries are skipped. */
export const encodeValue = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      return encodeString(value)
    case "boolean":
      return String(value)
    case "bigint":
      return String(value)
    case "number":
      if (Number.isNaN(value)) return "nan"
      if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf"
      return String(value)
  }
  if (Array.isArray(value)) return `[${value.map(encodeValue).join(", ")}]`
  if (isTable(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined)
    return entries.length === 0 ? "{}" : `{ ${entries.map(([k, v]) => `${encodeKey(k)} = ${encodeValue(v)}`).join(", ")} }`
  }
  throw new Error(`Cannot encode ${String(value)} as TOML`)
}

/** Encodes an object as a TOML document: scalars first, then one `[section]` per nested object. */
export const encodeDocument = (doc: Record<string, unknown>): string => {
  const lines: Array<string> = []
  const walk = (table: Record<string, unknown>, path: ReadonlyArray<string>) => {
    const entries = Object.entries(table).filter(([, v]) => v !== undefined)
    const scalars = entries.filter(([, v]) => !isTable(v))
    const tables = entries.filter(([, v]) => isTable(v)) as Array<[string, Record<string, unknown>]>
    if (path.length > 0 && (scalars.length > 0 || tables.length === 0)) {
      lines.push("", `[${path.map(encodeKey).join(".")}]`)
    }
    for (const [k, v] of scalars) lines.push(`${encodeKey(k)} = ${encodeValue(v)}`)
    for (const [k, v] of tables) walk(v, [...path, k])
  }
  walk(doc, [])
  return lines.join("\n").trimStart() + "\n"
}

/** `{ a: { b: 1 } }` -> `["-c", "a.b=1"]`: one `-c` per leaf, as `codex -c` expects. */
export const toDottedArgs = (config: Record<string, unknown>): Array<string> => {
  const args: Array<string> = []
  const walk = (table: Record<string, unknown>, path: ReadonlyArray<string>) => {
    for (const [k, v] of Object.entries(table)) {
      if (v === undefined) continue
      if (isTable(v) && Object.keys(v).length > 0) walk(v, [...path, k])
      else args.push("-c", `${[...path, k].map(encodeKey).join(".")}=${encodeValue(v)}`)
    }
  }
  walk(config, [])
  return args
}
