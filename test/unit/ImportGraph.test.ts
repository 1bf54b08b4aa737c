/**
 * What a cold `import("effect-codex")` loads (issue 11: <= 150 ms of CPU). Module loading is most of that
 * cost, so the main entry point's static import graph (the imports that run at load time: not `import type`,
 * not dynamic `import()`) must not reach:
 *
 * - an effect barrel (`"effect"`, `"effect/encoding"`, ...): it loads every module it re-exports, ~250 for
 *   `"effect"` where the SDK needs ~175 (rewrite with `node scripts/subpath-imports.ts`);
 * - effect's modules by path, except from `src/schema/internal/effect.ts` and the schema entry point's own modules:
 *   Node resolves a bare specifier anew for every importing module, which cost ~25 ms over the SDK's modules;
 * - `Protocol.gen.ts`, which builds all ~950 protocol schemas at import (the SDK reads them from
 *   `ProtocolLazy.gen.ts`, built on first use);
 * - `@effect/platform-node` or another entry point (`effect-codex/testing`, `/ai`, `/promise`, `/schema`, the cli).
 *
 * And a cold import, run in a fresh Node process, must not load `effect/Schema` (with its graph, ~30% of the
 * import), `effect/SchemaAST` (which the child-process spawner brings), the spawner, `effect/socket/Socket` or
 * `effect/ai/OpenAiStructuredOutput`: the SDK reads them through `src/schema/internal/lazyNamespaces.ts`, loaded
 * on first use, so no module may use them while it loads (a module-level schema must be built on first use).
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "../..")
const src = path.join(root, "src")
const effectDist = path.resolve(import.meta.dirname, "../../node_modules/effect/dist")
const rel = (file: string) => path.relative(src, file)

/** The imports of a module that run when it loads: `import`/`export ... from` and bare `import "x"`, not type-only ones. */
const runtimeImportsOf = (file: string): Array<string> => {
  const text = fs.readFileSync(file, "utf8")
  const out: Array<string> = []
  for (const m of text.matchAll(/(?:^|\n)[ \t]*(?:import|export)\b(?![ \t]+type\b)([^"'`;]*?)from\s*["']([^"']+)["']/g)) {
    out.push(m[2]!)
  }
  for (const m of text.matchAll(/(?:^|\n)[ \t]*import\s*["']([^"']+)["']/g)) out.push(m[1]!)
  return out
}

const isEffectBarrel = (specifier: string): boolean =>
  specifier === "effect" ||
  (/^effect\/[a-z-]+$/.test(specifier) && fs.existsSync(path.join(effectDist, specifier.slice("effect/".length), "index.js")))

/** Every module the entry point loads, with the bare specifiers each imports. */
const graphOf = (entry: string): Map<string, Array<string>> => {
  const seen = new Map<string, Array<string>>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    const specifiers = runtimeImportsOf(file)
    seen.set(file, specifiers.filter((s) => !s.startsWith(".")))
    for (const s of specifiers) if (s.startsWith(".")) visit(path.resolve(path.dirname(file), s))
  }
  visit(entry)
  return seen
}

describe("the main entry point's import graph", () => {
  const graph = graphOf(path.join(src, "index.ts"))
  const offenders = (test: (file: string, bare: ReadonlyArray<string>) => boolean) =>
    [...graph].filter(([file, bare]) => test(file, bare)).map(([file]) => rel(file)).sort()

  it("reaches no effect barrel", () => {
    const barrels = offenders((_, bare) => bare.some(isEffectBarrel))
    assert.deepStrictEqual(barrels, [])
  })

  it("imports effect's modules through src/schema/internal/effect.ts only", () => {
    const direct = new Set([
      "schema/internal/effect.ts",
      "schema/internal/OpenLiterals.ts",
      "schema/generated/ProtocolLazy.gen.ts",
      "schema/generated/Methods.gen.ts"
    ])
    const byPath = offenders((_, bare) => bare.some((s) => s.startsWith("effect/") && !isEffectBarrel(s)))
    assert.deepStrictEqual(byPath.filter((f) => !direct.has(f)), [])
    assert.isTrue(byPath.includes("schema/internal/effect.ts"))
  })

  it("does not load Protocol.gen.ts, which builds every protocol schema", () => {
    const importers = offenders((file) => runtimeImportsOf(file).some((s) => /(^|\/)Protocol\.gen\.ts$/.test(s)))
    assert.deepStrictEqual(importers, [])
    assert.isTrue([...graph.keys()].some((f) => rel(f) === "schema/generated/ProtocolLazy.gen.ts"))
  })

  it("loads no other entry point and no platform package", () => {
    const entries = ["testing.ts", "ai.ts", "promise.ts", "schema/index.ts"].map((f) => path.join(src, f))
    const loaded = [...graph.keys()].filter((f) =>
      entries.includes(f) || rel(f).startsWith(`bin${path.sep}`) || rel(f).startsWith(`promise${path.sep}`) ||
      rel(f).startsWith(path.join("layers", "testing"))
    )
    assert.deepStrictEqual(loaded.map(rel), [])
    assert.deepStrictEqual(offenders((_, bare) => bare.some((s) => s.startsWith("@effect/platform"))), [])
    assert.isAbove(graph.size, 20)
  })
})

/** The effect modules (paths under effect's `dist/`) a fresh Node process loads running `body` (a module body). */
const effectModulesLoadedBy = (body: string): Array<string> => {
  const script = `
    import { registerHooks } from "node:module"
    const loaded = []
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context) } })
    ${body}
    console.log(JSON.stringify(loaded))`
  const out = execFileSync(process.execPath, ["--import", "./scripts/source-hooks.ts", "--input-type=module", "-e", script], {
    cwd: root,
    encoding: "utf8"
  })
  const urls = JSON.parse(out.trim().split("\n").at(-1)!) as Array<string>
  return urls.flatMap((url) => {
    const at = url.indexOf("/node_modules/effect/dist/")
    return at === -1 ? [] : [url.slice(at + "/node_modules/effect/dist/".length)]
  })
}

describe("a cold import of the main entry point", () => {
  const lazy = [
    "Schema.js",
    "SchemaAST.js",
    "SchemaParser.js",
    "process/ChildProcess.js",
    "process/ChildProcessSpawner.js",
    "socket/Socket.js",
    "ai/OpenAiStructuredOutput.js"
  ]

  it("loads neither effect/Schema nor the other namespaces read on first use", () => {
    const loaded = effectModulesLoadedBy(`await import("effect-codex")`)
    assert.isAbove(loaded.length, 50) // the hook saw effect's modules at all
    assert.isTrue(loaded.includes("Effect.js"))
    assert.deepStrictEqual(loaded.filter((m) => lazy.includes(m)), [])
  })

  it("loads effect/Schema once a schema is used, as the same module an import gets", () => {
    const loaded = effectModulesLoadedBy(`
      const { CodexError } = await import("effect-codex")
      const Schema = await import("effect/Schema")
      if (!Schema.isSchema(CodexError.CodexErrorReason)) throw new Error("not a schema")
      const error = Schema.decodeUnknownSync(CodexError.CodexError)({ _tag: "CodexError", reason: { _tag: "Closed" } })
      if (!(error.reason instanceof CodexError.Closed)) throw new Error("not decoded into the class")
      if (CodexError.SpawnError.fields.command !== Schema.String) throw new Error("another instance of effect/Schema")`)
    assert.isTrue(loaded.includes("Schema.js"))
  })
})
