/**
 * Generates the Effect Schema modules of the codex app-server protocol from the JSON Schema bundle that
 * the pinned codex binary prints (`codex app-server generate-json-schema`):
 *
 * - `src/schema/generated/Protocol.gen.ts`: every definition (v2 + root) as `export type X` + `export const X`
 *   (the `effect-codex/schema` entry point: importing it builds every schema)
 * - `src/schema/generated/ProtocolLazy.gen.ts`: the same schemas as memoized thunks `X()`, built on first call;
 *   `Protocol.gen.ts` and the method maps take their schemas from here, so the main entry point (which never
 *   imports `Protocol.gen.ts` at run time) builds only the schemas it uses, when it first uses them
 * - `src/schema/generated/Methods.gen.ts`: method -> params / response schema maps, method unions,
 *   experimental method / field tables
 *
 * Pipeline (effect's own JSON Schema importer and code generator):
 *   1. run the binary twice (with and without `--experimental`, to learn which methods / fields are experimental)
 *   2. flatten the root bundle (hoist `definitions.v2.*`, merge identical clashes, rewrite refs)
 *   3. JsonSchema.fromSchemaDraft07 -> SchemaRepresentation.fromJsonSchemaMultiDocument with `onEnter` fixes
 *      (distribute serde-flattened properties into union members, close objects, drop annotation noise)
 *   4. toRepresentations -> rewrite multi-member string enums into open literals (forward compatibility)
 *      -> check that no `oneOf` union has overlapping members -> move descriptions into JSDoc
 *   5. toCodeDocument -> assemble the modules (definitions in dependency order, names sorted for stability); in the
 *      lazy module every reference `X` to a definition becomes the call `X()`
 *
 *   node scripts/generate-schema.ts                write the files
 *   node scripts/generate-schema.ts --check        regenerate in memory, exit 1 if the files on disk differ
 *   node scripts/generate-schema.ts --codex PATH   use another codex binary (also: the `CODEX_PATH` environment
 *                                                  variable; default: the native binary of the pinned package)
 *
 * A client or server request whose response the bundle does not define (and no `RESPONSE_OVERRIDES` entry names)
 * is typed `unknown` and listed in the output: its result is passed through undecoded.
 */
import { JsonSchema, type Schema, SchemaRepresentation } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as AppServer from "../src/layers/AppServer.ts"

type JsonObject = { [key: string]: any }

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const outDir = path.join(repoRoot, "src", "schema", "generated")
const PROTOCOL_FILE = "Protocol.gen.ts"
const METHODS_FILE = "Methods.gen.ts"
const LAZY_FILE = "ProtocolLazy.gen.ts"
/** Names the generated modules use for their own imports; a definition with one of these names would shadow it. */
const RESERVED_NAMES: ReadonlySet<string> = new Set(["Schema", "OpenLiterals", "Lazy", "P", "lazy", "lazyRecord", "NoParams"])
const OPEN_LITERALS_IMPORT = `import { OpenLiterals } from "../internal/OpenLiterals.ts"`

/**
 * Client request methods (`ClientRequest`) whose response type does not follow `XxxParams -> XxxResponse`
 * (or that have no params type at all). A method that resolves to nothing is typed `unknown` and reported;
 * a stale or conflicting override fails the script.
 */
const RESPONSE_OVERRIDES: Readonly<Record<string, string>> = {
  "account/gatewayOAuth/cancel": "GatewayOAuthCancelResponse",
  "account/logout": "LogoutAccountResponse",
  "account/securitySetup/read": "GetAccountSecuritySetupResponse",
  "account/workspaceMessages/read": "GetWorkspaceMessagesResponse",
  "accountSession/list": "AccountSessionsResponse",
  "config/batchWrite": "ConfigWriteResponse",
  "config/mcpServer/reload": "McpServerRefreshResponse",
  "config/value/write": "ConfigWriteResponse",
  "configRequirements/read": "ConfigRequirementsReadResponse",
  "externalAgentConfig/import/readHistories": "ExternalAgentConfigImportHistoriesReadResponse",
  "memory/reset": "MemoryResetResponse",
  "remoteControl/status/read": "RemoteControlStatusReadResponse",
  "rollout/compress": "RolloutCompressResponse",
  "windowsSandbox/readiness": "WindowsSandboxReadinessResponse"
}

/**
 * Definitions whose `oneOf` unions are decoded as `anyOf` (first match wins) instead, because a real value can match
 * more than one member. The generator fails and lists such unions (see `findOneOfOverlaps`); none in codex 0.169.0.
 * Prefer making the members disjoint (e.g. the open-literal merge) over listing a definition here: with `anyOf`, a
 * struct member that matches first strips the fields of a later member.
 */
const ANY_OF_DEFINITIONS: ReadonlySet<string> = new Set<string>([])

// ---------------------------------------------------------------------------------------------------------------
// codex binary
// ---------------------------------------------------------------------------------------------------------------

/**
 * `--codex PATH`, else `CODEX_PATH`, else the same resolution as the SDK (the native binary of the pinned package;
 * the npm wrapper as a fallback).
 */
const resolveCodexBinary = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const flag = argv.indexOf("--codex")
  if (flag !== -1) {
    const value = argv[flag + 1]
    if (value === undefined || value.startsWith("--")) throw new Error("--codex needs the path of a codex binary")
    return [value]
  }
  const fromEnv = process.env.CODEX_PATH
  if (fromEnv !== undefined && fromEnv !== "") return [fromEnv]
  const binary = AppServer.resolveCodexBinary()
  return [binary.command, ...binary.prefixArgs]
}

const codexVersion = ([command, ...prefix]: ReadonlyArray<string>): string => {
  const out = execFileSync(command!, [...prefix, "--version"], { encoding: "utf8" }).trim()
  const match = /(\d+\.\d+\.\d+\S*)\s*$/.exec(out)
  if (match === null) throw new Error(`Cannot parse codex version from ${JSON.stringify(out)}`)
  return match[1]
}

const readBundle = ([command, ...prefix]: ReadonlyArray<string>, experimental: boolean): JsonObject => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-codex-schema-"))
  try {
    const args = [...prefix, "app-server", "generate-json-schema", ...(experimental ? ["--experimental"] : []), "--out", dir]
    execFileSync(command!, args, { stdio: ["ignore", "ignore", "inherit"] })
    return JSON.parse(fs.readFileSync(path.join(dir, "codex_app_server_protocol.schemas.json"), "utf8"))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Flattening the root bundle: hoist `definitions.v2.*`, merge identical clashes, rename the others
// ---------------------------------------------------------------------------------------------------------------

const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

const stableStringify = (u: unknown): string =>
  Array.isArray(u)
    ? `[${u.map(stableStringify).join(",")}]`
    : isObject(u)
    ? `{${Object.keys(u).sort().map((k) => `${JSON.stringify(k)}:${stableStringify(u[k])}`).join(",")}}`
    : JSON.stringify(u)

const withoutMeta = ({ $schema: _s, title: _t, ...rest }: JsonObject): JsonObject => rest

const mapDeep = (u: unknown, f: (node: JsonObject) => JsonObject): unknown =>
  Array.isArray(u)
    ? u.map((x) => mapDeep(x, f))
    : isObject(u)
    ? f(Object.fromEntries(Object.entries(u).map(([k, v]) => [k, mapDeep(v, f)])))
    : u

const flatten = (bundle: JsonObject): Record<string, JsonObject> => {
  const { v2 = {}, ...root } = bundle.definitions as Record<string, JsonObject>
  const rename = new Map<string, string>()
  const defs: Record<string, JsonObject> = { ...root }
  for (const [name, schema] of Object.entries(v2)) {
    if (!Object.hasOwn(root, name)) {
      rename.set(name, name)
      defs[name] = schema
    } else if (stableStringify(withoutMeta(root[name])) === stableStringify(withoutMeta(schema))) {
      rename.set(name, name) // same schema in both namespaces (RequestId, AbsolutePathBuf)
    } else {
      const renamed = `V2${name}`
      if (Object.hasOwn(root, renamed) || Object.hasOwn(v2, renamed)) throw new Error(`Cannot rename clash ${name}`)
      rename.set(name, renamed)
      defs[renamed] = schema
    }
  }
  const rewrite = (node: JsonObject): JsonObject => {
    if (typeof node.$ref !== "string") return node
    const v2Ref = /^#\/definitions\/v2\/(.+)$/.exec(node.$ref)
    if (v2Ref !== null) {
      const target = rename.get(v2Ref[1])
      if (target === undefined) throw new Error(`Dangling reference ${node.$ref}`)
      return { ...node, $ref: `#/definitions/${target}` }
    }
    const rootRef = /^#\/definitions\/([^/]+)$/.exec(node.$ref)
    if (rootRef === null || !Object.hasOwn(defs, rootRef[1])) throw new Error(`Unsupported reference ${node.$ref}`)
    return node
  }
  const out: Record<string, JsonObject> = {}
  for (const name of Object.keys(defs).sort()) {
    const { $schema: _, ...schema } = defs[name]
    out[name] = mapDeep(schema, rewrite) as JsonObject
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// onEnter fixes (applied to every JSON Schema node before effect translates it)
// ---------------------------------------------------------------------------------------------------------------

/** keywords that only add annotation noise to the generated code */
const DROPPED_KEYWORDS = ["title", "default", "examples", "$schema"] as const

const onEnter = (input: JsonSchema.JsonSchema): JsonSchema.JsonSchema => {
  let s: JsonObject = input
  if (DROPPED_KEYWORDS.some((k) => Object.hasOwn(s, k))) {
    s = { ...s }
    for (const k of DROPPED_KEYWORDS) delete s[k]
  }
  // numeric `format`s (int64, uint32, double, ...) are annotations only; `type: integer` already yields `Schema.Int`
  if (typeof s.format === "string" && [s.type].flat().some((t) => t === "integer" || t === "number")) {
    const { format: _, ...rest } = s
    s = rest
  }
  // 1. serde-flattened enums: `{ properties, anyOf|oneOf: [branches] }` -> a union of merged objects
  //    (effect cannot intersect an object with a union of objects without expanding the branches)
  for (const mode of ["anyOf", "oneOf"] as const) {
    if (isObject(s.properties) && Array.isArray(s[mode])) {
      const { [mode]: branches, description, ...base } = s
      const distributed: JsonObject = {
        [mode]: (branches as Array<JsonObject>).map((branch) => ({
          ...base,
          ...branch,
          properties: { ...base.properties, ...branch.properties },
          required: [...new Set([...(base.required ?? []), ...(branch.required ?? [])])]
        }))
      }
      if (description !== undefined) distributed.description = description
      return onEnter(distributed)
    }
  }
  // 2. closed objects: plain `Schema.Struct` (unknown extra fields from a newer codex are stripped on decode)
  //    instead of `StructWithRest(..., [Record(String, Json)])`. Objects without `properties` (empty
  //    structs, free-form maps) stay open.
  if (s.type === "object" && isObject(s.properties) && s.additionalProperties === undefined) {
    s = { ...s, additionalProperties: false }
  }
  return s
}

// ---------------------------------------------------------------------------------------------------------------
// Representation rewrite: open literals
// ---------------------------------------------------------------------------------------------------------------

type Representation = SchemaRepresentation.Representation
type References = SchemaRepresentation.MultiDocument["references"]

/** the known members of every open-literal declaration created by the rewrite */
const openLiteralMembers = new WeakMap<Representation, ReadonlyArray<string>>()

const openLiterals = (
  literals: ReadonlyArray<string>,
  annotations: Schema.Annotations.Annotations | undefined
): SchemaRepresentation.Declaration => {
  const formatted = literals.map((l) => JSON.stringify(l))
  const toCode: SchemaRepresentation.Generation.Declaration = () => ({
    runtime: `OpenLiterals([${formatted.join(", ")}])`,
    Type: `${formatted.join(" | ")} | (string & {})`,
    importDeclarations: [OPEN_LITERALS_IMPORT]
  })
  const declaration: SchemaRepresentation.Declaration = {
    _tag: "Declaration",
    annotations: { ...annotations, toCode },
    typeParameters: [],
    checks: []
  }
  openLiteralMembers.set(declaration, literals)
  return declaration
}

/**
 * Rewrites string enums into open literals:
 *
 * - a union whose string members (inline string literals, open literals, `Schema.String`, or references to
 *   definitions that are open literals) number two or more gets them merged into ONE open literal placed at the
 *   first string member. This covers `enum: ["a", "b"]` and serde's split enums
 *   (`oneOf: [{ enum: ["a", "b"] }, { enum: ["c"], description }]`), which would otherwise overlap in `oneOf` mode.
 * - a named definition that is a single string literal (`DesktopOnboardingEntrypoint = "life_sciences"`) is an
 *   enum with one member so far: it is opened too, unless a union member uses it as a property type (a discriminator,
 *   e.g. `McpElicitationStringType = "string"` as the `type` of `McpElicitationStringSchema`).
 * - inline single string literals (discriminators such as `type: "agentMessage"`, `method: "turn/started"`) stay exact.
 */
const rewriteOpenLiterals = (input: SchemaRepresentation.MultiDocument): {
  readonly doc: SchemaRepresentation.MultiDocument
  readonly count: number
  readonly openedSingles: ReadonlyArray<string>
} => {
  const openedSingles = singleLiteralEnums(input)
  const doc: SchemaRepresentation.MultiDocument = {
    representations: input.representations,
    references: Object.fromEntries(
      Object.entries(input.references).map(([k, v]) => {
        const literal = singleStringLiteral(v)
        return openedSingles.includes(k) && literal !== undefined && v._tag !== "Reference"
          ? [k, openLiterals([literal], v.annotations)]
          : [k, v]
      })
    )
  }
  const memo = new Map<Representation, Representation>()
  const inProgress = new Set<Representation>()
  let count = 0

  /** the literals of a member that only accepts strings, `undefined` otherwise */
  const stringMember = (t: Representation): { readonly literals: ReadonlyArray<string>; readonly open: boolean } | undefined => {
    if (t._tag === "Literal" && typeof t.literal === "string" && t.checks.length === 0) {
      return { literals: [t.literal], open: false }
    }
    if (t._tag === "String" && t.checks.length === 0 && t.content === undefined) return { literals: [], open: true }
    const members = openLiteralMembers.get(t)
    if (members !== undefined) return { literals: members, open: true }
    if (t._tag === "Reference" && Object.hasOwn(doc.references, t.$ref)) {
      const target = go(doc.references[t.$ref])
      const targetMembers = openLiteralMembers.get(target)
      if (targetMembers !== undefined) return { literals: targetMembers, open: true }
    }
    return undefined
  }

  const go = (r: Representation): Representation => {
    const cached = memo.get(r)
    if (cached !== undefined) return cached
    if (inProgress.has(r)) return r // recursion: leave as is
    inProgress.add(r)
    let out: Representation
    switch (r._tag) {
      case "Union": {
        const types = r.types.map(go)
        const members = types.map(stringMember)
        const strings = members.filter((m) => m !== undefined)
        const literalCount = strings.reduce((n, m) => n + m.literals.length, 0)
        if (strings.length >= 2 || (strings.length === 1 && strings[0].open === false && literalCount >= 2)) {
          count++
          const literals = [...new Set(strings.flatMap((m) => m.literals))]
          const first = members.findIndex((m) => m !== undefined)
          const merged: Array<Representation> = []
          types.forEach((t, i) => {
            if (i === first) merged.push(openLiterals(literals, undefined))
            else if (members[i] === undefined) merged.push(t)
          })
          if (merged.length === 1 && r.checks.length === 0) {
            out = openLiterals(literals, r.annotations)
          } else {
            out = { ...r, types: merged }
          }
        } else {
          out = types.every((t, i) => t === r.types[i]) ? r : { ...r, types }
        }
        break
      }
      case "Objects": {
        const propertySignatures = r.propertySignatures.map((p) => ({ ...p, type: go(p.type) }))
        const indexSignatures = r.indexSignatures.map((s) => ({ ...s, parameter: go(s.parameter), type: go(s.type) }))
        out = { ...r, propertySignatures, indexSignatures }
        break
      }
      case "Arrays": {
        out = { ...r, elements: r.elements.map((e) => ({ ...e, type: go(e.type) })), rest: r.rest.map(go) }
        break
      }
      case "Suspend": {
        out = { ...r, thunk: go(r.thunk) }
        break
      }
      case "Declaration": {
        out = { ...r, typeParameters: r.typeParameters.map(go) }
        break
      }
      default:
        out = r
    }
    inProgress.delete(r)
    memo.set(r, out)
    return out
  }
  const references: Record<string, Representation> = {}
  for (const [k, v] of Object.entries(doc.references)) references[k] = go(v)
  const representations = doc.representations.map(go) as unknown as SchemaRepresentation.MultiDocument["representations"]
  return { doc: { representations, references }, count, openedSingles }
}

/** the literal of `"a"` or of a one-member union `oneOf: [{ enum: ["a"] }]` */
const singleStringLiteral = (r: Representation): string | undefined => {
  if (r._tag === "Literal") return typeof r.literal === "string" && r.checks.length === 0 ? r.literal : undefined
  if (r._tag === "Union" && r.types.length === 1 && r.checks.length === 0) {
    const member = r.types[0]
    return member._tag === "Literal" && typeof member.literal === "string" && member.checks.length === 0
      ? member.literal
      : undefined
  }
  return undefined
}

/** named single-string-literal definitions that no union member uses as a property type (see above) */
const singleLiteralEnums = (doc: SchemaRepresentation.MultiDocument): Array<string> => {
  const references = doc.references
  const candidates = Object.keys(references).filter((k) => singleStringLiteral(references[k]) !== undefined)
  const discriminators = new Set<string>()
  const seen = new Set<Representation>()
  const walk = (r: Representation): void => {
    if (seen.has(r)) return
    seen.add(r)
    switch (r._tag) {
      case "Union":
        for (const member of r.types) {
          const target = member._tag === "Reference" ? references[member.$ref] : member
          if (r.types.length > 1 && target?._tag === "Objects") {
            for (const p of target.propertySignatures) if (p.type._tag === "Reference") discriminators.add(p.type.$ref)
          }
          walk(member)
        }
        break
      case "Objects":
        for (const p of r.propertySignatures) walk(p.type)
        for (const i of r.indexSignatures) walk(i.type)
        break
      case "Arrays":
        for (const e of r.elements) walk(e.type)
        for (const e of r.rest) walk(e)
        break
      case "Suspend":
        walk(r.thunk)
        break
    }
  }
  for (const k of Object.keys(references).sort(compare)) walk(references[k])
  return candidates.filter((k) => !discriminators.has(k)).sort(compare)
}

// ---------------------------------------------------------------------------------------------------------------
// Representation rewrite: documented structs
// ---------------------------------------------------------------------------------------------------------------

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

const propertyKey = (name: PropertyKey, runtime: boolean): string => {
  if (typeof name !== "string") throw new Error(`Unsupported property key ${String(name)}`)
  if (name === "__proto__") return runtime ? `["__proto__"]` : `"__proto__"`
  return IDENTIFIER.test(name) ? name : JSON.stringify(name)
}

const docComment = (description: string): Array<string> => {
  const lines = description.trim().replace(/\*\//g, "*\\/").split("\n")
  return lines.length === 1
    ? [`/** ${lines[0]} */`]
    : ["/**", ...lines.map((l) => ` *${l.length > 0 ? ` ${l}` : ""}`.trimEnd()), " */"]
}

/** removes the `description` annotation of a node (effect wraps annotated references in a `Suspend`) */
const takeDescription = (r: Representation): readonly [Representation, string | undefined] => {
  if (r._tag === "Reference" || r.annotations === undefined) return [r, undefined]
  const { description, ...rest } = r.annotations
  if (description === undefined) return [r, undefined]
  const annotations = Object.keys(rest).length > 0 ? rest : undefined
  if (r._tag === "Suspend" && annotations === undefined && r.thunk._tag === "Reference") return [r.thunk, String(description)]
  return [{ ...r, annotations } as Representation, typeof description === "string" ? description : undefined]
}

/**
 * Moves descriptions from runtime annotations to JSDoc comments in the generated types, and emits closed objects
 * through a declaration whose type lists one property per line with its description:
 *
 *     { /** Working directory captured for the thread. *\/ readonly cwd: AbsolutePathBuf ... }
 *
 * The runtime code stays `Schema.Struct({ ... })` without description annotations (smaller module).
 */
const documentStructs = (
  doc: SchemaRepresentation.MultiDocument,
  experimentalFields: ReadonlyMap<string, ReadonlyArray<string>>
): SchemaRepresentation.MultiDocument => {
  const memo = new Map<Representation, Representation>()
  const go = (input: Representation, experimental: ReadonlyArray<string> = []): Representation => {
    const cached = memo.get(input)
    if (cached !== undefined) return cached
    const [r] = takeDescription(input)
    let out: Representation
    switch (r._tag) {
      case "Objects": {
        if (r.indexSignatures.length > 0) {
          out = {
            ...r,
            propertySignatures: r.propertySignatures.map((p) => ({ ...p, type: go(p.type) })),
            indexSignatures: r.indexSignatures.map((s) => ({ ...s, parameter: go(s.parameter), type: go(s.type) }))
          }
          break
        }
        const properties = r.propertySignatures.map((p) => {
          if (p.isMutable || p.annotations !== undefined) throw new Error(`Unsupported property ${String(p.name)}`)
          const [type, text] = takeDescription(p.type)
          const description = experimental.includes(String(p.name))
            ? [text, "@experimental requires `initialize` with `capabilities.experimentalApi: true`"]
              .filter((t) => t !== undefined).join("\n\n")
            : text
          return { name: p.name, isOptional: p.isOptional, type: go(type), description }
        })
        const toCode: SchemaRepresentation.Generation.Declaration = ({ typeParameters }) => {
          const runtime = properties.map((p, i) => {
            const code = typeParameters[i].runtime
            return `${propertyKey(p.name, true)}: ${p.isOptional ? `Schema.optionalKey(${code})` : code}`
          })
          const types = properties.flatMap((p, i) => [
            ...(p.description === undefined ? [] : docComment(p.description)),
            `readonly ${propertyKey(p.name, false)}${p.isOptional ? "?" : ""}: ${typeParameters[i].Type}`
          ])
          return {
            runtime: `Schema.Struct({ ${runtime.join(", ")} })`,
            Type: types.length === 0 ? "{}" : `{\n${types.map((l) => `  ${l.replace(/\n/g, "\n  ")}`).join("\n")}\n}`
          }
        }
        out = {
          _tag: "Declaration",
          annotations: { ...r.annotations, toCode },
          typeParameters: properties.map((p) => p.type),
          checks: r.checks
        }
        break
      }
      case "Union":
        out = { ...r, types: r.types.map((t) => go(t)) }
        break
      case "Arrays":
        out = { ...r, elements: r.elements.map((e) => ({ ...e, type: go(e.type) })), rest: r.rest.map((t) => go(t)) }
        break
      case "Suspend":
        out = { ...r, thunk: go(r.thunk) }
        break
      case "Declaration": {
        // `Schema.Json` carries an `expected: "JSON value"` annotation that only adds noise to the output
        const { expected, ...annotations } = r.annotations ?? {}
        out = {
          ...r,
          annotations: expected === "JSON value" ? annotations : r.annotations,
          typeParameters: r.typeParameters.map((t) => go(t))
        }
        break
      }
      default:
        out = r
    }
    memo.set(input, out)
    return out
  }
  const references: Record<string, Representation> = {}
  for (const [k, v] of Object.entries(doc.references)) references[k] = go(v, experimentalFields.get(k))
  const representations = doc.representations.map((r) => go(r)) as unknown as SchemaRepresentation.MultiDocument[
    "representations"
  ]
  return { representations, references }
}

// ---------------------------------------------------------------------------------------------------------------
// oneOf overlap analysis
// ---------------------------------------------------------------------------------------------------------------

/**
 * Can a value produced for one member also match the other member? Objects are closed structs that strip
 * unknown keys, so `A` accepts a value of `B` when `A`'s required keys are all declared by `B` and the shared
 * (required somewhere) keys have overlapping types. Conservative (answers `true`) where unsure.
 */
const canOverlap = (references: References, x: Representation, y: Representation, depth = 0): boolean => {
  if (depth > 6) return true
  const deref = (r: Representation): Representation => (r._tag === "Reference" ? references[r.$ref] ?? r : r)
  x = deref(x)
  y = deref(y)
  if (x._tag === "Union") return x.types.some((t) => canOverlap(references, t, y, depth + 1))
  if (y._tag === "Union") return y.types.some((t) => canOverlap(references, x, t, depth + 1))
  if (x._tag === "Suspend") return canOverlap(references, x.thunk, y, depth + 1)
  if (y._tag === "Suspend") return canOverlap(references, x, y.thunk, depth + 1)
  const kind = (r: Representation): string =>
    openLiteralMembers.has(r)
      ? "string"
      : r._tag === "Literal"
      ? typeof r.literal
      : r._tag === "Objects"
      ? "object"
      : r._tag === "Arrays"
      ? "array"
      : r._tag === "Declaration" || r._tag === "Unknown" || r._tag === "Any"
      ? "any"
      : r._tag.toLowerCase()
  const kx = kind(x)
  const ky = kind(y)
  if (kx === "any" || ky === "any") return true
  if (kx !== ky) return false
  if (x._tag === "Literal" && y._tag === "Literal") return x.literal === y.literal
  if (x._tag === "Objects" && y._tag === "Objects") {
    if (x.indexSignatures.length > 0 || y.indexSignatures.length > 0) return true
    const accepts = (a: SchemaRepresentation.Objects, b: SchemaRepresentation.Objects): boolean => {
      const declared = new Map(b.propertySignatures.map((p) => [p.name, p]))
      for (const pa of a.propertySignatures) {
        const pb = declared.get(pa.name)
        if (pb === undefined) {
          if (!pa.isOptional) return false
          continue
        }
        if ((!pa.isOptional || !pb.isOptional) && !canOverlap(references, pa.type, pb.type, depth + 1)) return false
      }
      return true
    }
    return accepts(x, y) || accepts(y, x)
  }
  return true
}

/** `oneOf` unions where a real value could match two members (it would fail to decode) */
const findOneOfOverlaps = (references: References): Array<string> => {
  const found: Array<string> = []
  const seen = new Set<Representation>()
  const walk = (r: Representation, at: string): void => {
    if (seen.has(r)) return
    seen.add(r)
    switch (r._tag) {
      case "Union": {
        if (r.options?.mode === "oneOf") {
          for (let i = 0; i < r.types.length; i++) {
            for (let j = i + 1; j < r.types.length; j++) {
              if (canOverlap(references, r.types[i], r.types[j])) found.push(`${at}: members ${i} and ${j}`)
            }
          }
        }
        r.types.forEach((t, i) => walk(t, `${at}|${i}`))
        break
      }
      case "Objects":
        for (const p of r.propertySignatures) walk(p.type, `${at}.${String(p.name)}`)
        for (const s of r.indexSignatures) walk(s.type, `${at}[string]`)
        break
      case "Arrays":
        r.elements.forEach((e, i) => walk(e.type, `${at}[${i}]`))
        r.rest.forEach((e) => walk(e, `${at}[number]`))
        break
      case "Suspend":
        walk(r.thunk, at)
        break
    }
  }
  for (const name of Object.keys(references).sort(compare)) walk(references[name], name)
  return found
}

// ---------------------------------------------------------------------------------------------------------------
// Method maps
// ---------------------------------------------------------------------------------------------------------------

interface MethodEntry {
  readonly method: string
  /** TS type of the params */
  readonly paramsType: string
  /** runtime schema of the params */
  readonly paramsSchema: string
  /** definition name of the params, if any */
  readonly paramsName: string | undefined
  /** description of the union member */
  readonly description: string | undefined
  /** the response definition (requests only); `undefined` after `withResponses`: the bundle has none */
  readonly response?: string | undefined
}

const UNDEFINED_RESPONSE_DOC = "The schema bundle has no response definition for this method: `result` is not decoded."

/** TS type and runtime schema of a request's response */
const responseOf = (e: MethodEntry): { readonly type: string; readonly schema: string } =>
  e.response === undefined
    ? { type: "unknown", schema: "Schema.Unknown" }
    : { type: `P.${e.response}`, schema: `Lazy.${e.response}()` }

const refName = (schema: JsonObject): string => {
  const m = /^#\/definitions\/([^/]+)$/.exec(schema.$ref)
  if (m === null) throw new Error(`Expected a definition reference, got ${JSON.stringify(schema)}`)
  return m[1]
}

/** members of a `ClientRequest`-like union: `{ method: { enum: [m] }, params: ... }` */
const unionMethods = (defs: Record<string, JsonObject>, union: string): Array<MethodEntry> => {
  const def = defs[union]
  const branches: Array<JsonObject> | undefined = def?.oneOf ?? def?.anyOf
  if (!Array.isArray(branches)) throw new Error(`${union}: expected a oneOf/anyOf of request objects`)
  const entries = branches.map((branch): MethodEntry => {
    const methodEnum = branch.properties?.method?.enum
    if (!Array.isArray(methodEnum) || methodEnum.length !== 1) {
      throw new Error(`${union}: branch without a single method literal: ${JSON.stringify(branch).slice(0, 200)}`)
    }
    const method: string = methodEnum[0]
    const description: string | undefined = typeof branch.description === "string" ? branch.description : undefined
    const params: JsonObject | undefined = branch.properties.params
    const required = (branch.required ?? []).includes("params")
    if (params === undefined || params.type === "null") {
      // no params: `params` may be omitted (or null)
      return { method, description, paramsType: "undefined | null", paramsSchema: "NoParams()", paramsName: undefined }
    }
    if (typeof params.$ref === "string") {
      const name = refName(params)
      if (!required) {
        return {
          method,
          description,
          paramsType: `P.${name} | undefined`,
          paramsSchema: `Schema.UndefinedOr(Lazy.${name}())`,
          paramsName: name
        }
      }
      return { method, description, paramsType: `P.${name}`, paramsSchema: `Lazy.${name}()`, paramsName: name }
    }
    const members: Array<JsonObject> | undefined = params.anyOf ?? params.oneOf
    if (
      Array.isArray(members) && members.length === 2 && typeof members[0].$ref === "string" &&
      members[1].type === "null"
    ) {
      const name = refName(members[0])
      return required
        ? { method, description, paramsType: `P.${name} | null`, paramsSchema: `Schema.NullOr(Lazy.${name}())`, paramsName: name }
        : {
          method,
          description,
          paramsType: `P.${name} | null | undefined`,
          paramsSchema: `Schema.NullishOr(Lazy.${name}())`,
          paramsName: name
        }
    }
    throw new Error(`${union} ${method}: unsupported params schema ${JSON.stringify(params)}`)
  })
  const seen = new Set<string>()
  for (const e of entries) {
    if (seen.has(e.method)) throw new Error(`${union}: duplicate method ${e.method}`)
    seen.add(e.method)
  }
  return entries.sort((a, b) => compare(a.method, b.method))
}

const withResponses = (
  defs: Record<string, JsonObject>,
  entries: Array<MethodEntry>,
  kind: string,
  overrides: Readonly<Record<string, string>>
): { readonly entries: Array<MethodEntry>; readonly undefinedResponses: ReadonlyArray<string> } => {
  const problems = Object.keys(overrides).filter((m) => !entries.some((e) => e.method === m)).map((m) =>
    `  ${m}: stale override (no such method)`
  )
  const undefinedResponses: Array<string> = []
  const out = entries.map((e) => {
    const override = Object.hasOwn(overrides, e.method) ? overrides[e.method] : undefined
    const byName = e.paramsName?.endsWith("Params") ? e.paramsName.replace(/Params$/, "Response") : undefined
    const response = override ?? byName
    if (override !== undefined && !Object.hasOwn(defs, override)) {
      problems.push(`  ${e.method}: override ${override} is no definition`)
    } else if (response === undefined || !Object.hasOwn(defs, response)) {
      // codex ships such methods (e.g. 0.171's `modelProvider/default/set`): the result is not decoded
      undefinedResponses.push(e.method)
      return { ...e, response: undefined }
    } else if (override !== undefined && byName !== undefined && Object.hasOwn(defs, byName) && byName !== override) {
      problems.push(`  ${e.method}: override ${override} conflicts with ${byName}`)
    }
    return { ...e, response }
  })
  if (problems.length > 0) {
    throw new Error(
      `${kind}: cannot resolve the response schema of ${problems.length} method(s); fix RESPONSE_OVERRIDES in scripts/generate-schema.ts:\n${
        problems.join("\n")
      }`
    )
  }
  return { entries: out, undefinedResponses }
}

// ---------------------------------------------------------------------------------------------------------------
// Emit
// ---------------------------------------------------------------------------------------------------------------

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

const jsDoc = (description: unknown, indent = ""): Array<string> =>
  typeof description !== "string" || description.trim() === ""
    ? []
    : docComment(description).map((l) => `${indent}${l}`)

const header = (version: string): Array<string> => [
  `// Generated by scripts/generate-schema.ts from codex ${version}. Do not edit.`,
  `// Regenerate with \`npm run generate\`; CI checks it with \`npm run generate:check\`.`
]

const IDENTIFIER_START = /[A-Za-z_$]/
const IDENTIFIER_PART = /[A-Za-z0-9_$]/

/**
 * Rewrites the runtime code of a schema for the lazy module: a reference `X` to a definition becomes the call
 * `X()`, and inside a type annotation (`Schema.Codec<X>`) the type `P.X`. String literals (annotations such as
 * `"identifier": "X"`), object keys (`X: ...`) and member accesses (`Schema.X`) are left alone. The result is
 * type-checked with the rest of the project, so a reference this misses does not compile.
 */
const lazyReferences = (code: string, names: ReadonlySet<string>): string => {
  let out = ""
  let typeDepth = 0
  let i = 0
  const previousNonSpace = (at: number): string => {
    let j = at - 1
    while (j >= 0 && code[j] === " ") j--
    return j >= 0 ? code[j] : ""
  }
  while (i < code.length) {
    const ch = code[i]
    if (ch === "\"" || ch === "'" || ch === "`") {
      let j = i + 1
      while (j < code.length && code[j] !== ch) j += code[j] === "\\" ? 2 : 1
      out += code.slice(i, j + 1)
      i = j + 1
      continue
    }
    if (code.startsWith("Schema.Codec<", i)) {
      typeDepth++
      out += "Schema.Codec<"
      i += "Schema.Codec<".length
      continue
    }
    if (typeDepth > 0 && ch === "<") typeDepth++
    if (typeDepth > 0 && ch === ">" && code[i - 1] !== "=") typeDepth--
    if (IDENTIFIER_START.test(ch) && (i === 0 || !IDENTIFIER_PART.test(code[i - 1]))) {
      let j = i
      while (j < code.length && IDENTIFIER_PART.test(code[j])) j++
      const id = code.slice(i, j)
      let k = j
      while (k < code.length && code[k] === " ") k++
      const isKey = code[k] === ":" || (code[k] === "?" && code[k + 1] === ":")
      if (!names.has(id) || previousNonSpace(i) === "." || isKey) out += id
      else out += typeDepth > 0 ? `P.${id}` : `${id}()`
      i = j
      continue
    }
    out += ch
    i++
  }
  if (typeDepth !== 0) throw new Error(`Unbalanced type annotation in generated code: ${code.slice(0, 200)}`)
  return out
}

const generateProtocol = (version: string, flattened: Record<string, JsonObject>, experimental: Experimental) => {
  const names = Object.keys(flattened).sort(compare)
  const defs = { ...flattened }
  for (const name of ANY_OF_DEFINITIONS) {
    if (!Object.hasOwn(defs, name)) throw new Error(`ANY_OF_DEFINITIONS: unknown definition ${name}`)
    defs[name] = mapDeep(defs[name], (node) => {
      if (!Array.isArray(node.oneOf)) return node
      const { oneOf, ...rest } = node
      return { ...rest, anyOf: oneOf }
    }) as JsonObject
  }
  const doc = JsonSchema.fromSchemaDraft07({ definitions: defs })
  const roots = SchemaRepresentation.fromJsonSchemaMultiDocument(
    {
      dialect: "draft-2020-12",
      schemas: names.map((n) => ({ $ref: `#/$defs/${n}` })) as unknown as JsonSchema.MultiDocument<
        "draft-2020-12"
      >["schemas"],
      definitions: doc.definitions
    },
    { patterns: "ignore", onEnter }
  )
  const multi = SchemaRepresentation.toRepresentations(
    roots.map((s) => s.ast) as unknown as Parameters<typeof SchemaRepresentation.toRepresentations>[0]
  )
  const rewritten = rewriteOpenLiterals(multi)
  const overlaps = findOneOfOverlaps(rewritten.doc.references)
  if (overlaps.length > 0) {
    throw new Error(
      `${overlaps.length} oneOf union(s) have members that can match the same value (decoding would fail). ` +
        `Make the members disjoint (onEnter / open-literal rewrite) or list the definition in ANY_OF_DEFINITIONS:\n  ${
          overlaps.join("\n  ")
        }`
    )
  }
  const code = SchemaRepresentation.toCodeDocument(documentStructs(rewritten.doc, new Map(experimental.experimentalFields)))

  const definitionNames = new Set(names)
  const reserved = names.filter((n) => RESERVED_NAMES.has(n))
  if (reserved.length > 0) throw new Error(`Definitions named like a generated import: ${reserved.join(", ")}`)
  const recursives = Object.keys(code.references.recursives).sort(compare)

  // Protocol.gen.ts: the types (with their docs) and every schema, built at import from the lazy module
  const lines: Array<string> = []
  // ProtocolLazy.gen.ts: every schema as a memoized thunk, no docs (the public face is Protocol.gen.ts)
  const lazyLines: Array<string> = [
    ...header(version),
    "// Every definition of Protocol.gen.ts as a thunk that builds its schema on first call (and returns the same",
    "// schema afterwards): the SDK's main entry point reads schemas from here so that importing it builds none,",
    "// and takes `Schema` from lazyNamespaces.ts so that importing it does not load effect/Schema either.",
    "",
    `import { Schema } from "../internal/lazyNamespaces.ts"`
  ]
  for (const a of code.artifacts) if (a._tag === "Import") lazyLines.push(a.importDeclaration)
  lazyLines.push(`import { lazy } from "../internal/lazy.ts"`)
  if (recursives.length > 0) lazyLines.push(`import type * as P from "./${PROTOCOL_FILE}"`)
  lazyLines.push("")
  for (const a of code.artifacts) {
    if (a._tag === "Symbol") lazyLines.push(`const ${a.identifier} = ${a.code.runtime}`)
    else if (a._tag === "Enum") throw new Error(`Enum artifacts are not supported (erasableSyntaxOnly): ${a.code.runtime}`)
  }
  const emitted = new Set<string>()
  const emit = (id: string, c: SchemaRepresentation.Code, recursive: boolean) => {
    if (!Object.hasOwn(defs, id)) throw new Error(`Generated reference ${id} is not a definition name`)
    emitted.add(id)
    const doc = jsDoc(defs[id].description)
    lines.push(...doc, `export type ${id} = ${c.Type}`)
    lines.push(
      ...doc,
      recursive ? `export const ${id}: Schema.Codec<${id}> = Lazy.${id}()` : `export const ${id} = Lazy.${id}()`,
      ""
    )
    const runtime = lazyReferences(c.runtime, definitionNames)
    lazyLines.push(
      recursive
        ? `export const ${id} = /*#__PURE__*/ lazy((): Schema.Codec<P.${id}> => Schema.suspend((): Schema.Codec<P.${id}> => ${runtime}))`
        : `export const ${id} = /*#__PURE__*/ lazy(() => ${runtime})`
    )
  }
  for (const { $ref, code: c } of code.references.nonRecursives) emit($ref, c, false)
  for (const $ref of recursives) emit($ref, code.references.recursives[$ref], true)
  const missing = names.filter((n) => !emitted.has(n))
  if (missing.length > 0) throw new Error(`Definitions not emitted: ${missing.join(", ")}`)
  lazyLines.push("")
  const body = lines.join("\n")
  const imports = [
    // the types name `Schema.Json` and the like; recursive definitions annotate with `Schema.Codec`
    ...(/\bSchema\./.test(body) ? [`import type * as Schema from "effect/Schema"`] : []),
    `import * as Lazy from "./${LAZY_FILE}"`
  ]
  return {
    source: [...header(version), "", ...imports, "", body].join("\n"),
    lazySource: lazyLines.join("\n"),
    stats: {
      definitions: names.length,
      recursive: Object.keys(code.references.recursives).length,
      openLiterals: rewritten.count,
      openedSingles: rewritten.openedSingles
    }
  }
}

const methodsOf = (bundle: JsonObject, union: string): Set<string> =>
  new Set((flatten(bundle)[union].oneOf as Array<JsonObject>).map((b) => b.properties.method.enum[0] as string))

interface Experimental {
  /** definitions only present with `--experimental` */
  readonly experimentalTypes: ReadonlyArray<string>
  /** properties (by definition) only present with `--experimental` */
  readonly experimentalFields: ReadonlyArray<readonly [string, ReadonlyArray<string>]>
}

const experimentalOf = (defs: Record<string, JsonObject>, stableDefs: Record<string, JsonObject>): Experimental => {
  const experimentalFields: Array<readonly [string, ReadonlyArray<string>]> = []
  const experimentalTypes: Array<string> = []
  for (const name of Object.keys(defs).sort(compare)) {
    const stable = stableDefs[name]
    if (stable === undefined) {
      experimentalTypes.push(name)
      continue
    }
    const props = defs[name].properties
    if (isObject(props) && isObject(stable.properties)) {
      const extra = Object.keys(props).filter((p) => !Object.hasOwn(stable.properties, p)).sort(compare)
      if (extra.length > 0) experimentalFields.push([name, extra])
    }
  }
  return { experimentalTypes, experimentalFields }
}

const generateMethods = (
  version: string,
  defs: Record<string, JsonObject>,
  stableBundle: JsonObject,
  experimentalBundle: JsonObject,
  experimental: Experimental
) => {
  const client = withResponses(defs, unionMethods(defs, "ClientRequest"), "ClientRequest", RESPONSE_OVERRIDES)
  const server = withResponses(defs, unionMethods(defs, "ServerRequest"), "ServerRequest", {})
  const clientRequests = client.entries
  const serverRequests = server.entries
  const undefinedResponses = [...client.undefinedResponses, ...server.undefinedResponses]
  const serverNotifications = unionMethods(defs, "ServerNotification")
  const clientNotifications = unionMethods(defs, "ClientNotification")

  const experimentalMethods = (union: string): Array<string> => {
    const stable = methodsOf(stableBundle, union)
    return [...methodsOf(experimentalBundle, union)].filter((m) => !stable.has(m)).sort(compare)
  }
  const { experimentalTypes, experimentalFields } = experimental
  const q = (s: string) => JSON.stringify(s)
  const lines: Array<string> = [
    ...header(version),
    "",
    `import { lazy, lazyRecord } from "../internal/lazy.ts"`,
    `import { Schema } from "../internal/lazyNamespaces.ts"`,
    `import type * as P from "./${PROTOCOL_FILE}"`,
    `import * as Lazy from "./${LAZY_FILE}"`,
    "",
    "/** Params of a method whose JSON Schema has no params: `params` is omitted (or `null`) on the wire. */",
    "const NoParams = /*#__PURE__*/ lazy(() => Schema.UndefinedOr(Schema.Null))",
    ""
  ]

  const memberDoc = (e: MethodEntry, experimental: ReadonlySet<string>, isResponse: boolean): Array<string> => {
    const text = [
      ...(e.description === undefined ? [] : [e.description.trim()]),
      ...(isResponse && e.response === undefined ? [UNDEFINED_RESPONSE_DOC] : []),
      ...(experimental.has(e.method) ? ["@experimental requires `initialize` with `capabilities.experimentalApi: true`"] : [])
    ].join("\n\n")
    return text === "" ? [] : jsDoc(text, "  ")
  }
  const emitMap = (
    doc: string,
    typeName: string,
    constName: string,
    methodType: string,
    entries: ReadonlyArray<MethodEntry>,
    experimental: ReadonlySet<string>,
    member: (e: MethodEntry) => { readonly type: string; readonly schema: string },
    isResponse = false
  ) => {
    lines.push(`/** ${doc} */`, `export interface ${typeName} {`)
    for (const e of entries) {
      lines.push(...memberDoc(e, experimental, isResponse), `  readonly ${q(e.method)}: ${member(e).type}`)
    }
    lines.push("}", "")
    lines.push(
      `/** ${doc} (runtime schemas) */`,
      `export const ${constName}: { readonly [M in ${methodType}]: Schema.Codec<${typeName}[M]> } = /*#__PURE__*/ lazyRecord({`
    )
    lines.push(entries.map((e) => `  ${q(e.method)}: () => ${member(e).schema}`).join(",\n"))
    lines.push("})", "")
  }
  const emitSet = (doc: string, name: string, values: ReadonlyArray<string>) => {
    lines.push(`/** ${doc} */`)
    lines.push(
      values.length === 0
        ? `export const ${name}: ReadonlySet<string> = new Set<string>()`
        : `export const ${name}: ReadonlySet<string> = new Set<string>([\n${values.map((v) => `  ${q(v)}`).join(",\n")}\n])`,
      ""
    )
  }
  const rule = `// ${"-".repeat(110)}`

  const sections: Array<[string, string, ReadonlyArray<MethodEntry>, boolean]> = [
    ["ClientRequest", "client -> server requests", clientRequests, true],
    ["ServerRequest", "server -> client requests", serverRequests, true],
    ["ServerNotification", "server -> client notifications", serverNotifications, false],
    ["ClientNotification", "client -> server notifications", clientNotifications, false]
  ]
  const counts: Record<string, number> = {}
  for (const [kind, what, entries, hasResponse] of sections) {
    counts[kind] = entries.length
    const experimental = experimentalMethods(kind)
    const experimentalSet = new Set(experimental)
    lines.push(rule, `// ${kind}: ${what} (${entries.length} method${entries.length === 1 ? "" : "s"})`, rule, "")
    lines.push(`/** Method names of the ${what}. */`, `export type ${kind}Method = keyof ${kind}ParamsByMethod`, "")
    emitMap(
      `Params type by method of the ${what}.`,
      `${kind}ParamsByMethod`,
      `${kind}Params`,
      `${kind}Method`,
      entries,
      experimentalSet,
      (e) => ({ type: e.paramsType, schema: e.paramsSchema })
    )
    if (hasResponse) {
      emitMap(
        `Response (\`result\`) type by method of the ${what}.`,
        `${kind}ResponseByMethod`,
        `${kind}Responses`,
        `${kind}Method`,
        entries,
        experimentalSet,
        responseOf,
        true
      )
    }
    emitSet(
      `${kind} methods that only exist with \`codex app-server generate-json-schema --experimental\` (they need \`capabilities.experimentalApi\`).`,
      `Experimental${kind}Methods`,
      experimental
    )
  }

  lines.push(rule, "// Experimental types and fields", rule, "")
  emitSet("Definitions that only exist in the experimental schema.", "ExperimentalTypes", experimentalTypes)
  lines.push(
    "/** Fields (by type name) that only exist in the experimental schema, e.g. `ThreadStartParams.dynamicTools`. */",
    "export const ExperimentalFields: { readonly [typeName: string]: ReadonlyArray<string> } = {"
  )
  lines.push(experimentalFields.map(([t, fs]) => `  ${t}: [${fs.map(q).join(", ")}]`).join(",\n"))
  lines.push("}", "")

  const exported = [...lines.join("\n").matchAll(/^export (?:const|type|interface) (\w+)/gm)].map((m) => m[1])
  const clashes = exported.filter((n) => Object.hasOwn(defs, n))
  if (clashes.length > 0) throw new Error(`${METHODS_FILE} exports clash with protocol definitions: ${clashes.join(", ")}`)

  return {
    source: lines.join("\n"),
    counts,
    experimentalMethods: experimentalMethods("ClientRequest").length,
    undefinedResponses
  }
}

// ---------------------------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------------------------

const main = () => {
  const check = process.argv.includes("--check")
  const started = performance.now()
  const binary = resolveCodexBinary(process.argv.slice(2))
  const version = codexVersion(binary)
  const experimentalBundle = readBundle(binary, true)
  const stableBundle = readBundle(binary, false)
  const defs = flatten(experimentalBundle)

  const experimental = experimentalOf(defs, flatten(stableBundle))
  const protocol = generateProtocol(version, defs, experimental)
  const methods = generateMethods(version, defs, stableBundle, experimentalBundle, experimental)
  const files: Record<string, string> = {
    [PROTOCOL_FILE]: protocol.source,
    [LAZY_FILE]: protocol.lazySource,
    [METHODS_FILE]: methods.source
  }
  const ms = Math.round(performance.now() - started)
  if (methods.undefinedResponses.length > 0) {
    console.log(`methods without a response definition: ${methods.undefinedResponses.join(", ")} (typed as unknown)`)
  }

  if (check) {
    const stale = Object.entries(files).filter(([name, source]) => {
      const file = path.join(outDir, name)
      return !fs.existsSync(file) || fs.readFileSync(file, "utf8") !== source
    })
    if (stale.length > 0) {
      console.error(
        `generate:check failed: ${
          stale.map(([name]) => path.relative(repoRoot, path.join(outDir, name))).join(", ")
        } ${stale.length === 1 ? "differs" : "differ"} from what codex ${version} generates. Run \`npm run generate\` and commit the result.`
      )
      process.exit(1)
    }
    console.log(`generate:check: generated schema files are up to date (codex ${version}, ${ms} ms)`)
    return
  }
  fs.mkdirSync(outDir, { recursive: true })
  for (const [name, source] of Object.entries(files)) fs.writeFileSync(path.join(outDir, name), source)
  console.log(
    `codex ${version}: ${protocol.stats.definitions} definitions (${protocol.stats.recursive} recursive, ${protocol.stats.openLiterals} open literal unions, ` +
      `opened single-member enums: ${protocol.stats.openedSingles.join(", ")}); ` +
      `methods ${Object.entries(methods.counts).map(([k, n]) => `${k}=${n}`).join(" ")} ` +
      `(experimental client requests: ${methods.experimentalMethods}); ${ms} ms`
  )
  for (const name of Object.keys(files)) {
    const file = path.join(outDir, name)
    console.log(`  ${path.relative(repoRoot, file)}: ${fs.statSync(file).size} bytes`)
  }
}

try {
  main()
} catch (error) {
  console.error(`generate-schema: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
