import { jest } from '@jest/globals';
import { DataSource } from 'typeorm';
import { Clock } from '../src/common/clock.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';

describe('accounts and API keys', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  async function createAccount(role: 'admin' | 'operator' | 'viewer', email: string) {
    const account = await t
      .http()
      .post('/accounts')
      .set(bearer(ADMIN_KEY))
      .send({ name: `${role} account`, email, role })
      .expect(201);
    const created = await t
      .http()
      .post(`/accounts/${account.body.id}/api-keys`)
      .set(bearer(ADMIN_KEY))
      .send({ name: 'test' })
      .expect(201);
    return {
      id: account.body.id as string,
      key: created.body.key as string,
      keyId: created.body.id as string,
    };
  }

  it('answers GET /accounts/me with the admin key, as Bearer or X-API-Key', async () => {
    const me = await t.http().get('/accounts/me').set(bearer(ADMIN_KEY)).expect(200);
    expect(me.body).toMatchObject({ email: 'admin@junction.local', role: 'admin', disabled: false });
    await t.http().get('/accounts/me').set('X-API-Key', ADMIN_KEY).expect(200);
  });

  it('refuses a missing or wrong key with 401 and a JSON error', async () => {
    const missing = await t.http().get('/accounts/me').expect(401);
    expect(missing.body).toMatchObject({ statusCode: 401, error: 'UNAUTHENTICATED' });
    expect(missing.body.message).toContain('missing API key');
    const wrong = await t
      .http()
      .get('/accounts/me')
      .set(bearer(`${ADMIN_KEY}x`))
      .expect(401);
    expect(wrong.body).toMatchObject({ error: 'UNAUTHENTICATED', message: 'invalid API key' });
    await t.http().get('/accounts/me').set('Authorization', `Basic ${ADMIN_KEY}`).expect(401);
  });

  it('refuses a blank account or key name, which would be stored empty', async () => {
    const blank = await t
      .http()
      .post('/accounts')
      .set(bearer(ADMIN_KEY))
      .send({ name: '  ', email: 'blank@example.com', role: 'viewer' })
      .expect(400);
    expect(JSON.stringify(blank.body)).toContain('name must not be blank');
    const me = (await t.http().get('/accounts/me').set(bearer(ADMIN_KEY)).expect(200)).body as { id: string };
    await t
      .http()
      .post(`/accounts/${me.id}/api-keys`)
      .set(bearer(ADMIN_KEY))
      .send({ name: '\t' })
      .expect(400);
  });

  it('refuses a viewer creating an account with 403', async () => {
    const viewer = await createAccount('viewer', 'viewer@example.com');
    const response = await t
      .http()
      .post('/accounts')
      .set(bearer(viewer.key))
      .send({ name: 'x', email: 'x@example.com', role: 'viewer' })
      .expect(403);
    expect(response.body).toMatchObject({ statusCode: 403, error: 'FORBIDDEN' });
    await t.http().get('/accounts').set(bearer(viewer.key)).expect(403);
    await t.http().get('/accounts/me').set(bearer(viewer.key)).expect(200);
  });

  it('shows a key once and stores only its hash', async () => {
    const operator = await createAccount('operator', 'operator@example.com');
    expect(operator.key).toMatch(/^jk_[\w-]{43}$/);
    const list = await t.http().get(`/accounts/${operator.id}/api-keys`).set(bearer(ADMIN_KEY)).expect(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ id: operator.keyId, prefix: operator.key.slice(0, 12) });
    expect(JSON.stringify(list.body)).not.toContain(operator.key);
    expect(list.body.items[0]).not.toHaveProperty('hash');
    const rows = await t.app
      .get(DataSource)
      .query(`SELECT "hash" FROM "api_key" WHERE "prefix" = '${operator.key.slice(0, 12)}'`);
    expect(rows[0].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].hash).not.toContain(operator.key);
  });

  it('lets an account manage its own keys but not another account’s', async () => {
    const a = await createAccount('operator', 'own-a@example.com');
    const b = await createAccount('operator', 'own-b@example.com');
    await t.http().post(`/accounts/${a.id}/api-keys`).set(bearer(a.key)).send({ name: 'second' }).expect(201);
    await t.http().get(`/accounts/${b.id}/api-keys`).set(bearer(a.key)).expect(403);
    await t.http().delete(`/accounts/${b.id}/api-keys/${b.keyId}`).set(bearer(a.key)).expect(403);
  });

  it('stops a revoked key at once', async () => {
    const operator = await createAccount('operator', 'revoke@example.com');
    await t.http().get('/accounts/me').set(bearer(operator.key)).expect(200);
    const revoked = await t
      .http()
      .delete(`/accounts/${operator.id}/api-keys/${operator.keyId}`)
      .set(bearer(ADMIN_KEY))
      .expect(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    const refused = await t.http().get('/accounts/me').set(bearer(operator.key)).expect(401);
    expect(refused.body.message).toContain('revoked');
  });

  it('refuses an expired key', async () => {
    const account = await createAccount('viewer', 'expiring@example.com');
    const expiresAt = new Date(Date.now() + 60_000);
    const created = await t
      .http()
      .post(`/accounts/${account.id}/api-keys`)
      .set(bearer(ADMIN_KEY))
      .send({ name: 'short-lived', expiresAt: expiresAt.toISOString() })
      .expect(201);
    await t.http().get('/accounts/me').set(bearer(created.body.key)).expect(200);

    const clock = t.app.get(Clock);
    const later = jest.spyOn(clock, 'now').mockReturnValue(new Date(expiresAt.getTime() + 1));
    try {
      const refused = await t.http().get('/accounts/me').set(bearer(created.body.key)).expect(401);
      expect(refused.body.message).toContain('expired');
    } finally {
      later.mockRestore();
    }
  });

  it('refuses an expiry in the past', async () => {
    const account = await createAccount('viewer', 'past@example.com');
    const response = await t
      .http()
      .post(`/accounts/${account.id}/api-keys`)
      .set(bearer(ADMIN_KEY))
      .send({ name: 'past', expiresAt: '2020-01-01T00:00:00Z' })
      .expect(400);
    expect(response.body.error).toBe('EXPIRY_IN_PAST');
  });

  it("stops a disabled account's keys at once, and re-enabling restores them", async () => {
    const operator = await createAccount('operator', 'disabled@example.com');
    await t
      .http()
      .patch(`/accounts/${operator.id}`)
      .set(bearer(ADMIN_KEY))
      .send({ disabled: true })
      .expect(200);
    const refused = await t.http().get('/accounts/me').set(bearer(operator.key)).expect(401);
    expect(refused.body.message).toContain('disabled');
    await t
      .http()
      .patch(`/accounts/${operator.id}`)
      .set(bearer(ADMIN_KEY))
      .send({ disabled: false })
      .expect(200);
    await t.http().get('/accounts/me').set(bearer(operator.key)).expect(200);
  });

  it('updates, fetches and deletes an account; its keys go with it', async () => {
    const operator = await createAccount('operator', 'crud@example.com');
    const updated = await t
      .http()
      .patch(`/accounts/${operator.id}`)
      .set(bearer(ADMIN_KEY))
      .send({ name: 'Renamed', role: 'viewer', email: 'CRUD2@Example.com' })
      .expect(200);
    expect(updated.body).toMatchObject({ name: 'Renamed', role: 'viewer', email: 'crud2@example.com' });
    await t.http().get(`/accounts/${operator.id}`).set(bearer(ADMIN_KEY)).expect(200);
    await t.http().delete(`/accounts/${operator.id}`).set(bearer(ADMIN_KEY)).expect(204);
    await t.http().get(`/accounts/${operator.id}`).set(bearer(ADMIN_KEY)).expect(404);
    await t.http().get('/accounts/me').set(bearer(operator.key)).expect(401);
  });

  it('answers 409 for a taken email, whatever its case', async () => {
    await createAccount('viewer', 'taken@example.com');
    const response = await t
      .http()
      .post('/accounts')
      .set(bearer(ADMIN_KEY))
      .send({ name: 'again', email: 'Taken@Example.com', role: 'viewer' })
      .expect(409);
    expect(response.body.error).toBe('EMAIL_TAKEN');
  });

  it('answers 404 for an unknown account and 400 for an id that is not a uuid', async () => {
    const missing = await t
      .http()
      .get('/accounts/019abc12-3def-7456-89ab-cdef01234567')
      .set(bearer(ADMIN_KEY))
      .expect(404);
    expect(missing.body.error).toBe('ACCOUNT_NOT_FOUND');
    await t.http().get('/accounts/not-a-uuid').set(bearer(ADMIN_KEY)).expect(400);
  });

  it('refuses with 422 to demote, disable or delete the last enabled admin', async () => {
    const me = await t.http().get('/accounts/me').set(bearer(ADMIN_KEY)).expect(200);
    for (const change of [{ role: 'operator' }, { disabled: true }]) {
      const refused = await t
        .http()
        .patch(`/accounts/${me.body.id}`)
        .set(bearer(ADMIN_KEY))
        .send(change)
        .expect(422);
      expect(refused.body.error).toBe('LAST_ADMIN');
    }
    await t.http().delete(`/accounts/${me.body.id}`).set(bearer(ADMIN_KEY)).expect(422);
  });

  it('pages through accounts with limit and cursor, each account once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await t
        .http()
        .get('/accounts')
        .query(cursor ? { limit: 2, cursor } : { limit: 2 })
        .set(bearer(ADMIN_KEY))
        .expect(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((a) => a.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    const all = await t.http().get('/accounts').query({ limit: 200 }).set(bearer(ADMIN_KEY)).expect(200);
    expect(seen).toEqual(all.body.items.map((a: { id: string }) => a.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThan(4);
  });

  it('answers 400 for a cursor it did not make', async () => {
    const response = await t
      .http()
      .get('/accounts')
      .query({ cursor: 'garbage' })
      .set(bearer(ADMIN_KEY))
      .expect(400);
    expect(response.body.error).toBe('INVALID_CURSOR');
    // Well formed, but naming no id: PostgreSQL would refuse to compare it with a uuid (a 500).
    for (const after of ['x', 'nul\u0000']) {
      const crafted = Buffer.from(JSON.stringify({ after })).toString('base64url');
      for (const path of ['/accounts', '/events', '/jobs', '/schedules']) {
        const answer = await t.http().get(path).query({ cursor: crafted }).set(bearer(ADMIN_KEY)).expect(400);
        expect(answer.body.error).toBe('INVALID_CURSOR');
      }
    }
  });
});
