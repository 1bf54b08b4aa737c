/**
 * Shell command lines as codex shows them.
 *
 * @internal
 */

/** The command inside a `/bin/bash -lc '<command>'` wrapper, or the command as is. */
export const unwrapShell = (command: string): string => {
  const trimmed = command.trim()
  const quoted = /^(?:\/\S*\/)?(?:ba|z)?sh\s+-l?c\s+(['"])([\s\S]*)\1$/.exec(trimmed)
  if (quoted !== null) return quoted[2]!.replace(/'\\''/g, "'")
  // codex leaves a one-word command unquoted: `/bin/bash -lc ls`
  const bare = /^(?:\/\S*\/)?(?:ba|z)?sh\s+-l?c\s+([^\s'"]+)$/.exec(trimmed)
  return bare === null ? trimmed : bare[1]!
}
