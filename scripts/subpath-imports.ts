/**
 * Rewrites imports of effect's barrels (`"effect"`, `"effect/encoding"`, `"effect/process"`, ...) in `src/` into
 * imports of the modules themselves: `import { Effect, Schema } from "effect"` becomes
 * `import * as Effect from "effect/Effect"` and `import * as Schema from "effect/Schema"`.
 *
 * Why: a barrel loads every module it re-exports. `import("effect")` evaluates ~250 modules; the SDK's main entry
 * point needs ~170 of them, and module loading (resolve, compile, evaluate) is most of the SDK's cold-import cost.
 * The namespace objects are the same either way (`import { Effect } from "effect"` IS the module namespace of
 * `effect/Effect`), so this changes no behaviour and no type.
 *
 *   node scripts/subpath-imports.ts            rewrite the files
 *   node scripts/subpath-imports.ts --check    list the files that still import a barrel, exit 1 if any
 *   node scripts/subpath-imports.ts [--check] FILE...   only these files
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const effectDist = path.join(repoRoot, "node_modules", "effect", "dist")

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

const IMPORT = /^import\s+(type\s+)?\{([^}]*)\}\s+from\s+"(effect(?:\/[a-z-]+)?)"\s*;?[ \t]*$/gm

/** The source with every barrel import rewritten, or `undefined` when there is none. */
export const rewrite = (source: string, file: string): string | undefined => {
  let changed = false
  const out = source.replace(IMPORT, (whole, typeOnly: string | undefined, list: string, specifier: string) => {
    const barrel = barrelOf(specifier)
    if (barrel === undefined) return whole
    changed = true
    const lines: Array<string> = []
    const named = new Map<string, Array<string>>()
    for (const raw of list.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      const m = /^(type\s+)?(\w+)(?:\s+as\s+(\w+))?$/.exec(raw)
      if (m === null) throw new Error(`${file}: cannot rewrite the specifier "${raw}" of ${specifier}`)
      const isType = typeOnly !== undefined || m[1] !== undefined
      const [, , name, alias] = m
      const target = barrel.namespaces.get(name)
      if (target !== undefined) {
        lines.push(`import ${isType ? "type " : ""}* as ${alias ?? name} from "${target}"`)
        continue
      }
      const module = barrel.named.get(name)
      if (module === undefined) throw new Error(`${file}: ${specifier} has no export ${name}`)
      const specifiers = named.get(module) ?? []
      specifiers.push(`${isType && typeOnly === undefined ? "type " : ""}${name}${alias === undefined ? "" : ` as ${alias}`}`)
      named.set(module, specifiers)
    }
    for (const [module, specifiers] of named) {
      lines.push(`import ${typeOnly !== undefined ? "type " : ""}{ ${specifiers.join(", ")} } from "${module}"`)
    }
    return lines.join("\n")
  })
  return changed ? out : undefined
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
    const next = rewrite(source, path.relative(repoRoot, file))
    if (next === undefined) continue
    pending.push(path.relative(repoRoot, file))
    if (!check) fs.writeFileSync(file, next)
  }
  if (check) {
    if (pending.length > 0) {
      console.error(`${pending.length} file(s) import an effect barrel (run \`node scripts/subpath-imports.ts\`):`)
      for (const f of pending) console.error(`  ${f}`)
      process.exit(1)
    }
    console.log("subpath-imports: no file imports an effect barrel")
  } else {
    console.log(`subpath-imports: rewrote ${pending.length} file(s)`)
    for (const f of pending) console.log(`  ${f}`)
  }
}

if (import.meta.main) main()
