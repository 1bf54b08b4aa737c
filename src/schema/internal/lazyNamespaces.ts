/**
 * The effect namespaces the main entry point's modules import through
 * `./effect.ts` but use only after start: each is effect's own namespace,
 * loaded on the first property read (see `./lazyModule.ts`), with the types of
 * the real module.
 *
 * A namespace's type side lists the types the SDK's modules name (`Schema.Top`,
 * `Schema.Codec<A>`, ...) as aliases of the real ones; a type missing here is a
 * compile error naming it, fixed by adding its alias.
 *
 * @internal
 */
import type * as OAI from "effect/ai/OpenAiStructuredOutput"
import type * as CP from "effect/process/ChildProcess"
import type * as CPS from "effect/process/ChildProcessSpawner"
import type * as S from "effect/Schema"
import type * as SAST from "effect/SchemaAST"
import type * as SocketNs from "effect/socket/Socket"
import { lazyModule } from "./lazyModule.ts"

/**
 * The `effect/Schema` namespace, loaded on first use.
 *
 * @internal
 */
export const Schema: typeof S = lazyModule<typeof S>("effect/Schema")

/**
 * The types of `effect/Schema` the SDK names.
 *
 * @internal
 */
export declare namespace Schema {
  export type Any = S.Any
  export type Boolean = S.Boolean
  export type Class<Self, A extends S.Constraint & { readonly fields: S.Struct.Fields }, Inherited> = S.Class<Self, A, Inherited>
  export type Codec<T, E = T, RD = never, RE = never> = S.Codec<T, E, RD, RE>
  export type Constraint = S.Constraint
  export type Decoder<T, RD = never> = S.Decoder<T, RD>
  export type Defect = S.Defect
  export type Encoder<E, RE = never> = S.Encoder<E, RE>
  export type Json = S.Json
  export type Literals<L extends ReadonlyArray<SAST.LiteralValue>> = S.Literals<L>
  export type MutableJson = S.MutableJson
  export type Never = S.Never
  export type Null = S.Null
  export type NullOr<A extends S.Constraint> = S.NullOr<A>
  export type NullishOr<A extends S.Constraint> = S.NullishOr<A>
  export type Number = S.Number
  export type Schema<T> = S.Schema<T>
  export namespace Schema {
    export type Type<A> = S.Schema.Type<A>
  }
  export type SchemaError = S.SchemaError
  export type String = S.String
  export type Struct<Fields extends S.Struct.Fields> = S.Struct<Fields>
  export namespace Struct {
    export type Fields = S.Struct.Fields
  }
  export type Top = S.Top
  export type UndefinedOr<A extends S.Constraint> = S.UndefinedOr<A>
  export type Union<Members extends ReadonlyArray<S.Constraint>> = S.Union<Members>
  export type Unknown = S.Unknown
}

/**
 * The `effect/ai/OpenAiStructuredOutput` namespace, loaded on first use.
 *
 * @internal
 */
export const OpenAiStructuredOutput: typeof OAI = lazyModule<typeof OAI>("effect/ai/OpenAiStructuredOutput")

/**
 * The `effect/socket/Socket` namespace, loaded on first use (by the WebSocket transport).
 *
 * @internal
 */
export const Socket: typeof SocketNs = lazyModule<typeof SocketNs>("effect/socket/Socket")

/**
 * The types of `effect/socket/Socket` the SDK names.
 *
 * @internal
 */
export declare namespace Socket {
  export type SocketError = SocketNs.SocketError
  export type WebSocketConstructor = SocketNs.WebSocketConstructor
}

/**
 * The `effect/SchemaAST` namespace, loaded on first use (it brings `SchemaGetter`,
 * `SchemaTransformation`, `DateTime` and `BigDecimal`, ~330 KB of source).
 *
 * @internal
 */
export const SchemaAST: typeof SAST = lazyModule<typeof SAST>("effect/SchemaAST")

/**
 * The types of `effect/SchemaAST` the SDK names.
 *
 * @internal
 */
export declare namespace SchemaAST {
  export type AST = SAST.AST
  export type Arrays = SAST.Arrays
  export type Check<T> = SAST.Check<T>
  export type Checks = SAST.Checks
  export type Declaration = SAST.Declaration
  export type Encoding = SAST.Encoding
  export type Filter<E> = SAST.Filter<E>
  export type IndexSignature = SAST.IndexSignature
  export type Link = SAST.Link
  export type LiteralValue = SAST.LiteralValue
  export type Number = SAST.Number
  export type Objects = SAST.Objects
  export type ParseOptions = SAST.ParseOptions
  export type PropertySignature = SAST.PropertySignature
  export type Suspend = SAST.Suspend
  export type Union<A extends AST = AST> = SAST.Union<A>
}

/**
 * The `effect/process/ChildProcess` namespace, loaded on first use (when a
 * process is spawned: it and the spawner bring `SchemaAST` along).
 *
 * @internal
 */
export const ChildProcess: typeof CP = lazyModule<typeof CP>("effect/process/ChildProcess")

/**
 * The types of `effect/process/ChildProcess` the SDK names.
 *
 * @internal
 */
export declare namespace ChildProcess {
  export type Command = CP.Command
  export type CommandOptions = CP.CommandOptions
  export type StandardCommand = CP.StandardCommand
}

/**
 * The `effect/process/ChildProcessSpawner` namespace, loaded on first use.
 *
 * @internal
 */
export const ChildProcessSpawner: typeof CPS = lazyModule<typeof CPS>("effect/process/ChildProcessSpawner")

/**
 * The types of `effect/process/ChildProcessSpawner` the SDK names.
 *
 * @internal
 */
export declare namespace ChildProcessSpawner {
  export type ChildProcessHandle = CPS.ChildProcessHandle
  export type ChildProcessSpawner = CPS.ChildProcessSpawner
  export type ExitCode = CPS.ExitCode
}
