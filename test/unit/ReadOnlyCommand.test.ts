import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { joinWords, splitWords, unwrapShell, wrappedScript } from "../../src/schema/internal/shell.ts"
import * as Approvals from "../../src/services/Approvals.ts"
import * as ReadOnlyCommands from "../../src/services/internal/readOnlyCommands.ts"

const wordsOf = (line: string) => {
  const parsed = splitWords(line)
  assert.strictEqual(parsed._tag, "Words", `${JSON.stringify(line)}: ${JSON.stringify(parsed)}`)
  return parsed._tag === "Words" ? parsed.words.map((word) => word.text) : []
}

const refusalOf = (line: string) => {
  const parsed = splitWords(line)
  return parsed._tag === "Refused" ? parsed.reason : undefined
}

describe("splitWords", () => {
  it("splits on spaces and tabs only", () => {
    assert.deepStrictEqual(wordsOf("  ls \t -la   src  "), ["ls", "-la", "src"])
    assert.deepStrictEqual(wordsOf(""), [])
    // a no-break space is a character of the word to a shell, not a separator
    assert.deepStrictEqual(wordsOf("ls\u00a0-la"), ["ls\u00a0-la"])
    assert.deepStrictEqual(wordsOf("ls\r"), ["ls\r"])
  })

  it("single quotes keep everything literal", () => {
    assert.deepStrictEqual(wordsOf(String.raw`echo 'a b' '$HOME' '\n' '"'`), ["echo", "a b", "$HOME", "\\n", "\""])
    assert.deepStrictEqual(wordsOf(String.raw`echo 'it'\''s'`), ["echo", "it's"])
    assert.deepStrictEqual(wordsOf("echo '' x"), ["echo", "", "x"])
    assert.deepStrictEqual(wordsOf("echo a'b c'd"), ["echo", "ab cd"])
  })

  it("double quotes: a backslash escapes only $ ` \" \\ and newline", () => {
    assert.deepStrictEqual(wordsOf(String.raw`echo "a \"b\" \\ \$x \` \n"`), ["echo", "a \"b\" \\ $x ` \\n"])
    assert.deepStrictEqual(wordsOf("echo \"a\\\nb\""), ["echo", "ab"])
    assert.deepStrictEqual(wordsOf("echo \"it's\" \"\""), ["echo", "it's", ""])
  })

  it("a backslash outside quotes makes the next character literal; backslash-newline joins lines", () => {
    assert.deepStrictEqual(wordsOf(String.raw`echo a\ b \$x \' \"`), ["echo", "a b", "$x", "'", "\""])
    assert.deepStrictEqual(wordsOf(String.raw`l\s`), ["ls"])
    assert.deepStrictEqual(wordsOf("ls \\\n-la"), ["ls", "-la"])
    assert.deepStrictEqual(wordsOf(String.raw`find . \( -name x \) \! -type d \;`), [
      "find",
      ".",
      "(",
      "-name",
      "x",
      ")",
      "!",
      "-type",
      "d",
      ";"
    ])
  })

  it("marks where an unquoted glob starts", () => {
    const globs = (line: string) => {
      const parsed = splitWords(line)
      return parsed._tag === "Words" ? parsed.words.map((word) => word.globAt) : []
    }
    assert.deepStrictEqual(globs(String.raw`ls src/*.ts *.md a?b x[12] '*' "*" \* a'*'* ~ x]`), [
      -1,
      4,
      0,
      1,
      1,
      -1,
      -1,
      -1,
      2,
      -1,
      -1
    ])
  })

  it("a # starts a comment only at the start of a word", () => {
    assert.deepStrictEqual(wordsOf("echo a#b '#' \\#"), ["echo", "a#b", "#", "#"])
    assert.strictEqual(refusalOf("ls # rm -rf /"), "comment")
    assert.strictEqual(refusalOf("ls #"), "comment")
  })

  it("refuses what is more than words", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["echo 'abc", "unbalanced-quote"],
      ["echo \"abc", "unbalanced-quote"],
      [String.raw`echo "abc\"`, "unbalanced-quote"],
      [String.raw`echo 'it\'s'`, "unbalanced-quote"],
      ["echo abc\\", "trailing-backslash"],
      ["ls;rm x", "operator"],
      ["ls | sh", "operator"],
      ["ls && rm x", "operator"],
      ["ls || rm x", "operator"],
      ["ls & rm x", "operator"],
      ["cat a > b", "operator"],
      ["ls 2>/dev/null", "operator"],
      ["cat < x", "operator"],
      ["cat <<EOF", "operator"],
      ["(ls)", "operator"],
      ["cat <(rm x)", "operator"],
      ["ls\nrm x", "operator"],
      ["echo $HOME", "substitution"],
      ["echo \"$HOME\"", "substitution"],
      ["echo $(touch x)", "substitution"],
      ["echo \"$(touch x)\"", "substitution"],
      ["echo `touch x`", "substitution"],
      ["echo \"`touch x`\"", "substitution"],
      ["echo $'\\x41'", "substitution"],
      ["ls {-R,}", "brace"],
      ["{ ls; }", "brace"],
      ["ls a\0b", "nul"],
      ["ls 'a\0b'", "nul"]
    ]
    for (const [line, reason] of cases) assert.strictEqual(refusalOf(line), reason, JSON.stringify(line))
    // quoted, the same characters are only characters
    assert.deepStrictEqual(wordsOf("echo ';' '|' '&&' '>' '(' \"{a,b}\" '$(x)' \\$x \\` \\{"), [
      "echo",
      ";",
      "|",
      "&&",
      ">",
      "(",
      "{a,b}",
      "$(x)",
      "$x",
      "`",
      "{"
    ])
  })
})

describe("joinWords", () => {
  it("splitWords gives the words back", () => {
    const cases: ReadonlyArray<ReadonlyArray<string>> = [
      ["ls", "-la", "src/a.ts"],
      ["echo", "it's", "", "a b", "$HOME", "`x`", "\\", "\"", "*", "{a,b}", "#x", "=ls", "~", "a\nb", "--x=1,2"],
      ["rg", "'a", "--pre=x", "b'"],
      ["/bin/bash", "-lc", "cat 'a b' | wc -l"]
    ]
    for (const words of cases) assert.deepStrictEqual(wordsOf(joinWords(words)), words, JSON.stringify(words))
    assert.strictEqual(joinWords(["git", "log", "--format=%h", "HEAD~1"]), "git log --format=%h 'HEAD~1'")
  })

  it("keeps a flag hidden in a word a word: joined with spaces it would read as one quoted operand", () => {
    const argv = ["rg", "'a", "--pre=./x.sh", "b'"]
    assert.isFalse(Approvals.isReadOnlyCommand(joinWords(argv)))
    assert.deepStrictEqual(wordsOf(argv.join(" ")), ["rg", "a --pre=./x.sh b"])
  })
})

describe("shell wrappers", () => {
  it("unwrapShell looks through bash, sh and zsh -c / -lc, quoted or bare", () => {
    assert.strictEqual(unwrapShell("/bin/bash -lc 'git status'"), "git status")
    assert.strictEqual(unwrapShell("/bin/bash -lc ls"), "ls")
    assert.strictEqual(unwrapShell("bash -c \"ls -la\""), "ls -la")
    assert.strictEqual(unwrapShell("/bin/sh -c \"grep -n \\\"a b\\\" x\""), "grep -n \"a b\" x")
    assert.strictEqual(unwrapShell("zsh -lc 'echo '\\''hi'\\'''"), "echo 'hi'")
    assert.strictEqual(unwrapShell("/usr/bin/zsh -lc 'ls; rm x'"), "ls; rm x")
    assert.strictEqual(unwrapShell("  git diff  "), "git diff")
  })

  it("unwrapShell leaves alone what is not exactly <shell> -c <script>", () => {
    for (
      const line of [
        "/tmp/work/bash -lc 'git status'",
        "./bash -lc 'git status'",
        "python -c 'print(1)'",
        "bash -lc 'ls' extra",
        "bash -x 'ls'",
        "bash -lc",
        "bash -lc 'ls' ; rm x",
        "bash -lc 'ls",
        "/bin/bash -lc \"ls $HOME\"",
        "/bin/bash -lc ls*"
      ]
    ) assert.strictEqual(unwrapShell(line), line.trim(), line)
  })

  it("unwrapShell reads the '\"'\"' spelling of a quote inside single quotes", () => {
    assert.strictEqual(unwrapShell(`/bin/bash -lc 'echo '"'"'hi'"'"''`), "echo 'hi'")
  })

  it("wrappedScript reads the words of a wrapper", () => {
    const parsed = splitWords("/bin/bash -lc 'rg -n foo'")
    assert.strictEqual(parsed._tag === "Words" ? wrappedScript(parsed.words) : "refused", "rg -n foo")
  })
})

const accepted = [
  "ls",
  "ls -la",
  "ls -la src test",
  "ls --color=auto -1 -- *",
  "/bin/bash -lc 'ls -la'",
  "/bin/bash -lc ls",
  "/bin/zsh -lc pwd",
  "bash -c \"cat README.md\"",
  "sh -c 'git status'",
  "cat -n src/index.ts",
  "cat",
  "head -n 20 README.md",
  "head -5 README.md",
  "tail -n +5 README.md",
  "tail -n5 -q a b",
  "wc -l src/*.ts",
  "grep -rn --include=*.ts 'Effect.gen' src",
  "grep -e foo -e bar -C 2 .",
  "grep -3 foo README.md",
  "rg -n isReadOnlyCommand src test",
  "rg --glob '*.ts' -i todo",
  "rg -uu -g '!node_modules' foo",
  "rg foo -- *.ts",
  "rg -r bar foo src",
  "find . -name '*.ts' -mtime -7 -type f",
  "find src test -maxdepth 2 \\( -name '*.md' -o -name '*.ts' \\) -print",
  "find . -newermt 2024-01-01 ! -path './node_modules/*' -printf '%p %s\\n'",
  "find -L src -empty",
  "find",
  "git status",
  "git status --short --branch",
  "git status --porcelain=v2 -uno",
  "git -P log --oneline -n 5",
  "git --no-pager diff --stat HEAD~1",
  "git diff --cached -- src/services",
  "git diff -U5 --no-ext-diff --no-textconv main...HEAD",
  "git log --format='%h %an %s' -10",
  "git log -p --follow -- README.md",
  "git log --since=2.weeks --author=ann --grep fix",
  "git show HEAD~1:README.md",
  "git show --stat -s HEAD",
  "git branch",
  "git branch -a -vv",
  "git branch --list 'feat/*'",
  "git branch --merged",
  "git branch --merged main",
  "git branch --contains abc123 -r",
  "git branch --show-current",
  "echo hello 'world'",
  "echo *",
  "which -a git",
  "file -b README.md",
  "stat -c %s README.md",
  "du -sh src",
  "df -h .",
  "tree -L 2 -a src",
  "tree --gitignore -I node_modules"
]

const refused = [
  // git branch that writes
  "git branch -D main",
  "git branch -d old",
  "git branch --delete old",
  "git branch new-feature",
  "git branch -- new-feature",
  "git branch -l new-feature",
  "git branch --contains abc123 new-feature",
  "git branch -m main master",
  "git branch --move main master",
  "git branch -c main copy",
  "git branch -f main HEAD~3",
  "git branch --set-upstream-to=origin/main",
  "git branch -u origin/main",
  "git branch --unset-upstream",
  "git branch --edit-description",
  "git branch --merged -D",
  "git branch --format=%(signature)",
  // git diff/log/show that write or run programs
  "git diff --output=/tmp/x",
  "git diff --output /tmp/x",
  "git diff --out=/tmp/x",
  "git log --output=/tmp/y",
  "git show --output=/tmp/y HEAD",
  "git log -n --output=/tmp/y",
  "git diff --ext-diff",
  "git log -p --textconv",
  "git log --show-signature",
  "git log --format=%G?",
  "git log --pretty=format:%GS",
  "git log '--format=%h %G?'",
  "git -c core.pager=sh log",
  "git -c diff.external=./x.sh diff",
  "git -C /tmp/other status",
  "git --git-dir=/tmp/other/.git status",
  "git --exec-path=/tmp log",
  // other git subcommands
  "git push",
  "git checkout -- .",
  "git stash",
  "git reset --hard",
  "git clean -fdx",
  "git config core.fsmonitor ./x.sh",
  "git",
  // rg that runs programs
  "rg --pre 'sh -c id' foo",
  "rg --pre=./x.sh foo",
  "rg --pre-glob '*.pdf' --pre ./x foo",
  "rg -z foo",
  "rg --search-zip foo",
  "rg --hostname-bin ./x.sh foo",
  "rg --pr ./x.sh foo",
  // globs that a file named like a flag would turn into one
  "rg foo *.ts",
  "rg -g *.ts foo",
  "rg -e foo *",
  "ls -l*",
  "grep foo [-]*",
  "cat *.md",
  "find *",
  "find . -name *.ts",
  "find . -name src* -delete",
  // find that writes or runs programs
  "find . -fls /tmp/out",
  "find . -delete",
  "find . -exec rm -f '{}' +",
  "find . -execdir sh -c id '{}' +",
  "find . -ok rm '{}' ';'",
  "find . -okdir rm '{}' ';'",
  "find . -fprint /tmp/x",
  "find . -fprint0 /tmp/x",
  "find . -fprintf /tmp/x %p",
  "find -D exec .",
  "find -- -delete",
  "find . -name",
  // never ends
  "tail -f log.txt",
  "tail -F log.txt",
  "tail --follow=name log.txt",
  "tail --retry -n 1 log.txt",
  "tail +5f log.txt",
  "tail -5f log.txt",
  "tail -qf log.txt",
  // tree and file that write
  "tree -o /tmp/out",
  "tree -R",
  "tree -Lo 2 /tmp/out",
  "tree -aL2",
  "file -C -m x",
  "file -z archive.gz",
  // shell syntax
  "cat a > b",
  "cat a >> b",
  "ls 2>/dev/null",
  "cat <<EOF",
  "ls | sh",
  "ls; rm -rf /",
  "ls && rm x",
  "ls || rm x",
  "ls & rm x",
  "ls\nrm x",
  "echo $(touch x)",
  "echo `touch x`",
  "echo $HOME",
  "echo \"$HOME\"",
  "ls {-R,}",
  "ls 'unbalanced",
  "ls \\",
  "ls # comment",
  // not the command it looks like
  "FOO=1 ls",
  "GIT_EXTERNAL_DIFF=./x.sh git diff",
  "env ls",
  "sudo ls",
  "command ls",
  "exec ls",
  "./ls",
  "/tmp/ls",
  "l*",
  "/tmp/work/bash -lc 'ls'",
  "bash -lc 'ls; rm x'",
  "bash -lc 'ls' && rm x",
  "bash -lc \"rm -rf /\"",
  "bash -lc 'bash -c \"touch x\"'",
  "bash -i -c ls",
  // writes, or runs a program
  "sed -n '1w /tmp/x' README.md",
  "sed -n 1p README.md",
  "xargs rm",
  "python -c 'print(1)'",
  "npm test",
  "touch marker.txt",
  "rm -rf /",
  "pwd /etc",
  "ls --hyperlink=always --color=always -la --recursive=yes",
  "grep -e --pre=x foo"
]

describe("isReadOnlyCommand", () => {
  it("accepts reading commands", () => {
    for (const command of accepted) assert.isTrue(Approvals.isReadOnlyCommand(command), command)
  })

  it("refuses what writes, runs another program, never ends, or is not understood", () => {
    for (const command of refused) assert.isFalse(Approvals.isReadOnlyCommand(command), command)
  })

  it("the table has the size it claims", () => {
    assert.isAtLeast(accepted.length + refused.length, 40)
    assert.isAtLeast(refused.length, accepted.length)
  })

  it("a glob is refused where a file named like a flag would become one, and accepted after --", () => {
    // a workspace the agent writes may hold a file called `--pre=x.ts`
    assert.isFalse(Approvals.isReadOnlyCommand("rg foo *.ts"))
    assert.isTrue(Approvals.isReadOnlyCommand("rg foo -- *.ts"))
    assert.isTrue(Approvals.isReadOnlyCommand("rg foo src/*.ts"))
    assert.isTrue(Approvals.isReadOnlyCommand("rg --glob=*.ts foo"))
    assert.isFalse(Approvals.isReadOnlyCommand("rg --gl*=x foo"))
  })

  it("tree takes -L's value from the next word even inside a cluster, so a value flag stands alone", () => {
    // to tree, `-Lo 2 out` is `-L 2 -o out`: writes out
    assert.isFalse(Approvals.isReadOnlyCommand("tree -Lo 2 out"))
    assert.isTrue(Approvals.isReadOnlyCommand("tree -a -L 2"))
  })

  it("tail +5f is the obsolete spelling of tail -f", () => {
    assert.isFalse(Approvals.isReadOnlyCommand("tail +5f log.txt"))
    assert.isTrue(Approvals.isReadOnlyCommand("tail -n +5 log.txt"))
  })

  it("git branch with a name creates it, unless --list makes the name a pattern", () => {
    assert.isFalse(Approvals.isReadOnlyCommand("git branch topic"))
    assert.isTrue(Approvals.isReadOnlyCommand("git branch --list topic"))
    // --merged takes the next word as its commit unless it is a flag: `git branch --merged main` lists
    assert.isTrue(Approvals.isReadOnlyCommand("git branch --merged main"))
    assert.isFalse(Approvals.isReadOnlyCommand("git branch --merged main topic"))
  })

  it("a value given as its own word never begins with -", () => {
    // were -n wrongly thought to take a value, --output would pass unseen
    assert.isFalse(Approvals.isReadOnlyCommand("git log -n --output=/tmp/x"))
    assert.isTrue(Approvals.isReadOnlyCommand("git log -n 3"))
    assert.isTrue(Approvals.isReadOnlyCommand("head -n-3 x"))
  })

  it("a long flag must be spelled out: the programs' own abbreviations are refused", () => {
    assert.isTrue(Approvals.isReadOnlyCommand("git status --short"))
    assert.isFalse(Approvals.isReadOnlyCommand("git status --sh"))
    assert.isFalse(Approvals.isReadOnlyCommand("git diff --outp=/tmp/x"))
  })

  it("keys of Object.prototype are no commands", () => {
    for (const command of ["toString", "constructor", "__proto__", "hasOwnProperty x", "git constructor"]) {
      assert.isFalse(Approvals.isReadOnlyCommand(command), command)
    }
  })
})

describe("isReadOnlyCommand's JSDoc", () => {
  it("lists exactly the flags the allow-list accepts", () => {
    const source = fs.readFileSync(path.resolve(import.meta.dirname, "../../src/services/Approvals.ts"), "utf8")
    const end = source.indexOf("export const isReadOnlyCommand")
    const jsdoc = source.slice(source.lastIndexOf("/**", end), end)
    const list = jsdoc.slice(jsdoc.indexOf("The commands and their flags:"), jsdoc.indexOf(" * Also:"))
    const rows: Array<{ label: string; flags: Array<string> }> = []
    for (const line of list.split("\n")) {
      const item = /^ \* - ([^:]+): (.*)$/.exec(line)
      const more = /^ \* {3}(`.*)$/.exec(line)
      const spans = (text: string) => [...text.matchAll(/`([^`]*)`/g)].flatMap((m) => m[1]!.split(" "))
      if (item !== null) rows.push({ label: item[1]!, flags: spans(item[2]!) })
      else if (more !== null) rows.at(-1)!.flags.push(...spans(more[1]!))
    }
    assert.deepStrictEqual(
      rows,
      ReadOnlyCommands.DOCUMENTED.map(({ flags, label }) => ({ label, flags: flags.split(/\s+/) }))
    )
    const labelled = new Set(rows.map(({ label }) => label.split(" ")[0]!))
    for (const command of ReadOnlyCommands.COMMANDS) {
      if (command !== "echo") assert.isTrue(labelled.has(command), `${command} is documented`)
    }
  })
})

describe("the flag tables", () => {
  // they are compiled on first use (importing the SDK compiles none), so a bad entry (a flag listed twice,
  // a malformed one) must fail here rather than in the first approval that reaches its command
  it("every table compiles: each command and git subcommand can be checked", () => {
    for (const command of ReadOnlyCommands.COMMANDS) {
      assert.isBoolean(ReadOnlyCommands.isReadOnly(command), command) // throws for a bad table
    }
    for (const sub of ["status", "diff", "log", "show", "branch"]) {
      assert.isTrue(ReadOnlyCommands.isReadOnly(`git ${sub}`), `git ${sub}`)
    }
  })
})
