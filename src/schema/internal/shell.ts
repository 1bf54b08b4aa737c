/**
 * Shell command lines as codex shows them: a pure POSIX shell-words parser
 * (no I/O) and the `/bin/bash -lc '<command>'` wrapper around them.
 *
 * The parser reads only the plain-words subset of the shell language: words
 * made of literal characters, single quotes, double quotes and backslash
 * escapes. Anything that makes the shell do more than pass words to a program
 * (operators, substitutions, brace expansion, comments) is reported, not
 * interpreted, so a caller can refuse what it does not understand.
 *
 * @internal
 */

/** One word of a command line after quote removal. */
export interface ShellWord {
  /** The word's characters once quotes and escapes are removed. */
  readonly text: string
  /**
   * Index in `text` of the first unquoted `*`, `?` or `[` (from there the
   * shell may replace the word by the names of matching files), -1 if none.
   * The characters before it are literal: every name it can expand to starts
   * with them.
   */
  readonly globAt: number
}

/** Why a command line is not a plain list of words. */
export type ShellWordsRefusal =
  /** a `'` or `"` without its closing quote */
  | "unbalanced-quote"
  /** a `\` as the last character */
  | "trailing-backslash"
  /** an unquoted `|`, `&`, `;`, `<`, `>`, `(`, `)` or newline: pipes, chains, redirections, subshells */
  | "operator"
  /** a `$` or a backtick outside single quotes: parameter, command or arithmetic substitution */
  | "substitution"
  /** an unquoted `{` or `}`: brace expansion (`{-delete,}` becomes `-delete`) or a group */
  | "brace"
  /** an unquoted `#` starting a word: the rest of the line is a comment */
  | "comment"
  /** a NUL character, which no program argument can hold */
  | "nul"

/** The words of a command line, or why it is not a plain list of words. */
export type ShellWords =
  | { readonly _tag: "Words"; readonly words: ReadonlyArray<ShellWord> }
  | { readonly _tag: "Refused"; readonly reason: ShellWordsRefusal; readonly at: number }

const OPERATORS = new Set(["|", "&", ";", "<", ">", "(", ")", "\n"])
const GLOB = new Set(["*", "?", "["])
// inside double quotes a backslash escapes only these (POSIX); before any other character it stays
const DOUBLE_QUOTE_ESCAPES = new Set(["$", "`", "\"", "\\", "\n"])

/**
 * Splits a command line into words the way a POSIX shell (bash, zsh, dash)
 * does before running a simple command: blanks (space, tab) separate words,
 * `'...'` keeps everything literal, `"..."` keeps everything literal but
 * `\$ \` \" \\`, a backslash outside quotes makes the next character literal,
 * and a backslash-newline joins lines. Unquoted `*`, `?`, `[` are kept and
 * marked (see {@link ShellWord.globAt}).
 */
export const splitWords = (line: string): ShellWords => {
  const words: Array<ShellWord> = []
  let text = ""
  let globAt = -1
  let inWord = false
  const refuse = (reason: ShellWordsRefusal, at: number): ShellWords => ({ _tag: "Refused", reason, at })
  const endWord = () => {
    if (inWord) words.push({ text, globAt })
    text = ""
    globAt = -1
    inWord = false
  }
  let i = 0
  while (i < line.length) {
    const c = line[i]!
    if (c === "\0") return refuse("nul", i)
    if (c === " " || c === "\t") {
      endWord()
      i++
    } else if (OPERATORS.has(c)) {
      return refuse("operator", i)
    } else if (c === "$" || c === "`") {
      return refuse("substitution", i)
    } else if (c === "{" || c === "}") {
      return refuse("brace", i)
    } else if (c === "#" && !inWord) {
      return refuse("comment", i)
    } else if (c === "\\") {
      if (i + 1 >= line.length) return refuse("trailing-backslash", i)
      // backslash-newline is a line continuation: both characters vanish
      if (line[i + 1] !== "\n") {
        text += line[i + 1]
        inWord = true
      }
      i += 2
    } else if (c === "'") {
      const close = line.indexOf("'", i + 1)
      if (close < 0) return refuse("unbalanced-quote", i)
      const quoted = line.slice(i + 1, close)
      if (quoted.includes("\0")) return refuse("nul", i + 1 + quoted.indexOf("\0"))
      text += quoted
      inWord = true
      i = close + 1
    } else if (c === "\"") {
      const open = i
      inWord = true
      i++
      for (;;) {
        if (i >= line.length) return refuse("unbalanced-quote", open)
        const d = line[i]!
        if (d === "\"") break
        if (d === "\0") return refuse("nul", i)
        if (d === "$" || d === "`") return refuse("substitution", i)
        if (d === "\\" && i + 1 < line.length && DOUBLE_QUOTE_ESCAPES.has(line[i + 1]!)) {
          if (line[i + 1] !== "\n") text += line[i + 1]
          i += 2
        } else {
          text += d
          i++
        }
      }
      i++
    } else {
      if (GLOB.has(c) && globAt < 0) globAt = text.length
      text += c
      inWord = true
      i++
    }
  }
  endWord()
  return { _tag: "Words", words }
}

// Words a shell reads as themselves (not `=` first: zsh reads `=ls` as the path of ls)
const PLAIN = /^[A-Za-z0-9_@%+:,./-][A-Za-z0-9_@%+=:,./-]*$/

/**
 * The command line whose words are `words`: each one as is when it holds only
 * characters a shell reads literally, otherwise single-quoted (`'` written
 * `'\''`), so that {@link splitWords} gives `words` back. Joining with spaces
 * does not: `["rg", "'a", "--pre=x", "b'"]` would read back as one operand.
 */
export const joinWords = (words: ReadonlyArray<string>): string =>
  words.map((word) => PLAIN.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`).join(" ")

// Shells codex wraps commands in (`$SHELL -lc '<command>'`), by name (found on PATH, like the commands
// themselves) or in a system directory. A shell elsewhere (say, in a workspace the agent writes) is not
// looked through: its "script" is just an argument to some program.
const SHELL_NAMES = new Set(["bash", "sh", "zsh", "dash"])
const SHELL_DIRS = ["", "/bin/", "/usr/bin/", "/usr/local/bin/", "/opt/homebrew/bin/", "/run/current-system/sw/bin/"]
const SHELLS = new Set(SHELL_DIRS.flatMap((dir) => [...SHELL_NAMES].map((name) => dir + name)))

/**
 * The script of a `<shell> -c <script>` or `<shell> -lc <script>` command
 * (the shell is bash, sh, zsh or dash, by name or in a system directory, and
 * nothing follows the script), or `undefined` when the words are not such a
 * wrapper.
 */
export const wrappedScript = (words: ReadonlyArray<ShellWord>): string | undefined => {
  if (words.length !== 3 || words.some((word) => word.globAt >= 0)) return undefined
  const [shell, flag, script] = words as readonly [ShellWord, ShellWord, ShellWord]
  return SHELLS.has(shell.text) && (flag.text === "-c" || flag.text === "-lc") ? script.text : undefined
}

/**
 * The command inside a `/bin/bash -lc '<command>'` wrapper (also `bash -c`,
 * `/bin/sh -c`, `zsh -lc`, quoted or as one bare word), or the command as is
 * (trimmed) when it is not such a wrapper.
 */
export const unwrapShell = (command: string): string => {
  const trimmed = command.trim()
  const parsed = splitWords(trimmed)
  return (parsed._tag === "Words" ? wrappedScript(parsed.words) : undefined) ?? trimmed
}
