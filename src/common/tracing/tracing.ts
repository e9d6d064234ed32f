import type { OnApplicationShutdown } from '@nestjs/common';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
} from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TracingSettings } from '../../config/app-config.js';

export { SpanKind };
export type { Attributes, Span };

/** The W3C header (and job column) that carries a span's context to another process. */
const TRACEPARENT = 'traceparent';

/** What a traced process holds; none of it exists while tracing is off. */
interface On {
  provider: BasicTracerProvider;
  tracer: Tracer;
  contexts: AsyncLocalStorageContextManager;
  propagator: W3CTraceContextPropagator;
}

/**
 * OpenTelemetry traces for one application: spans exported over OTLP/HTTP (JSON) when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Nothing is registered globally (no global provider,
 * context manager or propagator), so two applications in one process (tests) do not share one, and
 * while tracing is off every method returns at its first null check: hot paths pay nothing.
 *
 * Context crosses processes as a W3C `traceparent` (in a job's row, in an HTTP request's headers),
 * and within a process in an AsyncLocalStorage, so a job's partner calls are children of its attempt.
 */
export class Tracing implements OnApplicationShutdown {
  private constructor(private readonly on: On | null) {}

  /** Tracing off: every span is null. */
  static off(): Tracing {
    return new Tracing(null);
  }

  /** Tracing on when `settings` are given (the configuration's `tracing`), else off. */
  static start(settings: TracingSettings | null): Tracing {
    if (!settings) return Tracing.off();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
      spanProcessors: [
        new BatchSpanProcessor(new OTLPTraceExporter({ url: `${settings.endpoint}/v1/traces` })),
      ],
    });
    const contexts = new AsyncLocalStorageContextManager();
    contexts.enable();
    return new Tracing({
      provider,
      tracer: provider.getTracer('junction'),
      contexts,
      propagator: new W3CTraceContextPropagator(),
    });
  }

  get enabled(): boolean {
    return this.on !== null;
  }

  /**
   * Starts a span, the child of `parent` when given (a `traceparent`, or a span of this process),
   * else of the span active here; null while tracing is off. The caller ends it with `end`.
   */
  startSpan(
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    parent?: string | Span | null,
  ): Span | null {
    const on = this.on;
    if (!on) return null;
    let context: Context;
    if (typeof parent === 'string') context = this.extract(on, parent);
    else if (parent) context = trace.setSpan(ROOT_CONTEXT, parent);
    else if (parent === null) context = ROOT_CONTEXT;
    else context = on.contexts.active();
    return on.tracer.startSpan(name, { kind, attributes }, context);
  }

  /** Runs `work` with `span` active, so the spans it starts (even after awaits) are its children. */
  withSpan<T>(span: Span, work: () => T): T {
    if (!this.on) return work();
    return this.on.contexts.with(trace.setSpan(this.on.contexts.active(), span), work);
  }

  /** Ends a span; with an error, its status is ERROR and the error is recorded (message and code). */
  end(span: Span | null, error?: unknown): void {
    if (!span) return;
    if (error !== undefined) markFailed(span, errorCode(error), errorMessage(error));
    span.end();
  }

  /** Ends `span` when `work` settles, ERROR if it rejects; `work`'s outcome is returned as it is. */
  async endWith<T>(span: Span, work: Promise<T>): Promise<T> {
    try {
      const value = await work;
      span.end();
      return value;
    } catch (error) {
      this.end(span, error);
      throw error;
    }
  }

  /** The `traceparent` of `span`, else of the span active here; null while off or outside any span. */
  traceParent(span?: Span | null): string | null {
    const on = this.on;
    if (!on) return null;
    const context = span ? trace.setSpan(ROOT_CONTEXT, span) : on.contexts.active();
    const carrier: Record<string, string> = {};
    on.propagator.inject(context, carrier, defaultTextMapSetter);
    return carrier[TRACEPARENT] ?? null;
  }

  /**
   * Nest calls this last on close, after the jobs have drained and the HTTP server has stopped,
   * so the spans of their last work are sent too.
   */
  onApplicationShutdown(): Promise<void> {
    return this.shutdown();
  }

  /** Sends the spans ended so far now, instead of with the next batch. */
  async flush(): Promise<void> {
    await this.on?.provider.forceFlush();
  }

  /** Sends the spans still buffered and stops; spans of a stopping process are not lost. */
  async shutdown(): Promise<void> {
    const on = this.on;
    if (!on) return;
    await on.provider.shutdown();
    on.contexts.disable();
  }

  private extract(on: On, traceParent: string): Context {
    return on.propagator.extract(ROOT_CONTEXT, { [TRACEPARENT]: traceParent }, defaultTextMapGetter);
  }
}

/** ERROR, with what went wrong: a code (`error.type`: a ProviderError's, a JobFailure's) and a message. */
export function markFailed(span: Span, code: string, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute('error.type', code);
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'ERROR';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
