/**
 * The account and the model catalogue of the scripted app-server:
 * `model/list` and the `account/*` methods (API-key login only).
 *
 * @internal
 */
import { Effect } from "../../../schema/internal/effect.ts"
import * as P from "./codexTestPayloads.ts"
import { answer, decode, type Handlers, invalid, notify, page } from "./codexTestState.ts"

/** `model/list` and the `account/*` methods. */
export const handlers: Handlers = {
  "model/list": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "model/list", raw)
      const models = state.options.models ?? P.defaultModels
      const visible = params.includeHidden === true ? models : models.filter((model) => !model.hidden)
      return answer(yield* page(visible, params.cursor, params.limit))
    }),
  "account/read": (state, raw) =>
    Effect.gen(function*() {
      yield* decode(state, "account/read", raw)
      return answer({ account: state.account, requiresOpenaiAuth: false, userId: null })
    }),
  "account/login/start": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "account/login/start", raw)
      if (params.type !== "apiKey") return yield* invalid(`CodexTest supports only apiKey login, not ${params.type}`)
      state.account = { type: "apiKey" }
      return answer(
        { type: "apiKey" },
        notify(state, "account/login/completed", { loginId: null, success: true, error: null }).pipe(
          Effect.andThen(notify(state, "account/updated", { authMode: "apikey", planType: null }))
        )
      )
    }),
  // reads no params
  "account/logout": (state) =>
    Effect.sync(() => {
      state.account = null
      return answer({}, notify(state, "account/updated", { authMode: null, planType: null }))
    })
}
