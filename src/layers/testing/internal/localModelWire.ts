/**
 * What codex sends the Responses API, as loosely as `LocalModel` reads it
 * (shared by the server and the assistant that answers it).
 *
 * @internal
 */

/**
 * One item of the `input` array the binary sends (`message`, `function_call_output`, ...).
 *
 * @since 0.1.0
 * @category models
 */
export interface InputItem {
  readonly type: string
  readonly role?: string
  readonly [key: string]: unknown
}

/**
 * The JSON body of a `POST /v1/responses` (loosely typed: codex adds fields between versions).
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestBody {
  readonly model?: string
  readonly input?: ReadonlyArray<InputItem>
  readonly tools?: ReadonlyArray<{ readonly type: string; readonly name?: string; readonly [key: string]: unknown }>
  readonly [key: string]: unknown
}
