import { Effect, Layer, Stream } from "effect"
import * as AppServer from "../../src/layers/AppServer.ts"
import type * as Transport from "../../src/layers/Transport.ts"
import type { AppServerClient, Options } from "../../src/services/AppServerClient.ts"
import type * as CodexError from "../../src/schema/CodexError.ts"

/** A message the fake server received, parsed. */
export interface Received {
  readonly id?: number | string
  readonly method?: string
  readonly params?: any
  readonly result?: any
  readonly error?: any
  /** The W3C trace context of the envelope, when the request carries one. */
  readonly trace?: any
}

/** The initialize answer of the fake server. */
export const initializeResult = {
  userAgent: "fake/0.169.0",
  codexHome: "/tmp/fake",
  platformFamily: "unix",
  platformOs: "linux"
}

/**
 * A client over an in-memory app-server: `initialize` is answered, `initialized`
 * swallowed, every other message goes to `onMessage`.
 */
export const layer = (
  onMessage: (message: Received, server: Transport.InMemoryServer) => Effect.Effect<void>,
  options?: Options
): Layer.Layer<AppServerClient, CodexError.CodexError> =>
  AppServer.layerInMemory(
    (server) =>
      server.received.pipe(
        Stream.runForEach((line) => {
          const message = JSON.parse(line) as Received
          if (message.method === "initialize") {
            return server.send(JSON.stringify({ id: message.id, result: initializeResult }))
          }
          return message.method === "initialized" ? Effect.void : onMessage(message, server)
        })
      ),
    options
  )

/** Sends a JSON value to the client. */
export const send = (server: Transport.InMemoryServer, value: unknown) => server.send(JSON.stringify(value))
