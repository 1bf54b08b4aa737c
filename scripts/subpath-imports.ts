/**
 * Rewrites the SDK's imports of effect so that a cold import loads as little as possible:
 *
 * - a namespace the main entry point uses (those `src/schema/internal/effect.ts` lists) is imported from that
 *   module: `import { Effect, Schema } from "effect"` and `import * as Effect from "effect/Effect"` become
 *   `import { Effect, Schema } from "../schema/internal/effect.ts"`;
 * - any other name of an effect barrel (`"effect"`, `"effect/encoding"`, `"effect/process"`, ...) is imported from
 *   its own module: `import { Terminal } from "effect"` becomes `import * as Terminal from "effect/Terminal"`.
 *
 * Why: a barrel loads every module it re-exports (`import("effect")` evaluates ~250 modules; the SDK's main entry
 * point needs ~175), and Node resolves a bare specifier anew for every module that imports it (~25 ms over the
 * SDK's modules), so the main entry point's modules import effect through the one module that resolves each
 * specifier once. The namespace objects are the same either way (`import { Effect } from "effect"` IS the module
 * namespace of `effect/Effect`), so this changes no behaviour and no type. The schema entry point's own modules
 * (`DIRECT` below) import `effect/Schema` by path, so that `effect-codex/schema` does not load the rest.
 *
 *   node scripts/subpath-imports.ts            rewrite the files under src/
 *   node scripts/subpath-imports.ts --check    list the files that would change, exit 1 if any
 *   node scripts/subpath-imports.ts [--check] FILE...   only these files
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const effectDist = path.join(repoRoot, "node_modules", "effect", "dist")
/** The module the main entry point's files import effect's namespaces from. */
export const LOCAL_BARREL = path.join(repoRoot, "src", "schema", "internal", "effect.ts")
/** Files that import effect by path: the local barrel itself and the modules of the schema entry point. */
export const DIRECT: ReadonlySet<string> = new Set(
  [
    "src/schema/internal/effect.ts",
    "src/schema/internal/OpenLiterals.ts",
    "src/schema/internal/lazy.ts",
    "src/schema/generated/Protocol.gen.ts",
    "src/schema/generated/ProtocolLazy.gen.ts",
    "src/schema/generated/Methods.gen.ts"
  ].map((f) => path.join(repoRoot, f))
)

/** module specifier -> name, of the local barrel's `export * as Name from "effect/Module"` lines */
const local = new Map<string, string>(
  [...fs.readFileSync(LOCAL_BARREL, "utf8").matchAll(/^export \* as (\w+) from "(effect\/[\w/-]+)"/gm)].map((m) => [m[2], m[1]])
)

/** A barrel's exports: namespace re-exports (`export * as X from "./X.js"`) and named re-exports by module. */
interface Barrel {
  readonly namespaces: ReadonlyMap<string, string>
  readonly named: ReadonlyMap<string, string>
}

const barrels = new Map<string, Barrel | undefined>()

/** The barrel behind `specifier` (`effect` or `effect/<folder>` with an `index.js`), or `undefined`. */
const barrelOf = (specifier: string): Barrel | undefined => {
  if (barrels.has(specifier)) return barrels.get(specifier)
  const folder = specifier === "effect" ? "" : specifier.slice("effect/".length)
  const file = path.join(effectDist, folder, "index.js")
  let barrel: Barrel | undefined
  if ((specifier === "effect" || /^effect\/[a-z-]+$/.test(specifier)) && fs.existsSync(file)) {
    const source = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "")
    const base = specifier === "effect" ? "effect" : specifier
    const namespaces = new Map<string, string>()
    for (const m of source.matchAll(/export \* as (\w+) from "\.\/([\w/-]+)\.js"/g)) namespaces.set(m[1], `${base}/${m[2]}`)
    const named = new Map<string, string>()
    for (const m of source.matchAll(/export \{([^}]*)\} from "\.\/([\w/-]+)\.js"/g)) {
      for (const name of m[1].split(",").map((s) => s.trim()).filter((s) => s !== "")) named.set(name, `${base}/${m[2]}`)
    }
    barrel = namespaces.size > 0 || named.size > 0 ? { namespaces, named } : undefined
  }
  barrels.set(specifier, barrel)
  return barrel
}

const NAMED = /^import\s+(type\s+)?\{([^}]*)\}\s+from\s+"(effect(?:\/[a-z-]+)?)"\s*;?[ \t]*$/gm
const NAMESPACE = /^import\s+(type\s+)?\*\s+as\s+(\w+)\s+from\s+"(effect\/[\w/-]+)"\s*;?[ \t]*$/gm

const specifierOf = (file: string): string => {
  const rel = path.relative(path.dirname(file), LOCAL_BARREL).split(path.sep).join("/")
  return rel.startsWith(".") ? rel : `./${rel}`
}

/** The source with effect's imports rewritten as described above, or `undefined` when nothing changes. */
export const rewrite = (source: string, file: string): string | undefined => {
  if (DIRECT.has(file)) return undefined
  const fromLocal = specifierOf(file)
  const name = (file: string) => path.relative(repoRoot, file)
  const localImport = (typeOnly: boolean, specifiers: ReadonlyArray<string>) =>
    `import ${typeOnly ? "type " : ""}{ ${specifiers.join(", ")} } from "${fromLocal}"`
  let out = source.replace(NAMESPACE, (whole, typeOnly: string | undefined, alias: string, specifier: string) => {
    const localName = local.get(specifier)
    if (localName === undefined) return whole
    return localImport(typeOnly !== undefined, [localName === alias ? alias : `${localName} as ${alias}`])
  })
  out = out.replace(NAMED, (whole, typeOnly: string | undefined, list: string, specifier: string) => {
    const barrel = barrelOf(specifier)
    if (barrel === undefined) return whole
    const lines: Array<string> = []
    const viaLocal: Array<string> = []
    const named = new Map<string, Array<string>>()
    for (const raw of list.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      const m = /^(type\s+)?(\w+)(?:\s+as\s+(\w+))?$/.exec(raw)
      if (m === null) throw new Error(`${name(file)}: cannot rewrite the specifier "${raw}" of ${specifier}`)
      const isType = typeOnly !== undefined || m[1] !== undefined
      const [, typeMark, exported, alias] = m
      const target = barrel.namespaces.get(exported)
      if (target !== undefined) {
        const localName = local.get(target)
        if (localName !== undefined) {
          const as = alias ?? exported
          viaLocal.push(`${typeMark ?? ""}${localName === as ? as : `${localName} as ${as}`}`)
        } else {
          lines.push(`import ${isType ? "type " : ""}* as ${alias ?? exported} from "${target}"`)
        }
        continue
      }
      const module = barrel.named.get(exported)
      if (module === undefined) throw new Error(`${name(file)}: ${specifier} has no export ${exported}`)
      const specifiers = named.get(module) ?? []
      specifiers.push(`${typeMark ?? ""}${exported}${alias === undefined ? "" : ` as ${alias}`}`)
      named.set(module, specifiers)
    }
    if (viaLocal.length > 0) lines.unshift(localImport(typeOnly !== undefined, viaLocal))
    for (const [module, specifiers] of named) {
      lines.push(`import ${typeOnly !== undefined ? "type " : ""}{ ${specifiers.join(", ")} } from "${module}"`)
    }
    return lines.join("\n")
  })
  return out === source ? undefined : out
}

const walk = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? walk(p) : e.name.endsWith(".ts") ? [p] : []
  })

const main = () => {
  const args = process.argv.slice(2)
  const check = args.includes("--check")
  const given = args.filter((a) => !a.startsWith("--")).map((a) => path.resolve(a))
  const files = given.length > 0 ? given : walk(path.join(repoRoot, "src"))
  const pending: Array<string> = []
  for (const file of files) {
    const source = fs.readFileSync(file, "utf8")
    const next = rewrite(source, file)
    if (next === undefined) continue
    pending.push(path.relative(repoRoot, file))
    if (!check) fs.writeFileSync(file, next)
  }
  if (check) {
    if (pending.length > 0) {
      console.error(`${pending.length} file(s) import effect otherwise than through src/schema/internal/effect.ts or by path (run \`node scripts/subpath-imports.ts\`):`)
      for (const f of pending) console.error(`  ${f}`)
      process.exit(1)
    }
    console.log("subpath-imports: every import of effect is in place")
  } else {
    console.log(`subpath-imports: rewrote ${pending.length} file(s)`)
    for (const f of pending) console.log(`  ${f}`)
  }
}

if (import.meta.main) main()
