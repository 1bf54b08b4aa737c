/**
 * A small OTLP/HTTP receiver on 127.0.0.1 for tests: keeps every JSON body POSTed to `/v1/traces` and
 * `/v1/metrics` (answering 200 `{}`), and reads them back as flat spans and metric points. JSON only
 * (`protocol = "json"` for codex, `Otlp.layerJson` / `OtlpSerialization.layerJson` for effect).
 */
import { Effect, type Scope } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

/** A span as received, its attributes decoded from OTLP's `KeyValue`s. */
export interface Span {
  readonly service: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly name: string
  readonly attributes: Readonly<Record<string, unknown>>
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number
  readonly startTimeUnixNano: bigint
  readonly endTimeUnixNano: bigint
}

/** One data point of a metric, as received. */
export interface Point {
  readonly service: string
  readonly name: string
  readonly kind: "sum" | "gauge" | "histogram" | "summary"
  readonly attributes: Readonly<Record<string, unknown>>
  /** Sums and gauges. */
  readonly value: number | undefined
  /** Histograms and summaries. */
  readonly count: number | undefined
  readonly sum: number | undefined
}

export interface Receiver {
  /** `http://127.0.0.1:<port>`: OTLP endpoints are `${url}/v1/traces` and `${url}/v1/metrics`. */
  readonly url: string
  readonly spans: () => ReadonlyArray<Span>
  /** Every point received, in order (cumulative exports repeat a series: the last one is the latest). */
  readonly points: () => ReadonlyArray<Point>
  /** The latest point of `name` whose attributes include `attributes`. */
  readonly latest: (name: string, attributes?: Readonly<Record<string, unknown>>) => Point | undefined
  /** Bodies received per path (`/v1/traces`, `/v1/metrics`, anything else). */
  readonly requests: () => ReadonlyArray<{ readonly path: string; readonly contentType: string; readonly bytes: number }>
  readonly close: () => Promise<void>
}

interface KeyValue {
  readonly key: string
  readonly value: Record<string, unknown>
}

const decodeValue = (value: Record<string, unknown> | undefined): unknown => {
  if (value === undefined) return undefined
  if ("stringValue" in value) return value.stringValue
  if ("intValue" in value) return Number(value.intValue)
  if ("doubleValue" in value) return Number(value.doubleValue)
  if ("boolValue" in value) return value.boolValue
  if ("arrayValue" in value) {
    return ((value.arrayValue as { values?: Array<Record<string, unknown>> }).values ?? []).map(decodeValue)
  }
  return value
}

const decodeAttributes = (attributes: ReadonlyArray<KeyValue> | undefined): Record<string, unknown> =>
  Object.fromEntries((attributes ?? []).map((kv) => [kv.key, decodeValue(kv.value)]))

const serviceOf = (resource: { attributes?: ReadonlyArray<KeyValue> } | undefined): string =>
  String(decodeAttributes(resource?.attributes)["service.name"] ?? "")

const includes = (attributes: Readonly<Record<string, unknown>>, wanted: Readonly<Record<string, unknown>>) =>
  Object.entries(wanted).every(([key, value]) => attributes[key] === value)

const asNumber = (point: Record<string, unknown>): number | undefined =>
  point.asDouble !== undefined ? Number(point.asDouble) : point.asInt !== undefined ? Number(point.asInt) : undefined

/** Starts a receiver on a free port of 127.0.0.1. */
export const start = async (): Promise<Receiver> => {
  const spans: Array<Span> = []
  const points: Array<Point> = []
  const requests: Array<{ path: string; contentType: string; bytes: number }> = []

  const onTraces = (body: any) => {
    for (const resourceSpans of body.resourceSpans ?? []) {
      const service = serviceOf(resourceSpans.resource)
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          spans.push({
            service,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId === undefined || span.parentSpanId === "" ? undefined : span.parentSpanId,
            name: span.name,
            attributes: decodeAttributes(span.attributes),
            statusCode: Number(span.status?.code ?? 0),
            startTimeUnixNano: BigInt(span.startTimeUnixNano ?? 0),
            endTimeUnixNano: BigInt(span.endTimeUnixNano ?? 0)
          })
        }
      }
    }
  }

  const onMetrics = (body: any) => {
    for (const resourceMetrics of body.resourceMetrics ?? []) {
      const service = serviceOf(resourceMetrics.resource)
      for (const scopeMetrics of resourceMetrics.scopeMetrics ?? []) {
        for (const metric of scopeMetrics.metrics ?? []) {
          for (const kind of ["sum", "gauge", "histogram", "summary"] as const) {
            for (const point of metric[kind]?.dataPoints ?? []) {
              points.push({
                service,
                name: metric.name,
                kind,
                attributes: decodeAttributes(point.attributes),
                value: asNumber(point),
                count: point.count === undefined ? undefined : Number(point.count),
                sum: point.sum === undefined ? undefined : Number(point.sum)
              })
            }
          }
        }
      }
    }
  }

  const server = Http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk)).on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8")
      const path = req.url ?? ""
      requests.push({ path, contentType: String(req.headers["content-type"] ?? ""), bytes: text.length })
      try {
        if (path === "/v1/traces") onTraces(JSON.parse(text))
        else if (path === "/v1/metrics") onMetrics(JSON.parse(text))
      } catch {
        // not JSON (a protobuf exporter): kept in `requests` only
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => spans.slice(),
    points: () => points.slice(),
    latest: (name, attributes = {}) =>
      points.findLast((point) => point.name === name && includes(point.attributes, attributes)),
    requests: () => requests.slice(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** A receiver for the life of the Scope. */
export const scoped: Effect.Effect<Receiver, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(start),
  (receiver) => Effect.promise(receiver.close)
)
