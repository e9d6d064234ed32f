import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SpanKind, markFailed } from './tracing.js';
import type { Span, Tracing } from './tracing.js';

/**
 * A server span per HTTP request (`POST /events`), the root of the trace of what the request
 * starts, or the child of the caller's span when it sends a W3C `traceparent`. Installed only when
 * tracing is on.
 */
export function traceRequests(fastify: FastifyInstance, tracing: Tracing): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  fastify.addHook('onRequest', (request, _reply, done) => {
    const given = request.headers.traceparent;
    const span = tracing.startSpan(
      request.method,
      SpanKind.SERVER,
      { 'http.request.method': request.method, 'url.path': request.url.split('?', 1)[0] },
      typeof given === 'string' ? given : null,
    );
    if (span) spans.set(request, span);
    done();
  });
  // The body is parsed in the socket's callbacks, outside any context entered before: the span
  // becomes active here, for the guards, the controller and everything they await.
  fastify.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request);
    if (span) tracing.withSpan(span, done);
    else done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const span = spans.get(request);
    if (span) {
      const route = request.routeOptions.url;
      if (route) {
        span.updateName(`${request.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) markFailed(span, String(reply.statusCode), 'internal error');
      span.end();
      spans.delete(request);
    }
    done();
  });
}
