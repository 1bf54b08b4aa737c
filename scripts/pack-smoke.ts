/**
 * The package as users get it: `npm pack`, the tarball installed in an empty scratch project (with its
 * peer dependencies `effect` and `@effect/platform-node`, offline from the npm cache), and
 * `npx effect-codex` run there: `--version`, `--help`, and one turn on the embedded LocalModel.
 *
 *   npm run build && node scripts/pack-smoke.ts      (.ci/run runs it after the build)
 *
 * Offline: the scratch project gets a lockfile cut from this repository's (the tarball, and the
 * packages it and its peers need, at the versions `npm ci` put in the cache), installed with
 * `npm ci --offline`. (`npm install --offline <name>@<version>` would need each package's full
 * registry document in the cache, which `npm ci` does not leave there.)
 *
 * Exits 1 with what went wrong. Everything happens in a temporary directory, removed at the end.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  readonly name: string
  readonly version: string
  readonly bin: Record<string, string>
}
const installedVersion = (name: string): string =>
  (JSON.parse(fs.readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version

const fail = (message: string): never => {
  console.error(`pack-smoke: ${message}`)
  process.exit(1)
}

if (!fs.existsSync(path.join(root, pkg.bin["effect-codex"]!))) fail("no dist/: run `npm run build` first")

// The Node that runs this script runs the tool too (the machine's default `node` may be older than
// `engines` asks): its directory goes first on the PATH the scratch project sees.
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`
}
delete env.CODEX_API_KEY
delete env.OPENAI_API_KEY

interface LockEntry {
  readonly version?: string
  readonly dependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
  readonly [key: string]: unknown
}

/**
 * The lockfile of a project that depends on the tarball and the peers: the tarball's entry, and every
 * package it needs, found as Node finds it (the nearest `node_modules` up the path) in this repository's
 * lockfile and copied as it is there, without the flags that only held for this repository (dev, peer).
 */
const scratchLock = (dependencies: Record<string, string>, tarball: string) => {
  const ours = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8")) as {
    readonly packages: Record<string, LockEntry>
  }
  const self = ours.packages[""]!
  const packages: Record<string, unknown> = {
    "": { name: "scratch", dependencies },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: `file:../${tarball}`,
      dependencies: self.dependencies,
      peerDependencies: self.peerDependencies,
      bin: pkg.bin
    }
  }
  const locate = (from: string, name: string): string | undefined => {
    for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf("/node_modules/")))) {
      const candidate = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`
      if (ours.packages[candidate] !== undefined) return candidate
      if (dir === "") return undefined
    }
  }
  const needs = (entry: LockEntry): Array<string> => [
    ...Object.keys(entry.dependencies ?? {}),
    ...Object.keys(entry.optionalDependencies ?? {}),
    ...Object.keys(entry.peerDependencies ?? {}).filter((name) => entry.peerDependenciesMeta?.[name]?.optional !== true)
  ]
  const queue: Array<[from: string, name: string]> = [
    ...needs(self).map((name): [string, string] => ["", name])
  ]
  while (queue.length > 0) {
    const [from, name] = queue.shift()!
    const at = locate(from, name)
    if (at === undefined) fail(`${name} (needed by ${from === "" ? pkg.name : from}) is not in package-lock.json`)
    if (packages[at!] !== undefined) continue
    const { dev: _dev, peer: _peer, devOptional: _devOptional, ...entry } = ours.packages[at!]!
    packages[at!] = entry
    for (const next of needs(entry)) queue.push([at!, next])
  }
  return { name: "scratch", lockfileVersion: 3, requires: true, packages }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "effect-codex-pack-"))
const run = (command: string, args: ReadonlyArray<string>, cwd: string) => {
  const result = spawnSync(command, args, { cwd, env: { ...env, TMPDIR: work }, encoding: "utf8", timeout: 300_000 })
  if (result.error !== undefined) fail(`${command} ${args.join(" ")}: ${result.error.message}`)
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}
const expect = (what: string, ok: boolean, output: { stdout: string; stderr: string }) => {
  if (!ok) fail(`${what}\n--- stdout\n${output.stdout}\n--- stderr\n${output.stderr}`)
  console.log(`pack-smoke: ok: ${what}`)
}

try {
  const tarball = execFileSync("npm", ["pack", "--silent", "--pack-destination", work], { cwd: root, env, encoding: "utf8" })
    .trim().split("\n").pop()!
  const project = path.join(work, "project")
  fs.mkdirSync(project)

  const dependencies = {
    [pkg.name]: `file:../${tarball}`,
    effect: installedVersion("effect"),
    "@effect/platform-node": installedVersion("@effect/platform-node")
  }
  fs.writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "scratch", private: true, type: "module", dependencies }, null, 2)
  )
  fs.writeFileSync(path.join(project, "package-lock.json"), JSON.stringify(scratchLock(dependencies, tarball), null, 2))
  const install = run("npm", ["ci", "--offline", "--no-audit", "--no-fund"], project)
  expect(`npm ci --offline: ${tarball} with its peer dependencies`, install.code === 0, install)

  const bin = fs.realpathSync(path.join(project, "node_modules", ".bin", "effect-codex"))
  expect("the installed bin is executable", (fs.statSync(bin).mode & 0o111) !== 0, { stdout: bin, stderr: "" })

  const version = run("npx", ["--no-install", "effect-codex", "--version"], project)
  expect(
    `npx effect-codex --version prints ${pkg.version}`,
    version.code === 0 && version.stdout.includes(pkg.version),
    version
  )

  const help = run("npx", ["--no-install", "effect-codex", "--help"], project)
  expect(
    "npx effect-codex --help lists the commands",
    help.code === 0 && ["run", "review", "threads", "read", "models"].every((command) => help.stdout.includes(command)),
    help
  )

  const prompt = "Say hello from the packed tarball"
  const turn = run("npx", ["--no-install", "effect-codex", "--local-model", "run", prompt], project)
  expect(
    `npx effect-codex --local-model run "${prompt}" streams the answer and the usage`,
    turn.code === 0 && turn.stdout.includes(prompt) && /\d tokens \(/.test(turn.stderr),
    turn
  )
} finally {
  fs.rmSync(work, { recursive: true, force: true, maxRetries: 3 })
}
