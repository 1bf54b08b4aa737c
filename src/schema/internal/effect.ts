/**
 * The effect modules the SDK's main entry point uses, as one module to import them from:
 * `import { Effect, Stream } from "../schema/internal/effect.ts"`.
 *
 * Why not `from "effect"`: that barrel loads every module it re-exports (~250; the SDK needs ~175). Why
 * not `from "effect/Effect"` in every file: Node resolves a bare specifier again for every importing
 * module (package lookup, `exports` matching, stat), which cost ~25 ms of a cold import over the ~45
 * modules of the SDK; here each is resolved once. The namespaces are effect's own module namespaces
 * (`Effect` here IS `import * as Effect from "effect/Effect"`), so nothing differs but load time.
 *
 * Only what the main entry point loads belongs here: everything listed is loaded by every importer.
 * Other modules (effect/cli, effect/ai, ...) are imported by path where they are used
 * (`node scripts/subpath-imports.ts` rewrites barrel imports accordingly).
 *
 * `Schema`, `SchemaAST`, `ChildProcess`, `ChildProcessSpawner`, `Socket` and `OpenAiStructuredOutput` are
 * the real namespaces too, loaded on first use (`./lazyNamespaces.ts`): the main entry point needs them only
 * once it decodes, spawns, connects or derives an output schema, and together they were ~40% of a cold import.
 *
 * @internal
 */
export { ChildProcess, ChildProcessSpawner, OpenAiStructuredOutput, Schema, SchemaAST, Socket } from "./lazyNamespaces.ts"
export * as Cause from "effect/Cause"
export * as Clock from "effect/Clock"
export * as Context from "effect/Context"
export * as Data from "effect/Data"
export * as Deferred from "effect/Deferred"
export * as Duration from "effect/Duration"
export * as Effect from "effect/Effect"
export * as Base64 from "effect/encoding/Base64"
export * as Exit from "effect/Exit"
export * as Fiber from "effect/Fiber"
export * as FiberMap from "effect/FiberMap"
export * as FileSystem from "effect/FileSystem"
export * as Latch from "effect/Latch"
export * as Layer from "effect/Layer"
export * as LayerMap from "effect/LayerMap"
export * as Metric from "effect/Metric"
export * as Option from "effect/Option"
export * as Predicate from "effect/Predicate"
export * as PubSub from "effect/PubSub"
export * as Queue from "effect/Queue"
export * as Redacted from "effect/Redacted"
export * as Result from "effect/Result"
export * as Schedule from "effect/Schedule"
export * as Scope from "effect/Scope"
export * as Stream from "effect/Stream"
export * as Tracer from "effect/Tracer"
