import { DataSource } from 'typeorm';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';

describe('HTTP conventions', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const newAccount = { name: 'Shop', email: 'shop@example.com', role: 'operator' };

  it('refuses unknown fields with 400 naming them', async () => {
    const response = await t
      .http()
      .post('/accounts')
      .set(bearer(ADMIN_KEY))
      .send({ ...newAccount, isAdmin: true })
      .expect(400);
    expect(response.body).toMatchObject({ statusCode: 400, error: 'VALIDATION_FAILED' });
    expect(response.body.details).toEqual(['property isAdmin should not exist']);
  });

  it('refuses wrong types with 400 listing each violation', async () => {
    const response = await t
      .http()
      .post('/accounts')
      .set(bearer(ADMIN_KEY))
      .send({ name: 42, email: 'not-an-email', role: 'emperor' })
      .expect(400);
    expect(response.body.details).toEqual(
      expect.arrayContaining([
        'name must be a string',
        'email must be an email',
        expect.stringContaining('role must be one of the following values'),
      ]),
    );
  });

  it('refuses malformed JSON with 400', async () => {
    const response = await t
      .http()
      .post('/accounts')
      .set(bearer(ADMIN_KEY))
      .set('Content-Type', 'application/json')
      .send('{"name": "Shop",')
      .expect(400);
    expect(response.body.error).toBe('BAD_REQUEST');
    expect(response.body.message).toMatch(/^malformed JSON body/);
  });

  describe('an empty JSON body', () => {
    /** What many clients send on DELETE and action routes: the JSON content type and no body. */
    const emptyJson = { 'Content-Type': 'application/json' };

    it('is no body on DELETE /routes/{id}', async () => {
      const created = await t
        .http()
        .post('/routes')
        .set(bearer(ADMIN_KEY))
        .send({ name: 'empty body', eventPattern: 'empty.body', jobType: 'reservations.from-order' })
        .expect(201);
      await t.http().delete(`/routes/${created.body.id}`).set(bearer(ADMIN_KEY)).set(emptyJson).expect(204);
      await t.http().get(`/routes/${created.body.id}`).set(bearer(ADMIN_KEY)).expect(404);
    });

    it('is no body on POST /jobs/{id}/cancel and /retry', async () => {
      const job = await t
        .http()
        .post('/jobs')
        .set(bearer(ADMIN_KEY))
        .send({ type: 'reservations.from-order', payload: {}, runAt: '2099-01-01T00:00:00Z' })
        .expect(201);
      const cancelled = await t
        .http()
        .post(`/jobs/${job.body.id}/cancel`)
        .set(bearer(ADMIN_KEY))
        .set(emptyJson);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      const retried = await t.http().post(`/jobs/${job.body.id}/retry`).set(bearer(ADMIN_KEY)).set(emptyJson);
      expect(retried.status).toBe(200);
      expect(retried.body.status).toBe('queued');
    });

    it('reaches authentication first: no key is 401, not 400', async () => {
      await t.http().post('/jobs/019abc12-3def-7456-89ab-cdef01234567/retry').set(emptyJson).expect(401);
    });
  });

  it('refuses a 2 MB body with 413', async () => {
    const response = await t
      .http()
      .post('/accounts')
      .set(bearer(ADMIN_KEY))
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ ...newAccount, name: 'x'.repeat(2 * 1024 * 1024) }))
      .expect(413);
    expect(response.body).toMatchObject({ statusCode: 413, error: 'PAYLOAD_TOO_LARGE' });
    expect(response.body.message).toContain('1048576 bytes');
  });

  it('refuses a page size out of range with 400', async () => {
    const response = await t.http().get('/accounts').query({ limit: 0 }).set(bearer(ADMIN_KEY)).expect(400);
    expect(response.body.details).toContain('limit must not be less than 1');
    await t.http().get('/accounts').query({ limit: 'many' }).set(bearer(ADMIN_KEY)).expect(400);
  });

  it('answers an unknown route with a JSON 404', async () => {
    const response = await t.http().get('/no-such-route').set(bearer(ADMIN_KEY)).expect(404);
    expect(response.body).toMatchObject({ statusCode: 404, error: 'NOT_FOUND' });
  });

  it('sends security headers and a request id, keeping the caller’s', async () => {
    const response = await t.http().get('/health').expect(200);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toBeDefined();
    expect(response.headers['x-powered-by']).toBeUndefined();
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const traced = await t.http().get('/health').set('X-Request-Id', 'shop-req-42').expect(200);
    expect(traced.headers['x-request-id']).toBe('shop-req-42');
  });

  it('serves Swagger UI at /docs without a key', async () => {
    const page = await t.http().get('/docs').expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain('swagger-ui');
    await t.http().get('/docs/swagger-ui-bundle.js').expect(200);
    expect(page.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    const init = await t.http().get('/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toContain('"/accounts/me"');
  });

  it('documents every route, its schemas with examples, and the auth scheme at /docs-json', async () => {
    const { body: doc } = await t.http().get('/docs-json').expect(200);
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'DELETE /accounts/{accountId}/api-keys/{keyId}',
        'DELETE /accounts/{id}',
        'GET /accounts',
        'GET /accounts/me',
        'GET /accounts/{accountId}/api-keys',
        'GET /accounts/{id}',
        'GET /health',
        'GET /health/ready',
        'GET /health/providers',
        'GET /flavors',
        'GET /flavors/{id}',
        'POST /flavors',
        'PUT /flavors/{id}',
        'DELETE /flavors/{id}',
        'GET /projects/{id}/services',
        'POST /projects/{id}/services',
        'GET /projects/{id}/services/{sid}',
        'PATCH /projects/{id}/services/{sid}',
        'DELETE /projects/{id}/services/{sid}',
        'POST /projects/{id}/services/{sid}/purge',
        'PUT /projects/{id}/service-limit',
        'POST /admin/services/actions',
        'PATCH /accounts/{id}',
        'POST /accounts',
        'POST /accounts/{accountId}/api-keys',
        'DELETE /jobs',
        'GET /jobs',
        'GET /jobs/{id}',
        'GET /metrics',
        'GET /queues',
        'POST /jobs',
        'POST /jobs/retry',
        'GET /stream',
        'POST /jobs/{id}/cancel',
        'POST /jobs/{id}/retry',
        'GET /events',
        'GET /events/{id}',
        'POST /events',
        'POST /events/batch',
        'POST /events/replay',
        'POST /events/{id}/replay',
        'DELETE /event-types/{name}',
        'GET /event-types',
        'GET /event-types/{name}',
        'PUT /event-types/{name}',
        'DELETE /routes/{id}',
        'GET /routes',
        'GET /routes/{id}',
        'PATCH /routes/{id}',
        'POST /routes',
        'DELETE /schedules/{id}',
        'GET /schedules',
        'GET /schedules/{id}',
        'PATCH /schedules/{id}',
        'POST /schedules',
        'POST /schedules/{id}/pause',
        'POST /schedules/{id}/resume',
        'POST /schedules/{id}/trigger',
        'GET /goods-types',
        'GET /goods-types/{id}',
        'POST /goods-types',
        'GET /locations',
        'GET /locations/{id}',
        'POST /locations',
        'GET /goods',
        'GET /goods/{id}',
        'POST /goods',
        'GET /stock',
        'GET /reservation-requests',
        'GET /reservation-requests/{id}',
        'POST /reservation-requests',
        'POST /reservation-requests/{id}/cancel',
        'POST /arrivals',
        'GET /operations',
        'GET /operations/{id}',
        'POST /operations',
        'POST /operations/{id}/cancel',
        'POST /operations/{id}/execute',
        'GET /providers',
        'GET /providers/{key}',
        'DELETE /connections/{id}',
        'GET /connections',
        'GET /connections/{id}',
        'PATCH /connections/{id}',
        'POST /connections',
        'POST /connections/oauth/start',
        'GET /connections/oauth/callback',
        'GET /connections/{id}/records',
        'GET /connections/{id}/records/{externalId}',
        'GET /connections/{id}/records/{externalId}/content',
        'POST /accounts/{id}/syncs',
        'GET /syncs/{id}',
        'GET /sync-runs/{id}',
        'POST /sync-runs/{id}/cancel',
        'GET /accounts/stats',
        'POST /projects',
        'GET /projects',
        'GET /projects/{id}',
        'DELETE /projects/{id}',
        'GET /projects/{id}/members',
        'POST /projects/{id}/members',
        'DELETE /projects/{id}/members/{accountId}',
        'POST /invitations/{token}/accept',
        'POST /projects/{id}/tokens',
        'GET /projects/{id}/tokens',
        'DELETE /projects/{id}/tokens/{tokenId}',
        'GET /projects/{id}/providers',
        'GET /projects/{id}/providers/{provider}',
        'PUT /projects/{id}/providers/{provider}',
        'DELETE /projects/{id}/providers/{provider}',
        'POST /projects/{id}/repositories/sync',
        'GET /projects/{id}/repositories',
        'GET /projects/{id}/branches',
        'GET /projects/{id}/features',
        'GET /projects/{id}/builds',
        'GET /projects/{id}/{kind}/{rid}',
        'PUT /projects/{id}/{kind}/{rid}/provider-data/{provider}/{key}',
        'GET /accounts/{id}/sync-status',
        'GET /accounts/{id}/sync-runs',
        'POST /connections/{id}/syncs/restart',
        'POST /connections/{id}/syncs/clear',
        'POST /connections/{id}/syncs/pause',
        'POST /connections/{id}/syncs/resume',
        'POST /connections/{id}/syncs/checkpoint',
        'POST /connections/{id}/pause',
        'POST /connections/{id}/resume',
        'POST /connections/{id}/test',
        'POST /connections/{id}/webhook-secret',
        'PUT /connections/{id}/credentials',
        'POST /webhooks/{connectionId}',
        'POST /webhook-endpoints',
        'GET /webhook-endpoints',
        'GET /webhook-endpoints/{id}',
        'PATCH /webhook-endpoints/{id}',
        'DELETE /webhook-endpoints/{id}',
        'GET /webhook-endpoints/{id}/secret',
        'POST /webhook-endpoints/{id}/rotate-secret',
        'GET /webhook-endpoints/{id}/deliveries',
        'POST /webhook-endpoints/{id}/recover',
        'GET /webhook-deliveries/{id}',
        'POST /webhook-deliveries/{id}/resend',
        'POST /session',
        'GET /session',
        'DELETE /session',
      ].sort(),
    );
    expect(doc.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
      'api-key': { type: 'apiKey', in: 'header', name: 'X-API-Key' },
    });
    expect(doc.paths['/health'].get.security).toEqual([]);
    expect(doc.paths['/webhooks/{connectionId}'].post.security).toEqual([]);
    expect(doc.paths['/connections/oauth/callback'].get.security).toEqual([]);
    expect(doc.paths['/accounts'].post.requestBody.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/CreateAccountDto',
    );
    expect(doc.paths['/accounts'].post.responses['201'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/AccountDto',
    );
    expect(doc.components.schemas.CreateAccountDto.properties.email.example).toBe('warehouse@example.com');
    expect(doc.components.schemas.AccountDto.required).toEqual(
      expect.arrayContaining(['id', 'email', 'role']),
    );
    expect(doc.components.schemas.ErrorBodyDto).toBeDefined();
    expect(doc.paths['/jobs/{id}'].get.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/JobDetailsDto',
    );
    expect(doc.components.schemas.CreateJobDto.properties.idempotencyKey.example).toBe('order:A-1001');
  });

  it('answers /health and /health/ready without a key', async () => {
    await t.http().get('/health').expect(200, { status: 'ok' });
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body.details.database.status).toBe('up');
    // Redis is checked only when jobs go through it.
    if (process.env.REDIS_URL) expect(ready.body.details.redis.status).toBe('up');
    else expect(ready.body.details.redis).toBeUndefined();
  });
});

describe('readiness', () => {
  it('checks Redis when REDIS_URL is set', async () => {
    const t = await startTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:6379' } });
    try {
      const ready = await t.http().get('/health/ready').expect(200);
      expect(ready.body.details).toMatchObject({ database: { status: 'up' }, redis: { status: 'up' } });
    } finally {
      await t.close();
    }
  });

  it('answers 503 naming Redis when it is down', async () => {
    const t = await startTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const ready = await t.http().get('/health/ready').expect(503);
      expect(ready.body.error).toHaveProperty('redis');
      expect(ready.body.error.redis.status).toBe('down');
      expect(ready.body.details.database.status).toBe('up');
    } finally {
      await t.close();
    }
  });

  it('answers 503 naming the database when it is down', async () => {
    const t = await startTestApp();
    try {
      await t.app.get(DataSource).destroy();
      const ready = await t.http().get('/health/ready').expect(503);
      expect(ready.body.error).toHaveProperty('database');
      expect(ready.body.error.database.status).toBe('down');
      await t.http().get('/health').expect(200);
    } finally {
      await t.close().catch(() => undefined);
    }
  });
});
