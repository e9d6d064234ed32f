import { Tracing } from '../src/common/tracing/tracing.js';
import { JobsService } from '../src/modules/jobs/jobs.service.js';
import { FakeOtlpCollector } from './fakes/otlp-collector.js';
import type { CollectedSpan } from './fakes/otlp-collector.js';
import { startFakePartner } from './fakes/partner.js';
import type { FakePartner } from './fakes/partner.js';
import { startJunctionProcess } from './support/junction-process.js';
import type { JunctionProcess } from './support/junction-process.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const admin = bearer(ADMIN_KEY);
const TOKEN = 'partner-bearer-token-trace-5f1e9a';
const SERVER = 2;
const CLIENT = 3;
const CONSUMER = 5;
const ERROR = 2;

type Api = () => ReturnType<TestApp['http']>;

interface JobBody {
  id: string;
  status: string;
  attempt: number;
}

/** An `http` connection with a send-order action, and a route from `<name>.created` to it. */
async function connectShop(api: Api, partner: FakePartner, name: string): Promise<string> {
  const connection = await api()
    .post('/connections')
    .set(admin)
    .send({
      provider: 'http',
      name,
      config: {
        baseUrl: partner.url,
        actions: {
          'send-order': { method: 'POST', path: '/orders', body: { reference: '{{input.orderId}}' } },
        },
      },
      credentials: { type: 'bearer', token: TOKEN },
    })
    .expect(201);
  await api()
    .post('/routes')
    .set(admin)
    .send({
      name: `${name} orders`,
      eventPattern: `${name}.created`,
      jobType: 'http.action',
      payloadTemplate: {
        connectionId: connection.body.id as string,
        action: 'send-order',
        input: '{{data}}',
      },
    })
    .expect(201);
  return `${name}.created`;
}

/** Posts an order event; returns the id of the job its route started. */
async function postOrder(api: Api, event: string, orderId: string): Promise<string> {
  const posted = await api()
    .post('/events')
    .set(admin)
    .send({ name: event, source: 'shop', data: { orderId } })
    .expect(202);
  return (posted.body.jobIds as string[])[0];
}

const finished = (api: Api, id: string) =>
  waitFor(
    async () => (await api().get(`/jobs/${id}`).set(admin).expect(200)).body as JobBody,
    (job) => ['succeeded', 'dead'].includes(job.status),
    20_000,
  );

/** The spans of one job's trace, found from its attempt spans. */
function traceOfJob(collector: FakeOtlpCollector, jobId: string): CollectedSpan[] {
  const attempt = collector.spanWith('job.id', jobId);
  if (!attempt) throw new Error(`no attempt span of job ${jobId} among ${collector.spans.length} spans`);
  return collector.trace(attempt.traceId);
}

const parentOf = (spans: CollectedSpan[], span: CollectedSpan) =>
  spans.find((candidate) => candidate.spanId === span.parentSpanId);

/**
 * The path of one traced event: the request, its intake, each attempt of the job it started and
 * each partner call of that attempt, every span the child of the one before.
 */
function expectOneTrace(spans: CollectedSpan[], jobId: string, attempts: number): void {
  const request = spans.find((span) => span.kind === SERVER && span.name === 'POST /events');
  expect(request).toBeDefined();
  expect(request!.parentSpanId).toBe('');
  expect(request!.attributes).toMatchObject({ 'http.route': '/events', 'http.response.status_code': 202 });
  const intake = spans.find((span) => span.name === 'event.intake');
  expect(intake && parentOf(spans, intake)).toBe(request);
  const jobSpans = spans
    .filter((span) => span.kind === CONSUMER && span.attributes['job.id'] === jobId)
    .sort((a, b) => Number(a.attributes['job.attempt']) - Number(b.attributes['job.attempt']));
  expect(jobSpans.map((span) => span.attributes['job.attempt'])).toEqual(
    Array.from({ length: attempts }, (_, i) => i + 1),
  );
  for (const attempt of jobSpans) {
    expect(attempt).toMatchObject({ name: 'job http.action' });
    expect(attempt.attributes).toMatchObject({ 'job.type': 'http.action', 'job.queue': 'partners' });
    expect(parentOf(spans, attempt)).toBe(intake);
    const calls = spans.filter((span) => span.kind === CLIENT && span.parentSpanId === attempt.spanId);
    expect(calls).toHaveLength(1);
    expect(calls[0].attributes).toMatchObject({ 'http.request.method': 'POST' });
    expect(String(calls[0].attributes['url.full'])).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/orders$/);
  }
  // Credentials are never part of a span.
  expect(JSON.stringify(spans)).not.toContain(TOKEN);
}

describe('traces', () => {
  let collector: FakeOtlpCollector;
  let partner: FakePartner;

  beforeAll(async () => {
    collector = await FakeOtlpCollector.start();
    partner = await startFakePartner({ token: TOKEN });
  });
  afterAll(async () => {
    await partner.close();
    await collector.close();
  });

  describe('with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'junction-test' },
      });
    });
    afterAll(() => t.close());

    /** The spans of a job's trace, once the app has sent them. */
    async function collected(jobId: string): Promise<CollectedSpan[]> {
      await t.app.get(Tracing).flush();
      return waitFor(
        () => Promise.resolve(collector.spanWith('job.id', jobId) ? traceOfJob(collector, jobId) : []),
        (spans) => spans.length > 0,
      );
    }

    it('shows one trace from POST /events through the job attempt to the partner call', async () => {
      const event = await connectShop(t.http, partner, 'tshop1');
      const jobId = await postOrder(t.http, event, 'T-1');
      expect(await finished(t.http, jobId)).toMatchObject({ status: 'succeeded', attempt: 1 });

      const spans = await collected(jobId);
      expectOneTrace(spans, jobId, 1);
      const attempt = spans.find((span) => span.attributes['job.id'] === jobId)!;
      expect(attempt.attributes).toMatchObject({ 'job.outcome': 'succeeded' });
      expect(attempt.service).toBe('junction-test');
      const call = spans.find((span) => span.kind === CLIENT)!;
      expect(call.attributes).toMatchObject({ 'http.response.status_code': 201 });
      const job = await t.app.get(JobsService).find(jobId);
      const intake = spans.find((span) => span.name === 'event.intake')!;
      expect(job?.traceParent).toBe(`00-${intake.traceId}-${intake.spanId}-01`);
    });

    it('keeps a retried job in its trace: each attempt a span, the failed one an error', async () => {
      const event = await connectShop(t.http, partner, 'tshop2');
      partner.answerNext({ kind: 'status', status: 500 });
      const jobId = await postOrder(t.http, event, 'T-2');
      expect(await finished(t.http, jobId)).toMatchObject({ status: 'succeeded', attempt: 2 });

      const spans = await collected(jobId);
      await waitFor(
        () => Promise.resolve(traceOfJob(collector, jobId).filter((s) => s.kind === CONSUMER)),
        (attempts) => attempts.length === 2,
      );
      expectOneTrace(traceOfJob(collector, jobId), jobId, 2);
      const [first, second] = traceOfJob(collector, jobId)
        .filter((span) => span.kind === CONSUMER)
        .sort((a, b) => Number(a.attributes['job.attempt']) - Number(b.attributes['job.attempt']));
      expect(first).toMatchObject({
        statusCode: ERROR,
        attributes: { 'job.outcome': 'failed', 'error.type': 'TEMPORARY' },
      });
      expect(second).toMatchObject({ attributes: { 'job.outcome': 'succeeded' } });
      expect(spans.find((span) => span.kind === CLIENT && span.parentSpanId === first.spanId)).toMatchObject({
        statusCode: ERROR,
        attributes: { 'http.response.status_code': 500, 'error.type': 'TEMPORARY' },
      });
    });
  });

  describe('without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    it('sends nothing to a collector and stores no trace context in the job', async () => {
      const before = collector.requests;
      const t = await startTestApp({ env: { OTEL_SERVICE_NAME: 'junction-untraced' } });
      try {
        expect(t.app.get(Tracing).enabled).toBe(false);
        const event = await connectShop(t.http, partner, 'ushop');
        const jobId = await postOrder(t.http, event, 'U-1');
        expect(await finished(t.http, jobId)).toMatchObject({ status: 'succeeded' });
        expect((await t.app.get(JobsService).find(jobId))?.traceParent).toBeNull();
      } finally {
        await t.close();
      }
      expect(collector.requests).toBe(before);
      expect(collector.spans.filter((span) => span.service === 'junction-untraced')).toEqual([]);
    });
  });

  const scaledOut =
    process.env.DATABASE_URL?.startsWith('postgres') === true && Boolean(process.env.REDIS_URL);

  /** The trace crosses from the process that took the event to the one that ran its job, over Bull. */
  (scaledOut ? describe : describe.skip)(
    'across an API process and a worker process (PostgreSQL + Redis)',
    () => {
      it('continues the API process trace in the worker job attempt and partner call', async () => {
        const database = await TestDatabase.create();
        let worker: TestApp | undefined;
        let api: JunctionProcess | undefined;
        try {
          worker = await startTestApp({
            database,
            env: {
              JUNCTION_ROLES: 'worker',
              OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
              OTEL_SERVICE_NAME: 'junction-worker',
            },
          });
          api = await startJunctionProcess(
            database.env({
              JUNCTION_ROLES: 'api',
              JUNCTION_ADMIN_KEY: ADMIN_KEY,
              OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
              OTEL_SERVICE_NAME: 'junction-api',
            }),
          );
          const http = api.api;
          const event = await connectShop(http, partner, 'xshop');
          const jobId = await postOrder(http, event, 'X-1');
          expect(await finished(http, jobId)).toMatchObject({ status: 'succeeded', attempt: 1 });

          // Each process sends what it still holds as it stops.
          await api.stop();
          api = undefined;
          await worker.close();
          worker = undefined;
          const spans = await waitFor(
            () => Promise.resolve(collector.spanWith('job.id', jobId) ? traceOfJob(collector, jobId) : []),
            (found) => found.some((span) => span.name === 'POST /events'),
          );
          expectOneTrace(spans, jobId, 1);
          const byName = (name: string) => spans.find((span) => span.name === name)!;
          expect(byName('POST /events').service).toBe('junction-api');
          expect(byName('event.intake').service).toBe('junction-api');
          expect(byName('job http.action').service).toBe('junction-worker');
          expect(spans.find((span) => span.kind === CLIENT)!.service).toBe('junction-worker');
        } finally {
          await api?.stop();
          await worker?.close();
          await database.drop();
        }
      });
    },
  );
});
