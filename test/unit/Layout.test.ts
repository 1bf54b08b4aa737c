/**
 * The floors of `src/` (DESIGN.md, "Layers of the code"): schema, then streams, then services, then
 * layers; a module imports only from its own floor or the floors below, and no two modules import each
 * other, directly or through others. The entry points (`src/index.ts`, `src/testing.ts`) sit on top.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

const src = path.resolve(import.meta.dirname, "../../src")
const FLOORS = ["schema", "streams", "services", "layers"] as const

const floorOf = (file: string): number => {
  const top = path.relative(src, file).split(path.sep)[0]!
  const index = FLOORS.indexOf(top as (typeof FLOORS)[number])
  return index === -1 ? FLOORS.length : index
}

const filesUnder = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? filesUnder(full) : entry.name.endsWith(".ts") ? [full] : []
  })

/** The relative imports of a module (type-only ones included: they tie the floors as much). */
const importsOf = (file: string): Array<string> => {
  const text = fs.readFileSync(file, "utf8")
  const out: Array<string> = []
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^"'`;]*?from\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    out.push(path.resolve(path.dirname(file), match[1]!))
  }
  return out
}

const files = filesUnder(src)
const graph = new Map(files.map((file) => [file, importsOf(file)]))
const rel = (file: string) => path.relative(src, file)

describe("Layout of src/", () => {
  it("imports point down the floors only", () => {
    const wrong: Array<string> = []
    for (const [file, imports] of graph) {
      for (const target of imports) {
        if (floorOf(target) > floorOf(file)) wrong.push(`${rel(file)} -> ${rel(target)}`)
      }
    }
    assert.deepStrictEqual(wrong, [])
  })

  it("no module imports itself back through others", () => {
    const cycles: Array<string> = []
    const state = new Map<string, "visiting" | "done">()
    const stack: Array<string> = []
    const visit = (file: string) => {
      state.set(file, "visiting")
      stack.push(file)
      for (const target of graph.get(file) ?? []) {
        if (state.get(target) === "visiting") {
          cycles.push([...stack.slice(stack.indexOf(target)), target].map(rel).join(" -> "))
        } else if (!state.has(target)) visit(target)
      }
      stack.pop()
      state.set(file, "done")
    }
    for (const file of files) if (!state.has(file)) visit(file)
    assert.deepStrictEqual(cycles, [])
  })

  it("every relative import resolves to a file", () => {
    const missing = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => !fs.existsSync(target)).map((target) => `${rel(file)} -> ${target}`)
    )
    assert.deepStrictEqual(missing, [])
    assert.isAbove(files.length, 30)
  })
})
