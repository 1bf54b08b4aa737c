/**
 * A throwaway PostgreSQL server on loopback, for the cluster and workflow tests and benches.
 *
 *   node scripts/postgres.ts start DIR   # initdb DIR, start on a free 127.0.0.1 port, print the URL
 *   node scripts/postgres.ts stop DIR    # stop it (fast shutdown); DIR can then be removed
 *
 * It uses Debian's binaries (`/usr/lib/postgresql/<version>/bin`, package `postgresql`). The server
 * refuses to run as root, so as root the data directory is handed to the `postgres` user (the package
 * creates it) and the binaries run as that user. Authentication is `trust` and it listens on
 * 127.0.0.1 only: the data is scratch, the port is not reachable from outside the machine.
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"

const binDir = (): string => {
  const root = "/usr/lib/postgresql"
  const versions = Fs.existsSync(root)
    ? Fs.readdirSync(root).filter((v) => Fs.existsSync(Path.join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a))
    : []
  if (versions.length === 0) {
    throw new Error("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install -y postgresql")
  }
  return Path.join(root, versions[0]!, "bin")
}

const asRoot = process.getuid?.() === 0

// As root, run as `postgres`; `runuser` keeps the environment minimal and needs no password.
const run = (tool: string, args: ReadonlyArray<string>): string => {
  const bin = Path.join(binDir(), tool)
  const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, [...args]]
  return execFileSync(file, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** Creates and starts a server in `dir` (which must not exist or be empty); returns its URL. */
export const start = async (dir: string): Promise<string> => {
  Fs.mkdirSync(dir, { recursive: true })
  if (asRoot) execFileSync("chown", ["postgres:", dir])
  run("initdb", ["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D", dir])
  const port = await freePort()
  // fsync off: a crash of this scratch server loses nothing anyone keeps
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories='${dir}' -c fsync=off -c max_connections=200`
  run("pg_ctl", ["-D", dir, "-o", options, "-l", Path.join(dir, "server.log"), "-w", "-t", "60", "start"])
  return `postgres://postgres@127.0.0.1:${port}/postgres`
}

/** Creates an empty database on the server at `url` and returns its URL (each test file gets its own). */
export const createDatabase = (url: string, name: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`)
  execFileSync(Path.join(binDir(), "psql"), [url, "-v", "ON_ERROR_STOP=1", "-qc", `CREATE DATABASE ${name}`], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  const target = new URL(url)
  target.pathname = `/${name}`
  return target.toString()
}

/** Whether Debian's PostgreSQL server binaries are installed. */
export const installed = (): boolean => {
  try {
    binDir()
    return true
  } catch {
    return false
  }
}

/** Stops the server in `dir`, if one runs. */
export const stop = (dir: string): void => {
  if (!Fs.existsSync(Path.join(dir, "postmaster.pid"))) return
  run("pg_ctl", ["-D", dir, "-m", "fast", "-w", "-t", "60", "stop"])
}

if (import.meta.main) {
  const [command, dir] = process.argv.slice(2)
  if ((command !== "start" && command !== "stop") || dir === undefined) {
    console.error("usage: node scripts/postgres.ts start|stop DIR")
    process.exit(2)
  }
  if (command === "start") console.log(await start(Path.resolve(dir)))
  else stop(Path.resolve(dir))
}
