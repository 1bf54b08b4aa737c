/**
 * Tools your program provides to codex, implemented as Effects.
 *
 * A tool is given to `Codex.startThread({ tools })`; codex sees its name,
 * description and the JSON Schema derived from `parameters`, and calls it with
 * an `item/tool/call` request during a turn. The arguments are decoded with
 * the Schema (`run` is not called when they do not decode); the string `run`
 * returns is the tool's output. A failure or defect answers `success: false`
 * with its message, and the turn goes on. Tools run concurrently.
 *
 * Client tools are an experimental app-server API: the connection needs
 * `experimentalApi` (the default of `AppServer.layer`).
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Codex, CodexTool } from "effect-codex"
 *
 * const weather = CodexTool.make("weather", {
 *   description: "Current temperature in a city, in Celsius",
 *   parameters: Schema.Struct({ city: Schema.String }),
 *   run: ({ city }) => Effect.succeed(city === "Paris" ? "18" : "21")
 * })
 *
 * const program = Codex.startThread({ tools: [weather] }).pipe(
 *   Effect.flatMap((thread) => thread.run("Is it warmer in Paris or in Rome?"))
 * )
 * ```
 *
 * @stability unstable
 * @since 0.1.0
 */
import { Cause, Effect, Predicate, type Schema } from "../schema/internal/effect.ts"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import * as OutputSchema from "../schema/OutputSchema.ts"
import * as CodexError from "../schema/CodexError.ts"

const TypeId = "~effect-codex/CodexTool" as const

/**
 * A tool: name, description, parameters Schema and the Effect that runs it.
 *
 * @category models
 * @since 0.1.0
 */
export interface CodexTool<A, E = never> {
  readonly [TypeId]: typeof TypeId
  readonly name: string
  readonly description: string
  readonly parameters: Schema.Top & { readonly Type: A; readonly DecodingServices: never }
  readonly run: (args: A) => Effect.Effect<string, E>
}

/**
 * Any tool.
 *
 * @category models
 * @since 0.1.0
 */
export type Any = CodexTool<any, any>

/**
 * Makes a tool.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <S extends Schema.Top & { readonly DecodingServices: never }, E = never>(
  name: string,
  options: {
    readonly description: string
    readonly parameters: S
    readonly run: (args: S["Type"]) => Effect.Effect<string, E>
  }
): CodexTool<S["Type"], E> => ({
  [TypeId]: TypeId,
  name,
  description: options.description,
  parameters: options.parameters,
  run: options.run
})

/**
 * Whether a value is a {@link CodexTool}.
 *
 * @category guards
 * @since 0.1.0
 */
export const isCodexTool = (u: unknown): u is Any => Predicate.hasProperty(u, TypeId)

/**
 * A tool ready to be served: its protocol spec and its call handler.
 *
 * @category models
 * @since 0.1.0
 */
export interface Prepared {
  readonly spec: Protocol.DynamicToolSpec
  readonly call: (args: unknown) => Effect.Effect<Protocol.DynamicToolCallResponse>
}

const text = (text: string, success: boolean): Protocol.DynamicToolCallResponse => ({
  contentItems: [{ type: "inputText", text }],
  success
})

const messageOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message.length > 0
    ? error.message
    : String(error)

/**
 * Derives a tool's JSON Schema and call handler. Fails with `InvalidOptions`
 * when the parameters Schema has no JSON Schema form the model API accepts.
 *
 * @category constructors
 * @since 0.1.0
 */
export const prepare = (tool: Any): Effect.Effect<Prepared, CodexError.CodexError> =>
  OutputSchema.make(tool.parameters).pipe(
    Effect.mapError((error) =>
      CodexError.make(
        new CodexError.InvalidOptions({
          description: `tool ${tool.name}: parameters at ${error.path}: ${error.message}`
        })
      )
    ),
    Effect.map((schema): Prepared => ({
      spec: { type: "function", name: tool.name, description: tool.description, inputSchema: schema.jsonSchema as never },
      call: (args) =>
        schema.decodeJson(args).pipe(
          Effect.matchEffect({
            onFailure: (error) =>
              Effect.succeed(text(`Invalid arguments for ${tool.name}: ${error.message}`, false)),
            onSuccess: (decoded) =>
              Effect.suspend(() => tool.run(decoded)).pipe(
                Effect.map((output) => text(output, true)),
                Effect.catchCause((cause) =>
                  Cause.hasInterruptsOnly(cause)
                    ? Effect.interrupt
                    : Effect.succeed(text(messageOf(Cause.squash(cause)), false))
                )
              )
          })
        )
    }))
  )
