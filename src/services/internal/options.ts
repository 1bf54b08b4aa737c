/**
 * Validation of user-given options. Pure: each check returns the normalised
 * value or an `InvalidOptions` error naming the option, so a bad option fails
 * the layer (or the call) before anything is spawned or sent, instead of
 * hanging, being clamped silently or dying with an untyped defect.
 *
 * @internal
 */
import { Duration, Option, Predicate, Redacted, Result, Schedule } from "../../schema/internal/effect.ts"
import * as CodexError from "../../schema/CodexError.ts"

/** A failed check. */
export type Checked<A> = Result.Result<A, CodexError.CodexError>

const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value)
  }
  if (Redacted.isRedacted(value)) return "<redacted>"
  return Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value
}

/** An `InvalidOptions` error for option `name`. */
export const invalid = (name: string, expected: string, value: unknown): CodexError.CodexError =>
  CodexError.make(new CodexError.InvalidOptions({ description: `option ${name}: expected ${expected}, got ${show(value)}` }))

/**
 * A duration option: any `Duration.Input` that decodes, not NaN, not negative;
 * zero only if `allowZero`, infinite only if `allowInfinite`.
 */
export const duration = (
  name: string,
  value: Duration.Input | undefined,
  fallback: Duration.Duration,
  options: { readonly allowInfinite?: boolean; readonly allowZero?: boolean } = {}
): Checked<Duration.Duration> => {
  if (value === undefined) return Result.succeed(fallback)
  const expected = `a ${options.allowZero ? "non-negative" : "positive"}${
    options.allowInfinite ? "" : " finite"
  } duration such as "30 seconds"`
  // Duration.fromInput reads NaN as zero: refuse it before.
  if (typeof value === "number" && Number.isNaN(value)) return Result.fail(invalid(name, expected, value))
  const decoded = Duration.fromInput(value)
  if (Option.isNone(decoded)) return Result.fail(invalid(name, expected, value))
  const millis = Duration.toMillis(decoded.value)
  if (Number.isNaN(millis) || millis < 0 || (millis === 0 && !options.allowZero)) {
    return Result.fail(invalid(name, expected, value))
  }
  if (!Duration.isFinite(decoded.value) && !options.allowInfinite) return Result.fail(invalid(name, expected, value))
  return Result.succeed(decoded.value)
}

/** A positive integer option. */
export const positiveInt = (name: string, value: unknown, fallback: number): Checked<number> =>
  value === undefined
    ? Result.succeed(fallback)
    : typeof value === "number" && Number.isSafeInteger(value) && value > 0
    ? Result.succeed(value)
    : Result.fail(invalid(name, "a positive integer", value))

/** A boolean option. */
export const boolean = (name: string, value: unknown, fallback: boolean): Checked<boolean> =>
  value === undefined
    ? Result.succeed(fallback)
    : typeof value === "boolean"
    ? Result.succeed(value)
    : Result.fail(invalid(name, "true or false", value))

/** An optional non-empty string option. */
export const string = (name: string, value: unknown): Checked<string | undefined> =>
  value === undefined || (typeof value === "string" && value.length > 0)
    ? Result.succeed(value as string | undefined)
    : Result.fail(invalid(name, "a non-empty string", value))

/** An optional array of strings. */
export const strings = (name: string, value: unknown): Checked<ReadonlyArray<string> | undefined> =>
  value === undefined || (Array.isArray(value) && value.every((item) => typeof item === "string"))
    ? Result.succeed(value as ReadonlyArray<string> | undefined)
    : Result.fail(invalid(name, "an array of strings", value))

/** An optional plain object (a record). */
export const record = (name: string, value: unknown): Checked<Record<string, unknown> | undefined> =>
  value === undefined || (Predicate.isObject(value) && !Array.isArray(value))
    ? Result.succeed(value as Record<string, unknown> | undefined)
    : Result.fail(invalid(name, "an object", value))

/** An optional `Redacted` secret. */
export const secret = (name: string, value: unknown): Checked<Redacted.Redacted<string> | undefined> =>
  value === undefined || (Redacted.isRedacted(value) && typeof Redacted.value(value) === "string")
    ? Result.succeed(value as Redacted.Redacted<string> | undefined)
    // a secret given as a plain string is not echoed
    : Result.fail(invalid(name, "a Redacted string (Redacted.make(key))", typeof value === "string" ? "a plain string" : value))

/** An optional `Schedule`. */
export const schedule = <S>(name: string, value: S | undefined): Checked<S | undefined> =>
  value === undefined || Schedule.isSchedule(value)
    ? Result.succeed(value)
    : Result.fail(invalid(name, "a Schedule", value))

/** Environment variables: strings, `Redacted` strings or `undefined` (unset). */
export const env = (
  name: string,
  value: unknown
): Checked<Record<string, string | Redacted.Redacted<string> | undefined> | undefined> => {
  if (value === undefined) return Result.succeed(undefined)
  if (!Predicate.isObject(value) || Array.isArray(value)) return Result.fail(invalid(name, "an object", value))
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined && typeof item !== "string" && !(Redacted.isRedacted(item) && typeof Redacted.value(item) === "string")) {
      return Result.fail(invalid(`${name}.${key}`, "a string or a Redacted string", item))
    }
  }
  return Result.succeed(value as Record<string, string | Redacted.Redacted<string> | undefined>)
}

/** Runs checks in order and stops at the first failure. */
export const all = (checks: ReadonlyArray<Checked<unknown>>): Checked<void> => {
  for (const check of checks) if (Result.isFailure(check)) return Result.fail(check.failure)
  return Result.succeed(undefined)
}

/** The client's options, checked, with their defaults. */
export interface ClientOptions {
  readonly requestTimeoutMs: number
  readonly startupTimeoutMs: number
  readonly maxInFlight: number
  readonly experimentalApi: boolean
  readonly requestSpans: boolean
  readonly optOutNotificationMethods: ReadonlyArray<string> | undefined
  readonly clientInfo: { readonly name: string; readonly title: string | null; readonly version: string }
}

/** Defaults of the client options. */
export const clientDefaults = {
  requestTimeout: Duration.minutes(5),
  startupTimeout: Duration.seconds(30),
  maxInFlight: 64
} as const

/** Checks the options every client layer shares (stdio, WebSocket, in-memory). */
export const client = (options: {
  readonly requestTimeout?: Duration.Input | undefined
  readonly startupTimeout?: Duration.Input | undefined
  readonly maxInFlight?: number | undefined
  readonly experimentalApi?: boolean | undefined
  readonly requestSpans?: boolean | undefined
  readonly optOutNotificationMethods?: ReadonlyArray<string> | undefined
  readonly overloadRetry?: unknown
  readonly clientInfo?: { readonly name: string; readonly title?: string | null; readonly version: string } | undefined
}, defaultVersion: string): Checked<ClientOptions> => {
  const requestTimeout = duration("requestTimeout", options.requestTimeout, clientDefaults.requestTimeout, {
    allowInfinite: true
  })
  if (Result.isFailure(requestTimeout)) return Result.fail(requestTimeout.failure)
  const startupTimeout = duration("startupTimeout", options.startupTimeout, clientDefaults.startupTimeout, {
    allowInfinite: true
  })
  if (Result.isFailure(startupTimeout)) return Result.fail(startupTimeout.failure)
  const maxInFlight = positiveInt("maxInFlight", options.maxInFlight, clientDefaults.maxInFlight)
  if (Result.isFailure(maxInFlight)) return Result.fail(maxInFlight.failure)
  const experimentalApi = boolean("experimentalApi", options.experimentalApi, true)
  if (Result.isFailure(experimentalApi)) return Result.fail(experimentalApi.failure)
  const requestSpans = boolean("requestSpans", options.requestSpans, false)
  if (Result.isFailure(requestSpans)) return Result.fail(requestSpans.failure)
  const optOut = strings("optOutNotificationMethods", options.optOutNotificationMethods)
  if (Result.isFailure(optOut)) return Result.fail(optOut.failure)
  const retry = schedule("overloadRetry", options.overloadRetry)
  if (Result.isFailure(retry)) return Result.fail(retry.failure)
  const info = options.clientInfo
  if (info !== undefined) {
    if (!Predicate.isObject(info)) return Result.fail(invalid("clientInfo", "{ name, version, title? }", info))
    const checked = all([
      string("clientInfo.name", info.name),
      string("clientInfo.version", info.version),
      info.title === null ? Result.succeed(undefined) : string("clientInfo.title", info.title)
    ])
    if (Result.isFailure(checked)) return Result.fail(checked.failure)
    if (info.name === undefined || info.version === undefined) {
      return Result.fail(invalid("clientInfo", "{ name, version, title? }", info))
    }
  }
  return Result.succeed({
    requestTimeoutMs: Duration.toMillis(requestTimeout.success),
    startupTimeoutMs: Duration.toMillis(startupTimeout.success),
    maxInFlight: maxInFlight.success,
    experimentalApi: experimentalApi.success,
    requestSpans: requestSpans.success,
    optOutNotificationMethods: optOut.success,
    clientInfo: {
      name: info?.name ?? "effect_codex",
      title: info?.title === undefined ? "effect-codex" : info.title,
      version: info?.version ?? defaultVersion
    }
  })
}
