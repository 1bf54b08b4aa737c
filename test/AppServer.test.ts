import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as AppServer from "../src/layers/AppServer.ts"
import { AppServerClient } from "../src/services/AppServerClient.ts"
import { offlineConfig, tempCodexHome } from "./support/Home.ts"

const withClient = <A, E>(f: (client: AppServerClient["Service"]) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const codexHome = yield* tempCodexHome
    const client = yield* Layer.build(AppServer.layer({ codexHome, config: offlineConfig })).pipe(
      Effect.map((ctx) => ctx.mapUnsafe.get(AppServerClient.key) as AppServerClient["Service"])
    )
    return yield* f(client)
  }).pipe(Effect.provide(NodeServices.layer))

describe("AppServer (real binary)", () => {
  it.live("initializes and exposes metadata", () =>
    withClient((client) =>
      Effect.gen(function*() {
        assert.match(client.metadata.userAgent, /0\.169\.0/)
        assert.strictEqual(client.metadata.platformFamily, "unix")
        const models = yield* client.request("model/list", {})
        assert.isArray(models.data)
        const thread = yield* client.request("thread/start", {})
        assert.isString(thread.thread.id)
        const list = yield* client.request("thread/list", {})
        assert.isArray(list.data)
      })
    ))
})
