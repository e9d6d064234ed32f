import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADMIN_KEY, bearer, jobEnded, keyWithRole, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { startFakePartner } from './fakes/partner.js';
import type { FakePartner } from './fakes/partner.js';
import { TestDatabase } from './support/test-database.js';

const admin = bearer(ADMIN_KEY);
/** Long enough to get a hint; its first part must never be seen again once stored. */
const TOKEN = 'sekret-partner-token-6f1c2b9aWXYZ';

describe('providers and connections', () => {
  let t: TestApp;
  /** Every body the API answered in this suite, to look for secrets in. */
  const answers: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  function call(method: 'get' | 'post' | 'patch' | 'put' | 'delete', url: string, auth = admin) {
    return t
      .http()
      [method](url)
      .set(auth)
      .on('response', (response: { text?: string }) => answers.push(response.text ?? ''));
  }

  const create = (body: Record<string, unknown>, auth = admin) =>
    call('post', '/connections', auth).send({
      provider: 'http',
      config: { baseUrl: 'https://partner.example' },
      credentials: { type: 'none' },
      ...body,
    });

  it('lists the providers with their schemas, credential types and capabilities', async () => {
    const list = await call('get', '/providers').expect(200);
    const http = (list.body as { key: string }[]).find((provider) => provider.key === 'http');
    expect(http).toMatchObject({
      title: 'Any REST partner',
      credentialTypes: ['none', 'api_key', 'bearer', 'basic'],
      capabilities: ['actions', 'pollers', 'sync'],
      configSchema: { required: ['baseUrl'] },
    });
    await call('get', '/providers/http').expect(200);
    const missing = await call('get', '/providers/nope').expect(404);
    expect(missing.body.error).toBe('PROVIDER_NOT_FOUND');
  });

  it('seals the credentials and shows only their type and a hint', async () => {
    const created = await create({ name: 'sealed', credentials: { type: 'bearer', token: TOKEN } }).expect(
      201,
    );
    expect(created.body).toMatchObject({
      provider: 'http',
      name: 'sealed',
      state: 'active',
      lastError: null,
      credentials: { type: 'bearer', set: true, hint: '…WXYZ' },
    });
    const got = await call('get', `/connections/${created.body.id}`).expect(200);
    expect(got.body.credentials).toEqual({ type: 'bearer', set: true, hint: '…WXYZ' });
    expect(JSON.stringify(got.body)).not.toContain(TOKEN.slice(0, 20));
  });

  it('refuses bad input with 422 naming every problem, and stores nothing', async () => {
    const before = (await call('get', '/connections').expect(200)).body.items.length;
    const unknown = await create({ name: 'x', provider: 'nope' }).expect(422);
    expect(unknown.body).toMatchObject({ error: 'INVALID_CONNECTION', details: [{ path: '/provider' }] });
    const bad = await create({
      name: 'bad',
      config: { baseUrl: 'not a url', extra: 1 },
      credentials: { type: 'hmac', secret: 'zzz' },
    }).expect(422);
    expect(bad.body.error).toBe('INVALID_CONNECTION');
    const paths = (bad.body.details as { path: string }[]).map((problem) => problem.path);
    expect(paths).toEqual(expect.arrayContaining(['/config/baseUrl', '/config', '/credentials/type']));
    const missingField = await create({ name: 'bad', credentials: { type: 'bearer' } }).expect(422);
    expect(missingField.body.details).toEqual([
      { path: '/credentials/token', message: 'must be a non-empty string' },
    ]);
    await create({ name: 'bad', config: 'not an object' }).expect(400);
    expect((await call('get', '/connections').expect(200)).body.items).toHaveLength(before);
  });

  it('refuses a fixed credential header in the config, which every answer would show, and takes a template', async () => {
    const before = (await call('get', '/connections').expect(200)).body.items.length;
    const secret = 'Bearer sk_live_0123456789abcdef';
    const refused = await create({
      name: 'header-secret',
      config: {
        baseUrl: 'https://partner.example',
        headers: { Authorization: secret },
        actions: { send: { method: 'POST', path: '/x', headers: { 'X-Api-Key': 'k-0123456789' } } },
        pollers: {
          list: {
            path: '/l',
            items: 'data',
            id: 'id',
            event: 'l.seen',
            cron: '* * * * *',
            headers: { Cookie: 's=1' },
          },
        },
      },
    }).expect(422);
    expect((refused.body.details as { path: string }[]).map((problem) => problem.path).sort()).toEqual([
      '/config/actions/send/headers/X-Api-Key',
      '/config/headers/Authorization',
      '/config/pollers/list/headers/Cookie',
    ]);
    expect(refused.text).not.toContain(secret);
    // A value from the job's input is no stored secret.
    await create({
      name: 'header-template',
      config: {
        baseUrl: 'https://partner.example',
        actions: {
          send: { method: 'POST', path: '/x', headers: { Authorization: 'Bearer {{input.token}}' } },
        },
      },
    }).expect(201);
    expect((await call('get', '/connections').expect(200)).body.items).toHaveLength(before + 1);
  });

  it('refuses a user or password in a config URL, a rate window longer than a timer can wait, and a blank name', async () => {
    const before = (await call('get', '/connections').expect(200)).body.items.length;
    const message = 'must not carry a user or password; give them as the connection’s credentials';
    for (const baseUrl of ['https://shop:pa55-w0rd@partner.example', 'https://ghp_t0ken@partner.example']) {
      const refused = await create({ name: 'inline', config: { baseUrl } }).expect(422);
      expect(refused.body.details).toEqual([{ path: '/config/baseUrl', message }]);
      expect(refused.text).not.toContain(baseUrl);
    }
    // Anywhere in the config, an action's header or body included.
    const nested = await create({
      name: 'inline',
      config: {
        baseUrl: 'https://partner.example',
        actions: {
          send: { method: 'POST', path: '/x', body: { callback: 'https://me:pw@shop.example/cb' } },
        },
      },
    }).expect(422);
    expect(nested.body.details).toEqual([{ path: '/config/actions/send/body/callback', message }]);

    const monthly = await create({
      name: 'monthly',
      config: { baseUrl: 'https://partner.example', rateLimit: { requests: 1000, perMs: 2_592_000_000 } },
    }).expect(422);
    expect(monthly.body.details).toEqual([
      { path: '/config/rateLimit/perMs', message: 'must be <= 2147483647' },
    ]);

    const blank = await create({ name: '   ' }).expect(400);
    expect(JSON.stringify(blank.body)).toContain('name must not be blank');
    const { id } = (await create({ name: 'not blank' }).expect(201)).body as { id: string };
    await call('patch', `/connections/${id}`).send({ name: ' \t ' }).expect(400);
    await call('patch', `/connections/${id}`)
      .send({ config: { baseUrl: 'https://u:p@partner.example' } })
      .expect(422);
    expect((await call('get', `/connections/${id}`).expect(200)).body).toMatchObject({
      name: 'not blank',
      config: { baseUrl: 'https://partner.example' },
    });
    await call('delete', `/connections/${id}`).expect(204);
    expect((await call('get', '/connections').expect(200)).body.items).toHaveLength(before);
  });

  it('keeps names unique per account', async () => {
    await create({ name: 'twice' }).expect(201);
    const again = await create({ name: 'twice' }).expect(409);
    expect(again.body.error).toBe('CONNECTION_NAME_TAKEN');
  });

  it('lets an account manage only its own connections, and operators all of them', async () => {
    const alice = await keyWithRole(t, 'viewer');
    const bob = await keyWithRole(t, 'viewer');
    const operator = await keyWithRole(t, 'operator');
    const aliceId = (await call('get', '/accounts/me', alice).expect(200)).body.id as string;
    const own = await create({ name: 'alice-1' }, alice).expect(201);
    expect(own.body.accountId).toBe(aliceId);

    await call('get', `/connections/${own.body.id}`, bob).expect(404);
    await call('patch', `/connections/${own.body.id}`, bob).send({ name: 'taken over' }).expect(404);
    await call('post', `/connections/${own.body.id}/pause`, bob).expect(404);
    await call('delete', `/connections/${own.body.id}`, bob).expect(404);
    const forAlice = await create({ name: 'for alice', accountId: aliceId }, bob).expect(403);
    expect(forAlice.body.error).toBe('NOT_YOUR_ACCOUNT');
    const bobsList = await call('get', `/connections?accountId=${aliceId}`, bob).expect(200);
    expect(bobsList.body.items).toEqual([]);

    const alicesList = await call('get', '/connections', alice).expect(200);
    expect(alicesList.body.items.map((c: { id: string }) => c.id)).toEqual([own.body.id]);
    const seenByOperator = await call('get', `/connections?accountId=${aliceId}`, operator).expect(200);
    expect(seenByOperator.body.items.map((c: { id: string }) => c.id)).toEqual([own.body.id]);
    await create({ name: 'made for alice', accountId: aliceId }, operator).expect(201);
  });

  it('renames, reconfigures, replaces credentials, pauses and resumes', async () => {
    const created = await create({ name: 'changing' }).expect(201);
    const id = created.body.id as string;
    const patched = await call('patch', `/connections/${id}`)
      .send({ name: 'changed', config: { baseUrl: 'https://eu.partner.example', timeoutMs: 5000 } })
      .expect(200);
    expect(patched.body).toMatchObject({
      name: 'changed',
      config: { baseUrl: 'https://eu.partner.example' },
    });
    const badConfig = await call('patch', `/connections/${id}`)
      .send({ config: { timeoutMs: 5 } })
      .expect(422);
    expect(badConfig.body.details.map((p: { path: string }) => p.path)).toEqual(
      expect.arrayContaining(['/config', '/config/timeoutMs']),
    );
    const replaced = await call('put', `/connections/${id}/credentials`)
      .send({ credentials: { type: 'api_key', header: 'X-Api-Key', key: 'key-000000000-ABCD' } })
      .expect(200);
    expect(replaced.body.credentials).toEqual({ type: 'api_key', set: true, hint: '…ABCD' });
    expect((await call('post', `/connections/${id}/pause`).expect(200)).body.state).toBe('paused');
    expect((await call('post', `/connections/${id}/resume`).expect(200)).body.state).toBe('active');
    await call('delete', `/connections/${id}`).expect(204);
    await call('get', `/connections/${id}`).expect(404);
  });

  describe('the connection test', () => {
    let partner: FakePartner;

    beforeAll(async () => {
      partner = await startFakePartner({ token: TOKEN });
    });
    afterAll(() => partner.close());

    const connectTo = async (name: string, token: string) =>
      (
        await create({
          name,
          config: { baseUrl: partner.url, checkPath: '/shipments' },
          credentials: { type: 'bearer', token },
        }).expect(201)
      ).body.id as string;

    it('passes when the partner takes the credentials, sending them as it should', async () => {
      const id = await connectTo('works', TOKEN);
      const tested = await call('post', `/connections/${id}/test`).expect(200);
      expect(tested.body).toMatchObject({ ok: true, code: null });
      expect(tested.body.durationMs).toBeGreaterThanOrEqual(0);
      expect(partner.requests.at(-1)).toMatchObject({
        method: 'GET',
        path: '/shipments',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
    });

    it('answers AUTH when the partner refuses them, and TEMPORARY when it fails', async () => {
      const refused = await connectTo('refused', 'wrong-token-0123456789');
      const auth = await call('post', `/connections/${refused}/test`).expect(200);
      expect(auth.body).toMatchObject({ ok: false, code: 'AUTH' });
      expect(auth.body.message).not.toContain('wrong-token');
      partner.answerNext({ kind: 'status', status: 502 });
      const failing = await call('post', `/connections/${await connectTo('failing', TOKEN)}/test`).expect(
        200,
      );
      expect(failing.body).toMatchObject({ ok: false, code: 'TEMPORARY' });
    });
  });

  it('shows a hint of whole characters when the secret ends in one outside the BMP', async () => {
    const password = `password-${'\u{1F511}'}abc`;
    const created = await create({
      name: 'emoji hint',
      credentials: { type: 'basic', username: 'shop', password },
    }).expect(201);
    expect(created.body.credentials.hint).toBe('…\u{1F511}abc');
    const got = await call('get', `/connections/${created.body.id}`).expect(200);
    expect(got.body.credentials.hint).toBe('…\u{1F511}abc');
  });

  /** The names of the schedules kept for these connections. */
  const schedulesOf = async (ids: string[]) =>
    ((await call('get', '/schedules?limit=200').expect(200)).body.items as { name: string }[])
      .map((schedule) => schedule.name)
      .filter((name) => ids.some((id) => name.startsWith(`connection:${id}:`)));
  const polling = {
    baseUrl: 'https://partner.example',
    pollers: { items: { path: '/items', items: '', id: 'id', event: 'partner.item', cron: '*/5 * * * *' } },
  };

  it('keeps a deleted connection deleted while other requests change it at the same time', async () => {
    const ids: string[] = [];
    for (let round = 0; round < 10; round++) {
      const { id } = (await create({ name: `deleted while paused ${round}`, config: polling }).expect(201))
        .body as { id: string };
      ids.push(id);
      const [deleted, changed] = await Promise.all([
        call('delete', `/connections/${id}`),
        call('post', `/connections/${id}/${round % 2 === 0 ? 'pause' : 'resume'}`),
      ]);
      expect(deleted.status).toBe(204);
      expect([200, 404]).toContain(changed.status);
      await call('get', `/connections/${id}`).expect(404);
    }
    expect(await schedulesOf(ids)).toEqual([]);
  });

  it('refuses with 422, never a 500, a connection made for an account being deleted, and leaves nothing of it', async () => {
    const ids: string[] = [];
    for (let round = 0; round < 10; round++) {
      const account = await call('post', '/accounts')
        .send({ name: 'Leaving', email: `leaving-race-${round}-${Date.now()}@example.com`, role: 'viewer' })
        .expect(201);
      const [deleted, made] = await Promise.all([
        call('delete', `/accounts/${account.body.id}`),
        create({ name: 'made while leaving', accountId: account.body.id, config: polling }),
      ]);
      expect(deleted.status).toBe(204);
      if (made.status === 201) ids.push(made.body.id as string);
      else
        expect({ status: made.status, body: made.body }).toMatchObject({
          status: 422,
          body: { error: 'INVALID_CONNECTION', details: [{ path: '/accountId' }] },
        });
    }
    for (const id of ids) await call('get', `/connections/${id}`).expect(404);
    expect(await schedulesOf(ids)).toEqual([]);
  });

  it('clears a deleted storage from the settings of the connections that copied into it', async () => {
    const storage = await create({
      name: 'copies',
      provider: 'local',
      config: { folder: 'connections-e2e' },
    }).expect(201);
    const stream = { path: '/photos', items: 'data', id: 'id' };
    const camera = await create({
      name: 'camera',
      config: { baseUrl: 'https://partner.example', streams: { photos: stream } },
      settings: { storageConnectionId: storage.body.id, syncEvery: '1h' },
    }).expect(201);

    await call('delete', `/connections/${storage.body.id}`).expect(204);

    const after = await call('get', `/connections/${camera.body.id}`).expect(200);
    expect(after.body.settings).toEqual({ syncEvery: '1h' });
    await call('patch', `/connections/${camera.body.id}`)
      .send({ config: { baseUrl: 'https://eu.partner.example', streams: { photos: stream } } })
      .expect(200);
  });

  it('deletes an account’s connections with the account', async () => {
    const account = await call('post', '/accounts')
      .send({ name: 'Leaving', email: `leaving-${Date.now()}@example.com`, role: 'viewer' })
      .expect(201);
    const connection = await create({ name: 'goes too', accountId: account.body.id }).expect(201);
    await call('delete', `/accounts/${account.body.id}`).expect(204);
    await call('get', `/connections/${connection.body.id}`).expect(404);
    const left = await call('get', `/connections?accountId=${account.body.id}`).expect(200);
    expect(left.body.items).toEqual([]);
  });

  it('never shows the secret: in no answer and nowhere in the database file', () => {
    expect(answers.length).toBeGreaterThan(20);
    for (const answer of answers) expect(answer).not.toContain(TOKEN);
    if (t.database.kind === 'sqlite') {
      const dir = t.database.dataDir;
      for (const file of fs.readdirSync(dir).filter((name) => name.startsWith('junction.sqlite'))) {
        expect(fs.readFileSync(path.join(dir, file)).includes(TOKEN)).toBe(false);
      }
    }
  });
});

describe('secret key rotation', () => {
  const OLD_KEY = '11'.repeat(32);
  const NEW_KEY = '22'.repeat(32);

  /** An http connection with a bearer token; port 9 refuses its calls. */
  const bearerConnection = (app: TestApp, name: string) =>
    app
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'http',
        name,
        config: { baseUrl: 'http://127.0.0.1:9' },
        credentials: { type: 'bearer', token: TOKEN },
      })
      .expect(201);

  it('seals the others again, and fails for good naming it, when a credential opens with neither key', async () => {
    const database = await TestDatabase.create();
    try {
      const old = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: OLD_KEY } });
      const rotated = (await bearerConnection(old, 'sealed with the old key')).body as { id: string };
      await old.close();
      const other = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: '33'.repeat(32) } });
      const stray = (await bearerConnection(other, 'sealed with another key')).body as { id: string };
      await other.close();

      const rotating = await startTestApp({
        database,
        env: { JUNCTION_SECRET_KEY: NEW_KEY, JUNCTION_SECRET_KEY_PREVIOUS: OLD_KEY },
      });
      const job = await jobEnded(rotating, 'connections.reseal', 'dead');
      const detail = (await rotating.http().get(`/jobs/${job!.id}`).set(admin).expect(200)).body;
      expect(detail).toMatchObject({ attempt: 1, lastError: { code: 'PERMANENT' } });
      expect(detail.lastError.message).toContain(`sealed with another key (${stray.id})`);
      expect(detail.lastError.message).not.toContain(rotated.id);
      await rotating.close();

      // The other connection was sealed again all the same: the new key alone opens it.
      const after = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: NEW_KEY } });
      try {
        const tested = await after.http().post(`/connections/${rotated.id}/test`).set(admin).expect(200);
        expect(tested.body).toMatchObject({ ok: false, code: 'TEMPORARY' });
      } finally {
        await after.close();
      }
    } finally {
      await database.drop();
    }
  });

  it('answers the test of a connection whose credentials open with no key as a failed check, not a 500', async () => {
    const database = await TestDatabase.create();
    try {
      const before = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: OLD_KEY } });
      const { id } = (await bearerConnection(before, 'key lost')).body as { id: string };
      await before.close();

      const after = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: NEW_KEY } });
      try {
        const tested = await after.http().post(`/connections/${id}/test`).set(admin).expect(200);
        expect(tested.body).toMatchObject({ ok: false, code: 'PERMANENT', durationMs: 0 });
        expect(tested.body.message).toContain('PUT /connections/{id}/credentials');
      } finally {
        await after.close();
      }
    } finally {
      await database.drop();
    }
  });

  it('opens values sealed with the previous key, seals them again, and then needs only the new key', async () => {
    const database = await TestDatabase.create();
    try {
      const before = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: OLD_KEY } });
      const created = await bearerConnection(before, 'rotated');
      const github = await before
        .http()
        .post('/connections')
        .set(admin)
        .send({ provider: 'github', name: 'rotated hooks', config: {}, credentials: { type: 'none' } })
        .expect(201);
      await before.close();

      const rotating = await startTestApp({
        database,
        env: { JUNCTION_SECRET_KEY: NEW_KEY, JUNCTION_SECRET_KEY_PREVIOUS: OLD_KEY },
      });
      const job = await jobEnded(rotating, 'connections.reseal', 'succeeded');
      expect(job?.result).toEqual({ resealed: 2, current: 0 });
      await rotating.close();

      const after = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: NEW_KEY } });
      try {
        // The test opens the credentials with the new key alone; port 9 refuses the call itself.
        const tested = await after.http().post(`/connections/${created.body.id}/test`).set(admin).expect(200);
        expect(tested.body).toMatchObject({ ok: false, code: 'TEMPORARY' });
        // The webhook secret was sealed again too: a delivery signed with it is verified.
        const body = JSON.stringify({ ref: 'refs/heads/main' });
        const signature = `sha256=${createHmac('sha256', github.body.webhookSecret as string)
          .update(body)
          .digest('hex')}`;
        await after
          .http()
          .post(`/webhooks/${github.body.id}`)
          .set({
            'content-type': 'application/json',
            'x-github-event': 'push',
            'x-github-delivery': 'rotated-1',
            'x-hub-signature-256': signature,
          })
          .send(body)
          .expect(202);
      } finally {
        await after.close();
      }
    } finally {
      await database.drop();
    }
  });
});
