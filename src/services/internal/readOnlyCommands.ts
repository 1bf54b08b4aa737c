/**
 * The allow-list behind `Approvals.isReadOnlyCommand`: which commands, which
 * of their flags and operands only read.
 *
 * Everything not listed is refused, so an entry errs on the side of leaving a
 * flag out. The parsing mirrors how each program reads its arguments (GNU
 * getopt for most, git's parse-options, find's expression grammar, tree's own
 * loop) closely enough that a flag this module does not see cannot reach the
 * program: where the two could disagree (is the next word a flag's value or a
 * flag of its own?), the word is refused.
 *
 * @internal
 */
import { splitWords, unwrapShell, type ShellWord } from "../../schema/internal/shell.ts"

/**
 * How a flag takes its value:
 * - `switch`: none (`--all`, `-a`); `--all=x` is refused;
 * - `value`: required, attached (`--max-count=5`, `-m5`) or as the next word (`-m 5`);
 * - `optional`: only attached (`--color`, `--color=auto`, `-U`, `-U5`), never the next word;
 * - `valueOrDefault`: git's "last argument default" (`--merged`, `--merged main`): the next word is the value
 *   unless it is missing or a flag.
 */
type Kind = "switch" | "value" | "optional" | "valueOrDefault"

/**
 * A flag list as text, one entry per flag: `-a` / `--all` (switch), `-m=` / `--max-count=` (value),
 * `-U[=]` / `--color[=]` (optional), `--merged=?` (valueOrDefault).
 */
type FlagList = string

const compileFlags = (list: FlagList): ReadonlyMap<string, Kind> => {
  const flags = new Map<string, Kind>()
  for (const entry of list.split(/\s+/).filter((s) => s !== "")) {
    const m = /^(-[^-=[\]]|--[^=[\]]+)(=\?|\[=\]|=)?$/.exec(entry)
    if (m === null) throw new Error(`readOnlyCommands: bad flag entry ${entry}`)
    // a flag listed twice could be listed with two kinds: the table must say one thing
    if (flags.has(m[1]!)) throw new Error(`readOnlyCommands: flag ${m[1]} listed twice`)
    flags.set(m[1]!, m[2] === "=" ? "value" : m[2] === "[=]" ? "optional" : m[2] === "=?" ? "valueOrDefault" : "switch")
  }
  return flags
}

/** How one program reads its arguments, as far as this module lets it. */
interface Getopt {
  readonly flags: FlagList
  /** `-NUM` is a count (`head -5`, `git log -3`, `grep -2` for context). */
  readonly numeric?: boolean
  /**
   * A short flag that takes a value must be a word of its own (`-L 2`): tree
   * takes the value of `-L` from the next word even inside a cluster, so
   * `-Lo 2 x` would be `-L 2 -o x` to it.
   */
  readonly shortValuesAlone?: boolean
  /** Checks on some flags' values (a value with a check must hold no glob character). */
  readonly checks?: Readonly<Record<string, (value: string) => boolean>>
  /** A check on the operands once the flags are read (default: any operand). */
  readonly operands?: (operands: ReadonlyArray<ShellWord>, seen: ReadonlySet<string>) => boolean
}

interface Compiled extends Getopt {
  readonly compiled: ReadonlyMap<string, Kind>
}

// A value given as the next word must not look like a flag nor expand into several words: were this module
// wrong about a flag taking a value, what it skipped as "the value" would be read by the program as a flag
// (`--pre=...`) or spill extra operands.
const plainValue = (word: ShellWord | undefined): word is ShellWord =>
  word !== undefined && word.globAt < 0 && !word.text.startsWith("-")

/**
 * Reads `args` as `program` would; the operands and the flags seen, or
 * `undefined` when an argument is not allowed.
 *
 * Globs: an unquoted `*`, `?` or `[` makes the shell replace the word by file
 * names, and a file may be called `--pre=./x.sh`. So a glob is allowed only
 * behind a literal prefix that keeps every expansion what the word was: an
 * operand not starting with `-` or with the glob not first (`src/*.ts`, not
 * `*.ts`), any operand after `--`, and the value part of `--name=value`.
 */
const readArgs = (
  program: Compiled,
  args: ReadonlyArray<ShellWord>
): { readonly operands: ReadonlyArray<ShellWord>; readonly seen: ReadonlySet<string> } | undefined => {
  const operands: Array<ShellWord> = []
  const seen = new Set<string>()
  const valueOk = (name: string, value: string, glob: boolean) => {
    const check = program.checks?.[name]
    return check === undefined || (!glob && check(value))
  }
  let endOfOptions = false
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!
    const text = word.text
    if (endOfOptions || text === "-" || !text.startsWith("-")) {
      if (!endOfOptions && word.globAt === 0) return undefined
      operands.push(word)
      continue
    }
    if (text === "--") {
      endOfOptions = true
      continue
    }
    if (program.numeric === true && /^-[0-9]+$/.test(text)) continue
    if (text.startsWith("--")) {
      const eq = text.indexOf("=")
      const name = eq < 0 ? text : text.slice(0, eq)
      if (word.globAt >= 0 && (eq < 0 || word.globAt <= eq)) return undefined
      const kind = program.compiled.get(name)
      if (kind === undefined) return undefined
      seen.add(name)
      if (eq >= 0) {
        if (kind === "switch" || !valueOk(name, text.slice(eq + 1), word.globAt >= 0)) return undefined
        continue
      }
      if (kind === "switch" || kind === "optional") continue
      const next = args[i + 1]
      if (kind === "valueOrDefault" && (next === undefined || next.text.startsWith("-"))) continue
      if (!plainValue(next) || !valueOk(name, next.text, false)) return undefined
      i++
      continue
    }
    // a cluster of short flags: `-la`, `-n5`, `-uno`
    if (word.globAt >= 0) return undefined
    for (let j = 1; j < text.length; j++) {
      const name = `-${text[j]}`
      const kind = program.compiled.get(name)
      if (kind === undefined) return undefined
      seen.add(name)
      if (kind === "switch") continue
      if (program.shortValuesAlone === true && text.length !== 2) return undefined
      const rest = text.slice(j + 1)
      if (rest !== "") {
        if (!valueOk(name, rest, false)) return undefined
        break
      }
      if (kind === "optional") break
      const next = args[i + 1]
      if (kind === "valueOrDefault" && (next === undefined || next.text.startsWith("-"))) break
      if (!plainValue(next) || !valueOk(name, next.text, false)) return undefined
      i++
      break
    }
  }
  return { operands, seen }
}

const getopt = (program: Getopt): (args: ReadonlyArray<ShellWord>) => boolean => {
  // compiled on first use: importing the SDK needs none of the ~40 tables
  let compiled: Compiled | undefined
  return (args) => {
    compiled ??= { ...program, compiled: compileFlags(program.flags) }
    const read = readArgs(compiled, args)
    return read !== undefined && (program.operands === undefined || program.operands(read.operands, read.seen))
  }
}

// ---------------------------------------------------------------------------------------------------------
// find: its own expression grammar, every primary with a fixed number of arguments
// ---------------------------------------------------------------------------------------------------------

/** find's options before the starting points. */
export const FIND_OPTIONS = "-H -L -P"
/** Operators of find expressions. */
export const FIND_OPERATORS = "( ) ! , -not -a -and -o -or"
/** find primaries without an argument (tests, options, and actions that print to stdout). */
export const FIND_PRIMARIES =
  "-depth -empty -executable -false -true -readable -writable -nouser -nogroup -mount -xdev -noleaf " +
  "-ignore_readdir_race -noignore_readdir_race -daystart -follow -prune -quit -print -print0 -ls -warn -nowarn"
/** find primaries with one argument (`-newerXY`, as `-newermt`, too). */
export const FIND_PRIMARIES_WITH_ARGUMENT =
  "-name -iname -path -ipath -wholename -iwholename -regex -iregex -lname -ilname -type -xtype -maxdepth " +
  "-mindepth -size -mtime -mmin -atime -amin -ctime -cmin -used -newer -anewer -cnewer -user -group -uid -gid " +
  "-perm -links -inum -samefile -fstype -regextype -printf"

const words = (list: string) => new Set(list.split(" "))
const findOptions = words(FIND_OPTIONS)
const findOperators = words(FIND_OPERATORS)
const findPrimaries = words(FIND_PRIMARIES)
const findPrimariesWithArgument = words(FIND_PRIMARIES_WITH_ARGUMENT)

// find starts its expression at the first argument that begins with `-` or is `(`, `)`, `!` or `,`.
const startsExpression = (text: string) => text.startsWith("-") || findOperators.has(text)

// No glob in the expression: `-name *.ts` is the shell's, and a file called `-delete` would match it.
const find = (args: ReadonlyArray<ShellWord>): boolean => {
  let i = 0
  while (i < args.length && args[i]!.globAt < 0 && findOptions.has(args[i]!.text)) i++
  for (; i < args.length && !startsExpression(args[i]!.text); i++) {
    if (args[i]!.globAt === 0) return false
  }
  for (; i < args.length; i++) {
    const { globAt, text } = args[i]!
    if (globAt >= 0) return false
    if (findOperators.has(text) || findPrimaries.has(text)) continue
    if (!findPrimariesWithArgument.has(text) && !/^-newer[aBcm][aBcmt]$/.test(text)) return false
    const argument = args[i + 1]
    if (argument === undefined || argument.globAt >= 0) return false
    i++
  }
  return true
}

// ---------------------------------------------------------------------------------------------------------
// git: no global option but --no-pager / --no-optional-locks, then a subcommand with its own flags
// ---------------------------------------------------------------------------------------------------------

/** git options accepted before the subcommand. */
export const GIT_OPTIONS = "--no-pager -P --no-optional-locks"

// `%G...` placeholders and `%(signature...)` atoms verify signatures: they run gpg (or `gpg.program`)
const noSignature = (format: string) => !/%G|%\(signature/.test(format)

/** Flags of the diff machinery, shared by `git diff`, `git log` and `git show`. */
export const GIT_DIFF_FLAGS = "-p -u -s -z -R -a -w -b -W -D --patch --no-patch --raw --patch-with-raw " +
  "--patch-with-stat --stat[=] --numstat --shortstat --compact-summary --summary --name-only --name-status " +
  "--dirstat[=] --cumulative --full-index --binary --abbrev[=] --color[=] --no-color --color-moved[=] " +
  "--no-color-moved --color-words[=] --word-diff[=] --word-diff-regex= --no-renames --find-renames[=] -M[=] " +
  "--find-copies[=] -C[=] --find-copies-harder --break-rewrites[=] -B[=] --irreversible-delete -l= " +
  "--diff-filter= -S= -G= --pickaxe-all --pickaxe-regex --text --ignore-all-space --ignore-space-change " +
  "--ignore-space-at-eol --ignore-blank-lines --ignore-cr-at-eol --minimal --patience --histogram " +
  "--diff-algorithm= --anchored= -U[=] --unified[=] --inter-hunk-context= --function-context --relative[=] " +
  "--no-relative --src-prefix= --dst-prefix= --no-prefix --default-prefix --line-prefix= " +
  "--ignore-submodules[=] --submodule[=] --no-ext-diff --no-textconv --check --exit-code --quiet " +
  "--stat-width= --stat-name-width= --stat-count= --stat-graph-width= --indent-heuristic --no-indent-heuristic"

/** `git diff` flags beside {@link GIT_DIFF_FLAGS}. */
export const GIT_DIFF_ONLY_FLAGS = "--cached --staged --merge-base --no-index"

/** `git log` and `git show` flags beside {@link GIT_DIFF_FLAGS}. */
export const GIT_LOG_FLAGS = "--oneline --graph --decorate[=] --no-decorate --all --branches[=] --tags[=] " +
  "--remotes[=] --reverse --first-parent --merges --no-merges --follow --abbrev-commit --no-abbrev-commit " +
  "--topo-order --date-order --author-date-order --left-right --left-only --right-only --cherry-pick " +
  "--cherry-mark --cherry --boundary --source --full-history --simplify-by-decoration --simplify-merges " +
  "--dense --sparse --ancestry-path --remove-empty --parents --children --relative-date -i " +
  "--regexp-ignore-case -E -F --extended-regexp --fixed-strings --basic-regexp --all-match --invert-grep -g " +
  "--walk-reflogs --no-walk[=] --do-walk --mailmap --use-mailmap --no-mailmap -m -c --cc " +
  "--combined-all-paths --diff-merges= --no-diff-merges -t --no-notes --no-expand-tabs -n= --max-count= " +
  "--skip= --since= --after= --until= --before= --author= --committer= --grep= --date= --format= --pretty[=]"

/** `git status` flags. */
export const GIT_STATUS_FLAGS = "-s -b -v -z --short --branch --show-stash --long --verbose --null " +
  "--ahead-behind --no-ahead-behind --renames --no-renames --find-renames[=] --porcelain[=] -u[=] " +
  "--untracked-files[=] --ignored[=] --ignore-submodules[=] --column[=] --no-column"

/** `git branch` flags: listing only. */
export const GIT_BRANCH_FLAGS = "-a -r -v -i -l --all --remotes --verbose --list --ignore-case --show-current " +
  "--no-color --no-column --no-abbrev --omit-empty --color[=] --column[=] --abbrev[=] --contains=? " +
  "--no-contains=? --merged=? --no-merged=? --points-at= --sort= --format="

const formatChecks = { "--format": noSignature, "--pretty": noSignature }

const gitSubcommands: Readonly<Record<string, (args: ReadonlyArray<ShellWord>) => boolean>> = {
  status: getopt({ flags: GIT_STATUS_FLAGS }),
  diff: getopt({ flags: `${GIT_DIFF_FLAGS} ${GIT_DIFF_ONLY_FLAGS}` }),
  log: getopt({ flags: `${GIT_DIFF_FLAGS} ${GIT_LOG_FLAGS}`, numeric: true, checks: formatChecks }),
  show: getopt({ flags: `${GIT_DIFF_FLAGS} ${GIT_LOG_FLAGS}`, numeric: true, checks: formatChecks }),
  // a name given without --list creates a branch (`-l` meant --create-reflog before git 2.20)
  branch: getopt({
    flags: GIT_BRANCH_FLAGS,
    checks: { "--format": noSignature },
    operands: (operands, seen) => operands.length === 0 || seen.has("--list")
  })
}

const gitOptions = words(GIT_OPTIONS)

const git = (args: ReadonlyArray<ShellWord>): boolean => {
  let i = 0
  while (i < args.length && args[i]!.globAt < 0 && gitOptions.has(args[i]!.text)) i++
  const subcommand = args[i]
  if (subcommand === undefined || subcommand.globAt >= 0 || !Object.hasOwn(gitSubcommands, subcommand.text)) {
    return false
  }
  return gitSubcommands[subcommand.text]!(args.slice(i + 1))
}

// ---------------------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------------------

/** The flags each getopt-style command accepts (`-x` switch, `-x=` value, `-x[=]` optional value). */
export const FLAGS = {
  ls: "-a -A -b -B -c -C -d -f -F -g -G -h -H -i -k -l -L -m -n -N -o -p -q -Q -r -R -s -S -t -u -U -v -x -X " +
    "-Z -1 -I= -w= --all --almost-all --escape --ignore-backups --directory --classify[=] --file-type " +
    "--human-readable --si --dereference --dereference-command-line --inode --numeric-uid-gid --literal " +
    "--hide-control-chars --show-control-chars --quote-name --reverse --recursive --size " +
    "--group-directories-first --no-group --full-time --author --context --color[=] --hyperlink[=] --format= " +
    "--sort= --time= --time-style= --block-size= --ignore= --hide= --indicator-style= --quoting-style= --width=",
  cat: "-A -b -e -E -n -s -t -T -u -v --show-all --number-nonblank --number --squeeze-blank --show-ends " +
    "--show-tabs --show-nonprinting",
  pwd: "-L -P",
  head: "-n= -c= -q -v -z --lines= --bytes= --quiet --silent --verbose --zero-terminated",
  tail: "-n= -c= -q -v -z --lines= --bytes= --quiet --silent --verbose --zero-terminated",
  wc: "-c -m -l -w -L --bytes --chars --lines --words --max-line-length --total=",
  grep: "-i -y -v -w -x -c -l -L -n -h -H -o -q -s -r -R -E -F -G -P -z -Z -a -I -U -b -T -e= -f= -m= -A= -B= " +
    "-C= -d= -D= --ignore-case --no-ignore-case --invert-match --word-regexp --line-regexp --count " +
    "--files-with-matches --files-without-match --line-number --no-filename --with-filename --only-matching " +
    "--quiet --silent --no-messages --recursive --dereference-recursive --extended-regexp --fixed-strings " +
    "--basic-regexp --perl-regexp --null-data --null --text --byte-offset --initial-tab --line-buffered " +
    "--color[=] --colour[=] --regexp= --file= --max-count= --after-context= --before-context= --context= " +
    "--include= --exclude= --exclude-dir= --exclude-from= --binary-files= --directories= --devices= --label=",
  rg: "-i -s -S -v -w -x -c -l -n -N -H -I -o -q -F -U -L -a -u -P -p -0 -. -e= -f= -g= -t= -T= -m= -A= -B= -C= " +
    "-M= -j= -d= -E= -r= --hidden --no-hidden --no-ignore --no-ignore-vcs --no-ignore-dot --no-ignore-parent " +
    "--no-ignore-global --no-ignore-exclude --no-ignore-files --no-require-git --files --files-with-matches " +
    "--files-without-match --count --count-matches --line-number --no-line-number --with-filename " +
    "--no-filename --heading --no-heading --ignore-case --case-sensitive --smart-case --invert-match " +
    "--word-regexp --line-regexp --fixed-strings --multiline --multiline-dotall --follow --text " +
    "--only-matching --quiet --json --vimgrep --column --no-column --byte-offset --trim --stats --null " +
    "--null-data --no-messages --one-file-system --pcre2 --crlf --no-config --type-list --passthru " +
    "--unrestricted --pretty --binary --no-binary --glob-case-insensitive --line-buffered --block-buffered " +
    "--regexp= --file= --glob= --iglob= --type= --type-not= --type-add= --type-clear= --max-count= " +
    "--after-context= --before-context= --context= --max-columns= --max-depth= --max-filesize= --threads= " +
    "--sort= --sortr= --color= --colors= --encoding= --engine= --replace= --path-separator= " +
    "--context-separator= --field-match-separator= --field-context-separator= --ignore-file=",
  which: "-a",
  file: "-b -i -k -L -h -N -E --brief --mime --mime-type --mime-encoding --keep-going --dereference " +
    "--no-dereference --no-pad",
  stat: "-L -f -t -c= --dereference --file-system --terse --format= --printf=",
  du: "-a -b -c -h -k -m -s -x -H -L -P -l -S -0 -d= --all --apparent-size --bytes --total --human-readable --si " +
    "--summarize --one-file-system --dereference --dereference-args --no-dereference --count-links " +
    "--separate-dirs --null --inodes --max-depth= --block-size= --exclude= --threshold=",
  df: "-a -h -H -i -k -l -P -T -t= -x= --all --human-readable --si --inodes --local --portability --print-type " +
    "--total --type= --exclude-type= --block-size=",
  tree: "-a -d -l -f -x -i -q -N -Q -p -u -g -s -h -D -F -v -t -c -U -r -C -n -J -L= -P= -I= --noreport " +
    "--dirsfirst --gitignore --prune --du --si --matchdirs --ignore-case --filelimit= --charset="
} as const

const commands: Readonly<Record<string, (args: ReadonlyArray<ShellWord>) => boolean>> = {
  ls: getopt({ flags: FLAGS.ls }),
  cat: getopt({ flags: FLAGS.cat }),
  pwd: getopt({ flags: FLAGS.pwd, operands: (operands) => operands.length === 0 }),
  head: getopt({ flags: FLAGS.head, numeric: true }),
  // `tail +5f file` is the obsolete spelling of `tail -f -n +5 file`, which never ends
  tail: getopt({ flags: FLAGS.tail, numeric: true, operands: (operands) => operands.every((o) => !o.text.startsWith("+")) }),
  wc: getopt({ flags: FLAGS.wc }),
  grep: getopt({ flags: FLAGS.grep, numeric: true }),
  rg: getopt({ flags: FLAGS.rg }),
  find,
  git,
  // echo reads no flag it could be harmed by (`-n`, `-e`, `-E` change only what it prints)
  echo: () => true,
  which: getopt({ flags: FLAGS.which }),
  file: getopt({ flags: FLAGS.file }),
  stat: getopt({ flags: FLAGS.stat }),
  du: getopt({ flags: FLAGS.du }),
  df: getopt({ flags: FLAGS.df }),
  tree: getopt({ flags: FLAGS.tree, shortValuesAlone: true })
}

/** The commands accepted, by name. */
export const COMMANDS: ReadonlyArray<string> = Object.keys(commands)

/**
 * The rows of the allow-list as `Approvals.isReadOnlyCommand`'s JSDoc lists
 * them: a label (a command, or a part of one) and its flags (a test holds the
 * JSDoc to this).
 */
export const DOCUMENTED: ReadonlyArray<{ readonly label: string; readonly flags: string }> = [
  { label: "ls", flags: FLAGS.ls },
  { label: "cat", flags: FLAGS.cat },
  { label: "pwd", flags: FLAGS.pwd },
  { label: "head", flags: FLAGS.head },
  { label: "tail", flags: FLAGS.tail },
  { label: "wc", flags: FLAGS.wc },
  { label: "grep", flags: FLAGS.grep },
  { label: "rg", flags: FLAGS.rg },
  { label: "find options", flags: FIND_OPTIONS },
  { label: "find operators", flags: FIND_OPERATORS },
  { label: "find primaries", flags: FIND_PRIMARIES },
  { label: "find primaries with an argument", flags: FIND_PRIMARIES_WITH_ARGUMENT },
  { label: "git options", flags: GIT_OPTIONS },
  { label: "git status", flags: GIT_STATUS_FLAGS },
  { label: "git diff, log, show", flags: GIT_DIFF_FLAGS },
  { label: "git diff", flags: GIT_DIFF_ONLY_FLAGS },
  { label: "git log, show", flags: GIT_LOG_FLAGS },
  { label: "git branch", flags: GIT_BRANCH_FLAGS },
  { label: "which", flags: FLAGS.which },
  { label: "file", flags: FLAGS.file },
  { label: "stat", flags: FLAGS.stat },
  { label: "du", flags: FLAGS.du },
  { label: "df", flags: FLAGS.df },
  { label: "tree", flags: FLAGS.tree }
]

/** Whether `command` (a command line, possibly in a `bash -lc '...'` wrapper) only reads. */
export const isReadOnly = (command: string): boolean => {
  const parsed = splitWords(unwrapShell(command))
  if (parsed._tag === "Refused") return false
  const [name, ...args] = parsed.words
  if (name === undefined || name.globAt >= 0 || !Object.hasOwn(commands, name.text)) return false
  return commands[name.text]!(args)
}
