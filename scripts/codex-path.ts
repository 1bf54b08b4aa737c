/**
 * Prints the path of a native codex binary that package.json installs, checked against its package's version:
 *
 *   node scripts/codex-path.ts            the pinned `@openai/codex`
 *   node scripts/codex-path.ts previous   the previous codex kept under test (the `codex-previous` npm alias)
 *
 * For the version matrix: `CODEX_PATH=$(node scripts/codex-path.ts previous) npm run test:real`.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"

const PACKAGES: Record<string, string> = { pinned: "@openai/codex", previous: "codex-previous" }

const main = () => {
  const which = process.argv[2] ?? "pinned"
  const wrapper = PACKAGES[which]
  if (wrapper === undefined) throw new Error(`unknown codex ${JSON.stringify(which)} (one of: ${Object.keys(PACKAGES).join(", ")})`)
  const require = createRequire(import.meta.url)
  const wrapperJson = require.resolve(`${wrapper}/package.json`)
  const version: string = JSON.parse(fs.readFileSync(wrapperJson, "utf8")).version
  // The wrapper's optional dependency for this platform (`@openai/codex-linux-x64`, ...), resolved from the wrapper
  // so an alias gets its own copy (npm nests it when the pinned codex holds the top-level name).
  const os = process.platform === "android" ? "linux" : process.platform
  const platformPackage = `@openai/codex-${os}-${process.arch}`
  const vendor = path.join(path.dirname(createRequire(wrapperJson).resolve(`${platformPackage}/package.json`)), "vendor")
  const exe = process.platform === "win32" ? "codex.exe" : "codex"
  const binaries = fs.readdirSync(vendor).map((triple) => path.join(vendor, triple, "bin", exe)).filter((f) => fs.existsSync(f))
  if (binaries.length !== 1) throw new Error(`expected one codex binary under ${vendor}, found ${binaries.length}`)
  const reported = execFileSync(binaries[0]!, ["--version"], { encoding: "utf8" }).trim()
  if (reported !== `codex-cli ${version}`) {
    throw new Error(`${binaries[0]} reports ${JSON.stringify(reported)}, but ${wrapper} is ${version}`)
  }
  process.stdout.write(`${binaries[0]}\n`)
}

try {
  main()
} catch (error) {
  console.error(`codex-path: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
