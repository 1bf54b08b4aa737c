/**
 * The documentation stays true to the code:
 *
 * - `docs/api-reference.md` is what `scripts/api-reference.ts` generates from the sources today;
 * - every ```ts block of the README, `docs/*.md` and of every JSDoc comment in `src/` type-checks against
 *   the SDK's sources (`import ... from "effect-codex"` resolves to `src/` through tsconfig `paths`).
 *
 * A block whose first line is `// fragment` is left out (for pieces that only make sense in context).
 * Blocks are written to `test/.docs-snippets/` (kept out of git) and checked by one `tsc` run; errors are
 * reported at their line in the Markdown file.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "../..")
const snippetsDir = path.join(root, "test", ".docs-snippets")
const DOCS = [
  "README.md",
  // the API reference holds declarations, and its examples are the JSDoc ones, checked at their source
  ...fs.readdirSync(path.join(root, "docs")).filter((file) => file.endsWith(".md") && file !== "api-reference.md")
    .map((file) => `docs/${file}`)
]

/** Every hand-written source file (generated code has no examples). */
const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = `${dir}/${entry.name}`
    if (entry.isDirectory()) return entry.name === "generated" ? [] : sourceFiles(rel)
    return entry.name.endsWith(".ts") ? [rel] : []
  })

/**
 * The ```ts blocks of the JSDoc comments of a source file: each comment's lines without their ` * `
 * prefix, at their own line numbers (blank lines stand in for the code between comments).
 */
const extractJsDocSnippets = (file: string, text: string): Array<Snippet> => {
  const lines = text.split("\n")
  const stripped = lines.map(() => "")
  let inComment = false
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (!inComment && /^\s*\/\*\*/.test(line)) inComment = true
    if (inComment) {
      stripped[i] = line.replace(/^\s*\/\*\*\s?/, "").replace(/^\s*\*\/.*$/, "").replace(/^\s*\* ?/, "")
      if (line.includes("*/")) inComment = false
    }
  }
  return extractSnippets(file, stripped.join("\n"))
}

/** A ```ts block of a Markdown file: its code and the line of its opening fence (1-based). */
interface Snippet {
  readonly doc: string
  readonly fenceLine: number
  readonly code: string
}

/** The ```ts blocks of a Markdown file, without the `// fragment` ones. */
const extractSnippets = (doc: string, text: string): Array<Snippet> => {
  const snippets: Array<Snippet> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\s*$/.exec(lines[i]!)
    if (open === null) continue
    const [, indent, fence] = open
    const body: Array<string> = []
    let j = i + 1
    for (; j < lines.length && lines[j]!.trim() !== fence; j++) body.push(lines[j]!.slice(indent!.length))
    if (j === lines.length) throw new Error(`${doc}:${i + 1}: unterminated code block`)
    if (!/^\s*\/\/\s*fragment\b/.test(body[0] ?? "")) snippets.push({ doc, fenceLine: i + 1, code: body.join("\n") })
    i = j
  }
  return snippets
}

const fileNameOf = (snippet: Snippet) => `${snippet.doc.replace(/[/.]/g, "_")}_L${snippet.fenceLine}.ts`

const runNode = (args: ReadonlyArray<string>): Promise<{ readonly code: number; readonly output: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, output: `${stdout}${stderr}` }))
  })

// the two checks run side by side (each is a child process)
describe.concurrent("docs", () => {
  it("docs/api-reference.md is what scripts/api-reference.ts generates", async () => {
    const { code, output } = await runNode(["scripts/api-reference.ts", "--check"])
    assert.strictEqual(code, 0, output)
  }, 60_000)

  it("every ts block of the README, docs/*.md and the JSDoc in src/ type-checks", async () => {
    const snippets = [
      ...DOCS.flatMap((doc) => extractSnippets(doc, fs.readFileSync(path.join(root, doc), "utf8"))),
      ...sourceFiles("src").flatMap((file) => extractJsDocSnippets(file, fs.readFileSync(path.join(root, file), "utf8")))
    ]
    assert.isAbove(snippets.filter((snippet) => snippet.doc.startsWith("src/")).length, 10)
    // the directory is kept between runs for tsc's incremental cache; the blocks are rewritten
    fs.mkdirSync(snippetsDir, { recursive: true })
    for (const file of fs.readdirSync(snippetsDir)) {
      if (file.endsWith(".ts")) fs.rmSync(path.join(snippetsDir, file))
    }
    const byFile = new Map<string, Snippet>()
    for (const snippet of snippets) {
      const file = fileNameOf(snippet)
      byFile.set(file, snippet)
      // `export {}` keeps each block a module of its own (it is appended, so line numbers stay the block's)
      fs.writeFileSync(path.join(snippetsDir, file), `${snippet.code}\nexport {}\n`)
    }
    fs.writeFileSync(
      path.join(snippetsDir, "tsconfig.json"),
      JSON.stringify(
        {
          extends: "../../tsconfig.base.json",
          compilerOptions: {
            noEmit: true,
            incremental: true,
            tsBuildInfoFile: "./.tsbuildinfo",
            // as in the repository's tsconfig: the package's entry points are its sources
            paths: {
              "effect-codex": ["../../src/index.ts"],
              "effect-codex/schema": ["../../src/schema/index.ts"],
              "effect-codex/testing": ["../../src/testing.ts"],
              "effect-codex/ai": ["../../src/ai.ts"],
              "effect-codex/promise": ["../../src/promise.ts"],
              "effect-codex/workflow": ["../../src/workflow.ts"],
              "effect-codex/cluster": ["../../src/cluster.ts"]
            },
            // a block may define a value to show it without using it
            noUnusedLocals: false,
            noUnusedParameters: false
          },
          include: ["*.ts"]
        },
        null,
        2
      )
    )
    const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc")
    const { code, output } = await runNode([tsc, "-p", path.join(snippetsDir, "tsconfig.json"), "--pretty", "false"])
    // test/.docs-snippets/README_md_L12.ts(3,5): error TS2304: ... -> README.md:15:5: error TS2304: ...
    const located = output.split("\n").filter((line) => line.trim() !== "").map((line) => {
      const match = /(?:^|[\\/])([^\\/(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line)
      const snippet = match === null ? undefined : byFile.get(match[1]!)
      return snippet === undefined || match === null
        ? line
        : `${snippet.doc}:${snippet.fenceLine + Number(match[2])}:${match[3]}: ${match[4]}`
    })
    assert.strictEqual(code, 0, `doc snippets do not type-check:\n${located.join("\n")}`)
  }, 120_000)
})
