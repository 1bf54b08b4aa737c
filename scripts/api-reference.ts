/**
 * Generates `docs/api-reference.md` from the sources, so the reference cannot drift from the code.
 *
 * For each public entry point (`effect-codex` = `src/index.ts`, `effect-codex/testing` = `src/testing.ts`,
 * `effect-codex/promise` = `src/promise.ts`, `effect-codex/schema` = `src/schema/index.ts`) it follows every
 * `export * as X from "./path.ts"` (or, for a flat entry point such as the promise one, every
 * `export { X } from "./path.ts"`) and lists
 * every export of that module: its kind, its signature (the declared type, or the arrow's signature; the
 * member list of an interface; the head of a class) and the first sentence of its JSDoc. The schema entry
 * point is summarized: the method maps, the method tables, a count of the generated types and a few
 * headline types.
 *
 * It reads the sources with the TypeScript 7 API (`typescript/unstable/sync`, the pinned native compiler):
 * declarations, parameters and JSDoc come from the syntax tree and keep the source's own spelling; the
 * type checker is only asked for a value whose type is not written down (`Effect.fn(...)(...)`, an arrow
 * without a return type).
 *
 *   node scripts/api-reference.ts                   write docs/api-reference.md
 *   node scripts/api-reference.ts --check           exit 1 if docs/api-reference.md is not what the sources give
 *   node scripts/api-reference.ts --require-jsdoc   (alone or with --check) also exit 1 if a public export has no JSDoc,
 *                                                  no @since / @category, or a module no @stability
 *
 * Every run prints the public exports that have no JSDoc (or a JSDoc with only tags) on stderr.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { API } from "typescript/unstable/sync"
import {
  type ArrowFunction,
  type ClassDeclaration,
  type ExportDeclaration,
  type FunctionDeclaration,
  type FunctionExpression,
  type InterfaceDeclaration,
  type LiteralTypeNode,
  type NamedExports,
  type NamespaceExport,
  type Node,
  type ParameterDeclaration,
  type PropertySignatureDeclaration as PropertySignature,
  type SourceFile,
  type Statement,
  SyntaxKind,
  type TypeAliasDeclaration,
  type TypeElement,
  type TypeLiteralNode,
  type TypeNode,
  type UnionTypeNode,
  type VariableStatement
} from "typescript/unstable/ast"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
/** The generated file, relative to the repository root. */
export const OUTPUT = "docs/api-reference.md"

const ENTRY_POINTS = [
  { specifier: "effect-codex", file: "src/index.ts" },
  { specifier: "effect-codex/testing", file: "src/testing.ts" },
  { specifier: "effect-codex/ai", file: "src/ai.ts" },
  { specifier: "effect-codex/workflow", file: "src/workflow.ts" },
  { specifier: "effect-codex/cluster", file: "src/cluster.ts" },
  // flat: its names are imported directly (`import { Codex } from "effect-codex/promise"`), as from @openai/codex-sdk
  { specifier: "effect-codex/promise", file: "src/promise.ts", flat: true },
  { specifier: "effect-codex/schema", file: "src/schema/index.ts" }
] as const

/** Generated from the protocol's JSON Schema: summarized, not listed, and not held to the JSDoc rule. */
const PROTOCOL_FILE = "src/schema/generated/Protocol.gen.ts"
/** Generated method maps: listed (their interfaces collapsed) and turned into method tables. */
const METHODS_FILE = "src/schema/generated/Methods.gen.ts"

/** The protocol types shown in the schema section (the generator fails if one disappears). */
const HEADLINE_TYPES = [
  "Thread",
  "Turn",
  "TurnStatus",
  "ThreadItem",
  "UserInput",
  "ThreadTokenUsage",
  "TurnError",
  "CodexErrorInfo",
  "AskForApproval",
  "SandboxMode",
  "CommandExecutionApprovalDecision",
  "FileChangeApprovalDecision",
  "ThreadStartParams",
  "TurnStartParams"
] as const

/** An interface with more members than this is printed collapsed (`{ /* N members *\/ }`). */
const MAX_LISTED_MEMBERS = 40
/** A signature longer than this puts each parameter on its own line. */
const MAX_LINE = 100

// =============================================================================
// Model
// =============================================================================

/** A parsed JSDoc block. */
interface Doc {
  /** The text before the first tag, `{@link X}` rewritten to `` `X` ``. */
  readonly description: string
  readonly tags: ReadonlyArray<{ readonly name: string; readonly text: string }>
}

type Kind = "function" | "const" | "type" | "interface" | "class"

/** One public export of a module. */
interface Entry {
  readonly name: string
  readonly kind: Kind
  readonly signature: string
  readonly doc: Doc | undefined
  /** The file that declares it, relative to the repository root. */
  readonly file: string
}

/** A module re-exported as a namespace (`export * as X from "./X.ts"`). */
interface ModuleInfo {
  readonly namespace: string
  readonly file: string
  readonly doc: Doc | undefined
  readonly entries: ReadonlyArray<Entry>
}

/** A public export without a JSDoc description. */
export interface Missing {
  readonly where: string
  readonly problem: "no JSDoc" | "JSDoc without a description" | `no @${string}`
}

// =============================================================================
// Source helpers
// =============================================================================

interface Ctx {
  readonly sf: SourceFile
  readonly file: string
  readonly typeOf: (node: Node) => string
}

const textOf = (ctx: Ctx, node: Node): string => ctx.sf.text.slice(node.getStart(ctx.sf), node.end)

/** The indentation of the line a position is on. */
const lineIndent = (text: string, pos: number): number => {
  const lineStart = text.lastIndexOf("\n", pos - 1) + 1
  let i = lineStart
  while (text[i] === " ") i++
  return i - lineStart
}

/**
 * A node's source text with its continuation lines moved from the indentation of the node's first line
 * to `indent` spaces.
 */
const reindented = (ctx: Ctx, node: Node, indent: number): string => {
  const base = lineIndent(ctx.sf.text, node.getStart(ctx.sf))
  const [first, ...rest] = textOf(ctx, node).split("\n")
  return [
    first!,
    ...rest.map((line) => {
      let strip = 0
      while (strip < base && line[strip] === " ") strip++
      return line.trim() === "" ? "" : " ".repeat(indent) + line.slice(strip)
    })
  ].join("\n")
}

const hasExport = (statement: Statement): boolean =>
  ((statement as { readonly modifiers?: ReadonlyArray<Node> }).modifiers ?? []).some((modifier) =>
    modifier.kind === SyntaxKind.ExportKeyword
  )

const jsDocsOf = (node: Node): ReadonlyArray<Node> => node.jsDoc ?? []

/** Parses the raw text of a `/** ... *\/` block. */
const parseDoc = (raw: string): Doc => {
  const body = raw.trim().replace(/^\/\*\*/, "").replace(/\*\/$/, "")
  const lines = body.split("\n").map((line) => line.replace(/^\s*\* ?/, "").replace(/\s+$/, ""))
  const description: Array<string> = []
  const tags: Array<{ name: string; text: string }> = []
  let fence = false
  for (const line of lines) {
    if (/^\s*```/.test(line)) fence = !fence
    const tag = fence ? null : /^@(\w+)\s*(.*)$/.exec(line.trim())
    if (tag !== null) tags.push({ name: tag[1]!, text: tag[2]! })
    else if (tags.length > 0) tags[tags.length - 1]!.text += `\n${line}`
    else description.push(line)
  }
  return {
    description: rewriteLinks(description.join("\n").trim()),
    tags: tags.map((tag) => ({ name: tag.name, text: tag.text.trim() }))
  }
}

const rewriteLinks = (text: string): string =>
  text.replace(/\{@link\s+([^}|\s]+)(?:\s*\|\s*([^}]+)|\s+([^}]+))?\}/g, (_, target: string, label1?: string, label2?: string) =>
    (label1 ?? label2) !== undefined ? (label1 ?? label2)!.trim() : `\`${target}\``
  )

const docOfNode = (ctx: Ctx, node: Node): Doc | undefined => {
  const docs = jsDocsOf(node)
  const last = docs[docs.length - 1]
  return last === undefined ? undefined : parseDoc(docText(ctx, last))
}

/** The `/** ... *\/` text of a JSDoc node (its range starts with the comments and blank lines before it). */
const docText = (ctx: Ctx, doc: Node): string => {
  const raw = ctx.sf.text.slice(doc.pos, doc.end)
  const open = raw.lastIndexOf("/**", raw.lastIndexOf("*/"))
  return raw.slice(open)
}

/** The module's own JSDoc: the block at the top of the file, unless it is the first export's own. */
const moduleDoc = (ctx: Ctx): Doc | undefined => {
  const first = ctx.sf.statements[0]
  if (first === undefined) return undefined
  const docs = jsDocsOf(first)
  const isDeclaration = first.kind !== SyntaxKind.ImportDeclaration && first.kind !== SyntaxKind.ExportDeclaration
  if (docs.length === 0 || (isDeclaration && docs.length < 2)) return undefined
  return parseDoc(docText(ctx, docs[0]!))
}

/** The first paragraph of a description (code blocks left out), on one line. */
const firstParagraph = (description: string): string => {
  const paragraph: Array<string> = []
  for (const line of description.split("\n")) {
    if (line.trim() === "" || /^\s*```/.test(line) || /^\s*[-*] /.test(line)) {
      if (paragraph.length > 0) break
      continue
    }
    paragraph.push(line.trim())
  }
  return paragraph.join(" ")
}

/**
 * The first sentence of a description: up to the first `.` that is followed by a space or the end,
 * outside backticks and parentheses, and not part of "e.g." / "i.e.".
 */
export const firstSentence = (description: string): string => {
  const text = firstParagraph(description)
  let code = false
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === "`") code = !code
    else if (code) continue
    else if (c === "(") depth++
    else if (c === ")") depth = Math.max(0, depth - 1)
    else if (c === "." && depth === 0 && (i + 1 === text.length || text[i + 1] === " ")) {
      const before = text.slice(Math.max(0, i - 3), i + 1)
      if (/(?:e\.g|i\.e)\.$/.test(before)) continue
      return text.slice(0, i + 1)
    }
  }
  return text
}

// =============================================================================
// Signatures
// =============================================================================

const paramText = (ctx: Ctx, param: ParameterDeclaration, indent: number): string => {
  const optional = param.questionToken !== undefined || param.initializer !== undefined
  const type = param.type === undefined ? "" : `: ${reindented(ctx, param.type, indent)}`
  return `${param.dotDotDotToken === undefined ? "" : "..."}${textOf(ctx, param.name)}${optional ? "?" : ""}${type}`
}

type FunctionLike = ArrowFunction | FunctionExpression | FunctionDeclaration

/** `<T>(a: A, b?: B) => R` from a function's own annotations; `undefined` without a return type. */
const functionSignature = (ctx: Ctx, fn: FunctionLike, arrow: string): string | undefined => {
  if (fn.type === undefined) return undefined
  const typeParams = fn.typeParameters === undefined || fn.typeParameters.length === 0
    ? ""
    : `<${fn.typeParameters.map((tp) => textOf(ctx, tp)).join(", ")}>`
  const result = reindented(ctx, fn.type, 0)
  const inline = fn.parameters.map((param) => paramText(ctx, param, 0))
  const oneLine = `${typeParams}(${inline.join(", ")})${arrow}${result}`
  if (!oneLine.split("\n")[0]!.includes("\n") && oneLine.length <= MAX_LINE && !inline.some((p) => p.includes("\n"))) {
    return oneLine
  }
  const params = fn.parameters.map((param) => `  ${paramText(ctx, param, 2)}`)
  return `${typeParams}(\n${params.join(",\n")}\n)${arrow}${result}`
}

const unwrapParentheses = (node: Node): Node => {
  let current = node
  while (current.kind === SyntaxKind.ParenthesizedExpression) current = (current as unknown as { expression: Node }).expression
  return current
}

const variableEntry = (ctx: Ctx, statement: VariableStatement): ReadonlyArray<Entry> =>
  statement.declarationList.declarations.map((declaration) => {
    const name = textOf(ctx, declaration.name)
    const doc = docOfNode(ctx, statement)
    const initializer = declaration.initializer === undefined ? undefined : unwrapParentheses(declaration.initializer)
    const isFunctionInit = initializer !== undefined &&
      (initializer.kind === SyntaxKind.ArrowFunction || initializer.kind === SyntaxKind.FunctionExpression)
    let type: string
    if (declaration.type !== undefined) type = reindented(ctx, declaration.type, 0)
    else if (isFunctionInit) {
      type = functionSignature(ctx, initializer as ArrowFunction, " => ") ?? ctx.typeOf(declaration.name)
    } else type = ctx.typeOf(declaration.name)
    const isFunction = isFunctionInit ||
      declaration.type?.kind === SyntaxKind.FunctionType ||
      (declaration.type === undefined && /^(?:<[^>]*>)?\(/.test(type) && type.includes("=>"))
    return { name, kind: isFunction ? "function" : "const", signature: `const ${name}: ${type}`, doc, file: ctx.file }
  })

const memberLines = (ctx: Ctx, members: ReadonlyArray<TypeElement>): Array<string> => {
  const lines: Array<string> = []
  for (const member of members) {
    const doc = docOfNode(ctx, member)
    const summary = doc === undefined ? "" : firstParagraph(doc.description)
    if (summary !== "") lines.push(`  /** ${summary} */`)
    lines.push(`  ${reindented(ctx, member, 2)}`)
  }
  return lines
}

const interfaceEntry = (ctx: Ctx, decl: InterfaceDeclaration): Entry => {
  const name = decl.name.text
  const typeParams = decl.typeParameters === undefined || decl.typeParameters.length === 0
    ? ""
    : `<${decl.typeParameters.map((tp) => textOf(ctx, tp)).join(", ")}>`
  const heritage = (decl.heritageClauses ?? []).map((clause) => ` ${reindented(ctx, clause, 0)}`).join("")
  const head = `interface ${name}${typeParams}${heritage}`
  const body = decl.members.length === 0
    ? " {}"
    : ctx.file === METHODS_FILE
    ? ` { /* ${decl.members.length} methods: see the method tables */ }`
    : decl.members.length > MAX_LISTED_MEMBERS
    ? ` { /* ${decl.members.length} members */ }`
    : ` {\n${memberLines(ctx, decl.members).join("\n")}\n}`
  return { name, kind: "interface", signature: head + body, doc: docOfNode(ctx, decl), file: ctx.file }
}

const typeAliasEntry = (ctx: Ctx, decl: TypeAliasDeclaration): Entry => {
  const name = decl.name.text
  const typeParams = decl.typeParameters === undefined || decl.typeParameters.length === 0
    ? ""
    : `<${decl.typeParameters.map((tp) => textOf(ctx, tp)).join(", ")}>`
  // a type written on the lines after `=` (a union with leading `|`) stays there
  const between = ctx.sf.text.slice(decl.name.end, decl.type.getStart(ctx.sf))
  const type = between.includes("\n") ? `\n  ${reindented(ctx, decl.type, 2)}` : ` ${reindented(ctx, decl.type, 0)}`
  return {
    name,
    kind: "type",
    signature: `type ${name}${typeParams} =${type}`,
    doc: docOfNode(ctx, decl),
    file: ctx.file
  }
}

const classEntry = (ctx: Ctx, decl: ClassDeclaration): Entry => {
  const name = decl.name?.text ?? "default"
  const start = decl.getStart(ctx.sf)
  // the head ends at the `{` that opens the body, just before the members
  const open = ctx.sf.text.lastIndexOf("{", decl.members.pos)
  const raw = ctx.sf.text.slice(start, open).replace(/^export\s+/, "").trimEnd()
  const base = lineIndent(ctx.sf.text, start)
  const head = raw.split("\n").map((line, i) => (i === 0 ? line : line.slice(Math.min(base, line.length - line.trimStart().length)))).join("\n")
  return { name, kind: "class", signature: head, doc: docOfNode(ctx, decl), file: ctx.file }
}

const functionEntry = (ctx: Ctx, decl: FunctionDeclaration): Entry => {
  const name = decl.name?.text ?? "default"
  const signature = functionSignature(ctx, decl, ": ")
  return {
    name,
    kind: "function",
    signature: signature === undefined ? `const ${name}: ${ctx.typeOf(decl.name ?? decl)}` : `function ${name}${signature}`,
    doc: docOfNode(ctx, decl),
    file: ctx.file
  }
}

// =============================================================================
// Reading the program
// =============================================================================

interface Program {
  readonly ctx: (file: string) => Ctx
  readonly close: () => void
}

const openProgram = (): Program => {
  const api = new API({ cwd: repoRoot })
  const config = path.join(repoRoot, "tsconfig.build.json")
  const snapshot = api.updateSnapshot({ openProjects: [config] })
  const project = snapshot.getProjects()[0]
  if (project === undefined) throw new Error(`TypeScript could not open ${config}`)
  const cache = new Map<string, Ctx>()
  return {
    ctx: (file) => {
      const cached = cache.get(file)
      if (cached !== undefined) return cached
      const sf = project.program.getSourceFile(path.join(repoRoot, file))
      if (sf === undefined) throw new Error(`${file} is not part of tsconfig.build.json`)
      const ctx: Ctx = {
        sf,
        file,
        typeOf: (node) => {
          const symbol = project.checker.getSymbolAtLocation(node)
          if (symbol === undefined) throw new Error(`${file}: no symbol for ${textOf(ctx, node)}`)
          // 1 = TypeFormatFlags.NoTruncation; `import("effect/Scope").Scope` reads as `Scope.Scope`
          return project.checker.typeToString(project.checker.getTypeOfSymbol(symbol)!, node, 1)
            .replace(/import\("(?:[^"]*\/)?([^"/]+?)(?:\.ts)?"\)\./g, "$1.")
        }
      }
      cache.set(file, ctx)
      return ctx
    },
    close: () => api.close()
  }
}

const resolveModule = (from: string, specifier: string): string =>
  path.relative(repoRoot, path.resolve(repoRoot, path.dirname(from), specifier)).split(path.sep).join("/")

const specifierOf = (statement: ExportDeclaration): string | undefined => {
  const spec = statement.moduleSpecifier
  return spec === undefined ? undefined : (spec as unknown as { readonly text: string }).text
}

/** Every export a file declares or re-exports, in source order. */
const collectEntries = (program: Program, file: string, only?: ReadonlySet<string>): Array<Entry> => {
  const ctx = program.ctx(file)
  const entries: Array<Entry> = []
  for (const statement of ctx.sf.statements) {
    if (statement.kind === SyntaxKind.ExportDeclaration) {
      const decl = statement as unknown as ExportDeclaration
      const target = specifierOf(decl)
      if (target === undefined || decl.exportClause?.kind === SyntaxKind.NamespaceExport) continue
      const targetFile = resolveModule(file, target)
      if (decl.exportClause === undefined) entries.push(...collectEntries(program, targetFile))
      else {
        const names = new Set(
          (decl.exportClause as NamedExports).elements.map((element) => textOf(ctx, element.propertyName ?? element.name))
        )
        entries.push(...collectEntries(program, targetFile, names))
      }
      continue
    }
    if (!hasExport(statement)) continue
    const found: ReadonlyArray<Entry> = statement.kind === SyntaxKind.VariableStatement
      ? variableEntry(ctx, statement as VariableStatement)
      : statement.kind === SyntaxKind.InterfaceDeclaration
      ? [interfaceEntry(ctx, statement as InterfaceDeclaration)]
      : statement.kind === SyntaxKind.TypeAliasDeclaration
      ? [typeAliasEntry(ctx, statement as TypeAliasDeclaration)]
      : statement.kind === SyntaxKind.ClassDeclaration
      ? [classEntry(ctx, statement as ClassDeclaration)]
      : statement.kind === SyntaxKind.FunctionDeclaration
      ? [functionEntry(ctx, statement as FunctionDeclaration)]
      : []
    if (found.length === 0) throw new Error(`${file}: unsupported export ${SyntaxKind[statement.kind]}`)
    // `@internal` exports are shared between modules of the SDK, not offered to users
    entries.push(...found.filter((entry) =>
      (only === undefined || only.has(entry.name)) && !(entry.doc?.tags.some((tag) => tag.name === "internal") ?? false)
    ))
  }
  return entries
}

/** The `export * as X from "./X.ts"` of an entry point, and its other exports. */
const readEntryPoint = (program: Program, file: string) => {
  const ctx = program.ctx(file)
  const modules: Array<ModuleInfo> = []
  const others: Array<string> = []
  for (const statement of ctx.sf.statements) {
    if (statement.kind !== SyntaxKind.ExportDeclaration) continue
    const decl = statement as unknown as ExportDeclaration
    const target = specifierOf(decl)
    if (target !== undefined && decl.exportClause?.kind === SyntaxKind.NamespaceExport) {
      const moduleFile = resolveModule(file, target)
      modules.push({
        namespace: textOf(ctx, (decl.exportClause as NamespaceExport).name),
        file: moduleFile,
        doc: moduleDoc(program.ctx(moduleFile)),
        entries: collectEntries(program, moduleFile)
      })
    } else others.push(textOf(ctx, decl))
  }
  return { doc: moduleDoc(ctx), modules, others }
}

// =============================================================================
// Schema entry point
// =============================================================================

interface MethodRow {
  readonly method: string
  readonly type: string
  readonly experimental: boolean
}

const methodRows = (ctx: Ctx, name: string): Array<MethodRow> => {
  const decl = ctx.sf.statements.find((statement) =>
    statement.kind === SyntaxKind.InterfaceDeclaration && (statement as InterfaceDeclaration).name.text === name
  ) as InterfaceDeclaration | undefined
  if (decl === undefined) throw new Error(`${ctx.file}: no interface ${name}`)
  return decl.members.map((member) => {
    const property = member as PropertySignature
    const doc = docOfNode(ctx, member)
    return {
      method: textOf(ctx, property.name).replace(/^"|"$/g, ""),
      type: property.type === undefined ? "unknown" : textOf(ctx, property.type).replace(/\bP\./g, "").replace(/\s+/g, " "),
      experimental: doc?.tags.some((tag) => tag.name === "experimental") ?? false
    }
  })
}

const cell = (text: string) => `\`${text.replace(/\|/g, "\\|")}\``

const methodTable = (
  title: string,
  params: ReadonlyArray<MethodRow>,
  responses: ReadonlyArray<MethodRow> | undefined
): string => {
  const byMethod = new Map(responses?.map((row) => [row.method, row.type]))
  const experimental = params.filter((row) => row.experimental).length
  const header = responses === undefined ? "| method | params |\n| --- | --- |" : "| method | params | response |\n| --- | --- | --- |"
  const rows = params.map((row) => {
    const method = `\`${row.method}\`${row.experimental ? " (experimental)" : ""}`
    return responses === undefined
      ? `| ${method} | ${cell(row.type)} |`
      : `| ${method} | ${cell(row.type)} | ${cell(byMethod.get(row.method) ?? "?")} |`
  })
  const count = `${params.length} method${params.length === 1 ? "" : "s"}${experimental > 0 ? `, ${experimental} experimental` : ""}`
  const summary = title.replace(/`([^`]+)`/g, "<code>$1</code>")
  return `<details>\n<summary>${summary} (${count})</summary>\n\n${header}\n${rows.join("\n")}\n\n</details>`
}

/** A one-line outline of a protocol type: the fields of an object, the members of a union. */
const outline = (ctx: Ctx, node: TypeNode): string => {
  switch (node.kind) {
    case SyntaxKind.TypeLiteral: {
      const fields = (node as TypeLiteralNode).members.map((member) => {
        const property = member as PropertySignature
        if (property.name === undefined) return "[key]"
        return `${textOf(ctx, property.name)}${property.postfixToken?.kind === SyntaxKind.QuestionToken ? "?" : ""}`
      })
      return `{ ${fields.join(", ")} }`
    }
    case SyntaxKind.UnionType:
      return (node as UnionTypeNode).types.map((member) => {
        if (member.kind === SyntaxKind.LiteralType) return textOf(ctx, (member as LiteralTypeNode).literal)
        if (member.kind === SyntaxKind.ParenthesizedType && textOf(ctx, member).replace(/\s/g, "") === "(string&{})") {
          return "(any other string)"
        }
        if (member.kind === SyntaxKind.TypeLiteral) {
          const members = (member as TypeLiteralNode).members as unknown as ReadonlyArray<PropertySignature>
          const tag = members.find((m) =>
            m.name !== undefined && textOf(ctx, m.name) === "type" && m.type?.kind === SyntaxKind.LiteralType
          )
          if (tag !== undefined) return `{ type: ${textOf(ctx, (tag.type as LiteralTypeNode).literal)}, … }`
          return `{ ${members.map((m) => (m.name === undefined ? "[key]" : textOf(ctx, m.name))).join(", ")} }`
        }
        return textOf(ctx, member).replace(/\s+/g, " ")
      }).join(" | ")
    default:
      return textOf(ctx, node).replace(/\s+/g, " ")
  }
}

const renderSchema = (program: Program, file: string, entryDoc: Doc | undefined, missing: Array<Missing>): string => {
  const out: Array<string> = []
  const ctx = program.ctx(file)
  const reexports: Array<{ readonly target: string; readonly named: boolean }> = []
  for (const statement of ctx.sf.statements) {
    if (statement.kind !== SyntaxKind.ExportDeclaration) continue
    const decl = statement as unknown as ExportDeclaration
    const target = specifierOf(decl)
    if (target !== undefined) reexports.push({ target: resolveModule(file, target), named: decl.exportClause !== undefined })
  }
  if (!reexports.some((r) => r.target === PROTOCOL_FILE) || !reexports.some((r) => r.target === METHODS_FILE)) {
    throw new Error(`${file} no longer re-exports ${PROTOCOL_FILE} and ${METHODS_FILE}; update scripts/api-reference.ts`)
  }
  if (entryDoc !== undefined) out.push(firstParagraph(entryDoc.description), "")
  out.push("```ts", `import * as Protocol from "effect-codex/schema"`, "```", "")

  // Protocol types
  const protocol = program.ctx(PROTOCOL_FILE)
  const typeDecls = new Map<string, TypeAliasDeclaration | InterfaceDeclaration>()
  let schemas = 0
  for (const statement of protocol.sf.statements) {
    if (!hasExport(statement)) continue
    if (statement.kind === SyntaxKind.TypeAliasDeclaration || statement.kind === SyntaxKind.InterfaceDeclaration) {
      const decl = statement as TypeAliasDeclaration | InterfaceDeclaration
      typeDecls.set(decl.name.text, decl)
    } else if (statement.kind === SyntaxKind.VariableStatement) schemas++
  }
  out.push(
    "### Protocol types",
    "",
    `[${PROTOCOL_FILE}](../${PROTOCOL_FILE}) declares **${typeDecls.size} types**, each with a same-named Effect ` +
      `Schema (${schemas} schema constants): \`Protocol.ThreadItem\` is a type and ` +
      "`Schema.decodeUnknownEffect(Protocol.ThreadItem)` decodes one. String enums with several members are open " +
      "(`OpenLiteral`): they accept values a newer codex adds. Some headline types:",
    "",
  )
  for (const name of HEADLINE_TYPES) {
    const decl = typeDecls.get(name)
    if (decl === undefined) throw new Error(`${PROTOCOL_FILE}: headline type ${name} is gone; update HEADLINE_TYPES`)
    const doc = docOfNode(protocol, decl)
    const what = doc === undefined ? "" : firstSentence(doc.description)
    const shape = decl.kind === SyntaxKind.TypeAliasDeclaration
      ? outline(protocol, (decl as TypeAliasDeclaration).type)
      : `{ ${(decl as InterfaceDeclaration).members.length} members }`
    out.push(`- \`Protocol.${name}\`:${what === "" ? "" : ` ${what}`}\n  \`${shape}\``)
  }
  out.push("")

  // Method maps
  const methods = program.ctx(METHODS_FILE)
  out.push(
    "### Method maps",
    "",
    `From [${METHODS_FILE}](../${METHODS_FILE}): for each direction, the method names, the params (and response) ` +
      "type of each method, the runtime schemas by method, and which methods are experimental.",
    ""
  )
  for (const entry of collectEntries(program, METHODS_FILE)) {
    out.push(renderEntry("Protocol", entry, missing))
  }
  out.push(
    "### Method tables",
    "",
    "Generated from the method maps above (types are `Protocol` types).",
    "",
    methodTable(
      "Client requests: `AppServerClient.request(method, params)`",
      methodRows(methods, "ClientRequestParamsByMethod"),
      methodRows(methods, "ClientRequestResponseByMethod")
    ),
    "",
    methodTable(
      "Server requests: answered by `Approvals`, `CodexTool`s or `handleServerRequests`",
      methodRows(methods, "ServerRequestParamsByMethod"),
      methodRows(methods, "ServerRequestResponseByMethod")
    ),
    "",
    methodTable("Server notifications", methodRows(methods, "ServerNotificationParamsByMethod"), undefined),
    "",
    methodTable("Client notifications", methodRows(methods, "ClientNotificationParamsByMethod"), undefined),
    ""
  )

  // Anything else the schema entry point re-exports
  const others = reexports.filter((r) => r.target !== PROTOCOL_FILE && r.target !== METHODS_FILE)
  if (others.length > 0) {
    out.push("### Other exports", "")
    const entries = collectEntriesOf(program, file, new Set([PROTOCOL_FILE, METHODS_FILE]))
    for (const entry of entries) out.push(renderEntry("Protocol", entry, missing))
  }
  return out.join("\n")
}

/** The exports of an entry point, leaving out the re-exports of some files. */
const collectEntriesOf = (program: Program, file: string, skip: ReadonlySet<string>): Array<Entry> => {
  const ctx = program.ctx(file)
  const entries: Array<Entry> = []
  for (const statement of ctx.sf.statements) {
    if (statement.kind !== SyntaxKind.ExportDeclaration) continue
    const decl = statement as unknown as ExportDeclaration
    const target = specifierOf(decl)
    if (target === undefined) continue
    const targetFile = resolveModule(file, target)
    if (skip.has(targetFile)) continue
    const names = decl.exportClause?.kind === SyntaxKind.NamedExports
      ? new Set((decl.exportClause as NamedExports).elements.map((e) => textOf(ctx, e.propertyName ?? e.name)))
      : undefined
    entries.push(...collectEntries(program, targetFile, names))
  }
  return entries
}

// =============================================================================
// Rendering
// =============================================================================

const anchor = (heading: string): string =>
  heading.toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, "").trim().replace(/\s/g, "-")

const renderEntry = (namespace: string | undefined, entry: Entry, missing: Array<Missing>): string => {
  const qualified = namespace === undefined ? entry.name : `${namespace}.${entry.name}`
  const where = `${qualified} (${entry.kind}, ${entry.file})`
  if (entry.file !== PROTOCOL_FILE && entry.file !== METHODS_FILE) {
    if (entry.doc === undefined) missing.push({ where, problem: "no JSDoc" })
    else if (entry.doc.description === "") missing.push({ where, problem: "JSDoc without a description" })
    for (const tag of ["since", "category"]) {
      if (entry.doc !== undefined && !entry.doc.tags.some((t) => t.name === tag)) missing.push({ where, problem: `no @${tag}` })
    }
  }
  const sentence = entry.doc === undefined ? "" : firstSentence(entry.doc.description)
  const lines = [`#### \`${qualified}\` (${entry.kind})`, ""]
  if (sentence !== "") lines.push(sentence, "")
  lines.push("```ts", entry.signature, "```", "")
  return lines.join("\n")
}

/** Renders the whole reference; `missing` lists the exports without a JSDoc description. */
export const generate = (): { readonly markdown: string; readonly missing: ReadonlyArray<Missing> } => {
  const program = openProgram()
  try {
    const missing: Array<Missing> = []
    const out: Array<string> = [
      "# API reference",
      "",
      "<!-- Generated by scripts/api-reference.ts from the sources. Do not edit: run `node scripts/api-reference.ts`. -->",
      "",
      "Every export of the entry points, read from the sources: its kind, its signature and the first " +
        "sentence of its JSDoc. For a guided tour see [getting-started.md](getting-started.md); for what can go " +
        "wrong, [faq.md](faq.md).",
      ""
    ]
    const toc: Array<string> = []
    const sections: Array<string> = []
    for (const entryPoint of ENTRY_POINTS) {
      const heading = `\`${entryPoint.specifier}\``
      toc.push(`- [${heading}](#${anchor(entryPoint.specifier)}) ([${entryPoint.file}](../${entryPoint.file}))`)
      sections.push(`## ${heading}`, "")
      if (entryPoint.specifier === "effect-codex/schema") {
        const ctx = program.ctx(entryPoint.file)
        sections.push(renderSchema(program, entryPoint.file, moduleDoc(ctx), missing))
        continue
      }
      if ("flat" in entryPoint && entryPoint.flat) {
        const doc = moduleDoc(program.ctx(entryPoint.file))
        if (doc !== undefined) sections.push(firstParagraph(doc.description), "")
        const entries = collectEntriesOf(program, entryPoint.file, new Set())
        sections.push(`\`import { ${entries.filter((e) => e.kind === "class").map((e) => e.name).join(", ")} } from "${entryPoint.specifier}"\``, "")
        for (const entry of entries) sections.push(renderEntry(undefined, entry, missing))
        continue
      }
      const { doc, modules, others } = readEntryPoint(program, entryPoint.file)
      if (others.length > 0) {
        throw new Error(`${entryPoint.file}: only \`export * as X from\` is supported in an entry point, got: ${others.join("; ")}`)
      }
      if (doc !== undefined) sections.push(firstParagraph(doc.description), "")
      sections.push("| module | what |", "| --- | --- |")
      for (const module of modules) {
        const what = module.doc === undefined ? "" : firstSentence(module.doc.description).replace(/\|/g, "\\|")
        sections.push(`| [${module.namespace}](#${anchor(module.namespace)}) | ${what} |`)
        toc.push(`  - [${module.namespace}](#${anchor(module.namespace)})`)
      }
      sections.push("")
      for (const module of modules) {
        if (module.doc === undefined || module.doc.description === "") {
          missing.push({ where: `module ${module.namespace} (${module.file})`, problem: module.doc === undefined ? "no JSDoc" : "JSDoc without a description" })
        }
        const stability = module.doc?.tags.find((tag) => tag.name === "stability")?.text
        if (module.doc !== undefined && stability === undefined) {
          missing.push({ where: `module ${module.namespace} (${module.file})`, problem: "no @stability" })
        }
        sections.push(
          `### ${module.namespace}`,
          "",
          `\`import { ${module.namespace} } from "${entryPoint.specifier}"\` · source: [${module.file}](../${module.file})${
            stability === undefined ? "" : ` · stability: ${stability}`
          }`,
          ""
        )
        if (module.doc !== undefined && module.doc.description !== "") {
          sections.push(firstParagraph(module.doc.description), "")
        }
        for (const entry of module.entries) sections.push(renderEntry(module.namespace, entry, missing))
      }
    }
    out.push(...toc, "", ...sections)
    const markdown = out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n"
    return { markdown, missing }
  } finally {
    program.close()
  }
}

// =============================================================================
// CLI
// =============================================================================

const main = () => {
  const args = new Set(process.argv.slice(2))
  const unknown = [...args].filter((arg) => arg !== "--check" && arg !== "--require-jsdoc")
  if (unknown.length > 0) {
    console.error(`api-reference: unknown argument(s) ${unknown.join(" ")} (use --check and/or --require-jsdoc)`)
    process.exit(2)
  }
  const started = performance.now()
  const { markdown, missing } = generate()
  const file = path.join(repoRoot, OUTPUT)
  let failed = false
  if (missing.length > 0) {
    console.error(`api-reference: ${missing.length} public export(s) without a JSDoc description:`)
    for (const m of missing) console.error(`  - ${m.where}: ${m.problem}`)
    if (args.has("--require-jsdoc")) failed = true
  }
  if (args.has("--check")) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined
    if (current !== markdown) {
      console.error(
        `api-reference: ${OUTPUT} is ${current === undefined ? "missing" : "stale"}: it differs from what the ` +
          "sources give. Run `node scripts/api-reference.ts` and commit the result."
      )
      if (current !== undefined) {
        const [was, now] = [current.split("\n"), markdown.split("\n")]
        const line = now.findIndex((text, i) => text !== was[i])
        const at = line === -1 ? now.length : line
        console.error(`  first difference at line ${at + 1}:\n  - ${was[at] ?? "(end of file)"}\n  + ${now[at] ?? "(end of file)"}`)
      }
      failed = true
    } else console.log(`api-reference: ${OUTPUT} is up to date (${Math.round(performance.now() - started)} ms)`)
  } else {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, markdown)
    console.log(`api-reference: wrote ${OUTPUT} (${markdown.length} bytes, ${Math.round(performance.now() - started)} ms)`)
  }
  if (failed) process.exit(1)
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main()
  } catch (error) {
    console.error(`api-reference: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    process.exit(1)
  }
}
