/**
 * The fake app-server of bench/icount/floodServer.ts as an executable the SDK can be pointed at
 * (`AppServer.layer({ codexPath })` spawns `<codexPath> app-server -c ...`; the raw client spawns
 * the same file). A module of its own: floodServer.ts is a script, importing it would run it.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"

/** Writes `<dir>/fake-codex`, a shell script that execs this Node on floodServer.ts; returns its path. */
export const floodExecutable = (dir: string): string => {
  const file = NodePath.join(dir, "fake-codex")
  const script = NodePath.join(import.meta.dirname, "floodServer.ts")
  NodeFs.writeFileSync(file, `#!/bin/sh\nexec '${process.execPath}' '${script}' "$@"\n`, { mode: 0o755 })
  return file
}
