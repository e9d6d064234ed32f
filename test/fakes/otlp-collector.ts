import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';

/**
 * An OpenTelemetry collector as the OTLP/HTTP specification describes its JSON encoding
 * (`POST /v1/traces`, an `ExportTraceServiceRequest`, ids as hex): it keeps every span it receives
 * in memory. This is the "in-memory exporter": an exporter inside one process only sees
 * that process's spans, so the two halves of a trace that crosses from an API process to a worker
 * process can only meet in a collector both export to, as they would in production.
 */

/** One span as the collector received it, its attributes flattened. */
export interface CollectedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a trace's root. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  /** The `service.name` of the process that sent it. */
  service: string;
}

interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        attributes?: KeyValue[];
        status?: { code?: number };
      }[];
    }[];
  }[];
}

export class FakeOtlpCollector {
  private readonly server = Fastify({ bodyLimit: 16 * 1024 * 1024 });
  readonly spans: CollectedSpan[] = [];
  /** Every export request received, counted even when it held no span. */
  requests = 0;
  /** The base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  url = '';

  private constructor() {
    this.server.removeAllContentTypeParsers();
    this.server.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
      try {
        const bytes = request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
        done(null, JSON.parse(bytes.toString()) as unknown);
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    this.server.post('/v1/traces', (request, reply) => {
      this.requests += 1;
      this.keep(request.body as ExportRequest);
      return reply.send({});
    });
  }

  static async start(): Promise<FakeOtlpCollector> {
    const collector = new FakeOtlpCollector();
    collector.url = await collector.server.listen({ host: '127.0.0.1', port: 0 });
    return collector;
  }

  /** The spans of one trace. */
  trace(traceId: string): CollectedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  /** The first span that has this attribute value, if any. */
  spanWith(key: string, value: string | number | boolean): CollectedSpan | undefined {
    return this.spans.find((span) => span.attributes[key] === value);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private keep(body: ExportRequest): void {
    for (const resourceSpans of body.resourceSpans ?? []) {
      const service = String(flatten(resourceSpans.resource?.attributes)['service.name'] ?? '');
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            name: span.name,
            kind: span.kind ?? 0,
            attributes: flatten(span.attributes),
            statusCode: span.status?.code ?? 0,
            service,
          });
        }
      }
    }
  }
}

function flatten(attributes: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const flat: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes ?? []) {
    if (value.stringValue !== undefined) flat[key] = value.stringValue;
    else if (value.intValue !== undefined) flat[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) flat[key] = value.doubleValue;
    else if (value.boolValue !== undefined) flat[key] = value.boolValue;
  }
  return flat;
}
