import { SpanKind, Tracing } from './tracing.js';

describe('Tracing', () => {
  it('starts no span and gives no traceparent when it is off', () => {
    const tracing = Tracing.off();

    expect(tracing.enabled).toBe(false);
    expect(tracing.startSpan('job x', SpanKind.CONSUMER, {})).toBeNull();
    expect(tracing.traceParent()).toBeNull();
    expect(tracing.withSpan({} as never, () => 42)).toBe(42);
  });

  describe('when on', () => {
    // Nothing listens there: spans are only exported on flush, which these tests never ask for.
    let tracing: Tracing;
    beforeEach(() => {
      tracing = Tracing.start({ endpoint: 'http://127.0.0.1:9', serviceName: 'junction-spec' });
    });
    afterEach(() => tracing.shutdown().catch(() => undefined));

    it('continues a traceparent in the same trace when a span is started from it', () => {
      const root = tracing.startSpan('event.intake', SpanKind.INTERNAL, {})!;
      const carried = tracing.traceParent(root)!;

      const child = tracing.startSpan('job x', SpanKind.CONSUMER, {}, carried)!;

      expect(carried).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(child.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(carried.split('-')[2]).toBe(root.spanContext().spanId);
    });

    it('makes spans started inside withSpan, after an await, children of its span', async () => {
      const attempt = tracing.startSpan('job x', SpanKind.CONSUMER, {}, null)!;

      const inside = await tracing.withSpan(attempt, async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return tracing.traceParent();
      });

      expect(inside).toBe(tracing.traceParent(attempt));
      expect(tracing.traceParent()).toBeNull();
    });

    it('starts a new trace when the parent is null or not a valid traceparent', () => {
      const a = tracing.startSpan('a', SpanKind.INTERNAL, {}, null)!;
      const b = tracing.startSpan('b', SpanKind.INTERNAL, {}, 'not-a-traceparent')!;

      expect(b.spanContext().traceId).not.toBe(a.spanContext().traceId);
    });
  });
});
