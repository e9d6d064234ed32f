import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { jest } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { OAuth2Server } from 'oauth2-mock-server';
import { DataSource } from 'typeorm';
import { Clock } from '../src/common/clock.js';
import { PartnerHttpClient } from '../src/modules/providers/http/partner-http.client.js';
import { ProviderError } from '../src/modules/providers/http/provider-error.js';
import { PartnerCallsService } from '../src/modules/providers/partner-calls.service.js';
import { Provider } from '../src/modules/providers/provider.decorator.js';
import { startJunctionProcess } from './support/junction-process.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const PUBLIC_URL = 'http://junction.test';
const CLIENT_ID = 'junction-client';
const CLIENT_SECRET = 'client-secret-5f0e8d7c6b5a';
const DAY = 86_400_000;

/** A provider that takes OAuth 2 tokens; its endpoints come from the environment (the mock server). */
@Provider({
  key: 'oauth-demo',
  title: 'OAuth demo',
  kinds: ['rest'],
  configSchema: { type: 'object', properties: { region: { type: 'string' } }, additionalProperties: false },
  credentialTypes: ['oauth2'],
  capabilities: ['sync'],
  oauth2: {
    authorizationUrl: 'https://oauth.invalid/authorize',
    tokenUrl: 'https://oauth.invalid/token',
    scopes: ['photos.read'],
  },
})
@Injectable()
class OAuthDemoProvider {}

@Module({ providers: [OAuthDemoProvider] })
class OAuthDemoModule {}

/** The same provider as a plug-in; its check passes only with a token refreshed from the 30 s one. */
const OAUTH_DEMO_PLUGIN = `
import { Injectable, Module, Provider } from 'junction/sdk';

class OAuthDemo {
  async check(connection) {
    const left = Date.parse(connection.credentials.expiresAt) - Date.now();
    if (!(left > 60000)) throw new Error('the token was not refreshed: ' + left + ' ms left');
  }
}
Injectable()(OAuthDemo);
Provider({
  key: 'oauth-demo', title: 'OAuth demo', kinds: ['rest'], configSchema: { type: 'object' },
  credentialTypes: ['oauth2'], capabilities: [],
  oauth2: { authorizationUrl: 'https://oauth.invalid/authorize', tokenUrl: 'https://oauth.invalid/token' },
})(OAuthDemo);

export default class OAuthDemoPlugin {}
Module({ providers: [OAuthDemo] })(OAuthDemoPlugin);
`;

interface ConnectionBody {
  id: string;
  name: string;
  state: string;
  credentials: { type: string; set: boolean; hint: string | null };
}

interface TokenRequest {
  grant_type: string;
  code_verifier?: string;
  refresh_token?: string;
  client_id?: string;
}

describe(`OAuth 2 connect (${mode})`, () => {
  let t: TestApp;
  let server: OAuth2Server;
  let clock: Clock;
  let pluginFolder: string;
  /** Every request the mock's token endpoint answered, with its form and Authorization header. */
  const tokenRequests: { body: TokenRequest; authorization: string | undefined; answered: string }[] = [];

  beforeAll(async () => {
    // The provider as a plug-in too, for the real processes; `junction/sdk` resolves through node_modules/junction.
    pluginFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-oauth-'));
    fs.mkdirSync(path.join(pluginFolder, 'node_modules'));
    fs.symlinkSync(path.resolve('.'), path.join(pluginFolder, 'node_modules', 'junction'), 'dir');
    fs.writeFileSync(path.join(pluginFolder, 'oauth-demo.mjs'), OAUTH_DEMO_PLUGIN);
    server = new OAuth2Server();
    await server.issuer.keys.generate('RS256');
    await server.start(0, '127.0.0.1');
    server.service.on('beforeResponse', (response: { body: { access_token?: string } }, req) => {
      const request = req as unknown as { body: TokenRequest; headers: Record<string, string | undefined> };
      tokenRequests.push({
        body: { ...request.body },
        authorization: request.headers.authorization,
        answered: response.body.access_token ?? '',
      });
    });
    t = await startTestApp({ env: { ...appEnv(), LOG_LEVEL: 'error' }, features: [OAuthDemoModule] });
    clock = t.app.get(Clock);
  });
  afterAll(async () => {
    await t.close();
    await server.stop();
    fs.rmSync(pluginFolder, { recursive: true, force: true });
  });
  afterEach(() => jest.restoreAllMocks());

  const appEnv = () => ({
    JUNCTION_PUBLIC_URL: PUBLIC_URL,
    JUNCTION_OAUTH_OAUTH_DEMO_CLIENT_ID: CLIENT_ID,
    JUNCTION_OAUTH_OAUTH_DEMO_CLIENT_SECRET: CLIENT_SECRET,
    JUNCTION_OAUTH_OAUTH_DEMO_AUTHORIZATION_URL: `${server.issuer.url!}/authorize`,
    JUNCTION_OAUTH_OAUTH_DEMO_TOKEN_URL: `${server.issuer.url!}/token`,
  });

  const start = async (body: Record<string, unknown>) =>
    (await t.http().post('/connections/oauth/start').set(admin).send(body).expect(201)).body as {
      authorizationUrl: string;
      state: string;
      expiresAt: string;
    };

  /** What the person's browser does: the partner's authorize page redirects back to Junction's callback. */
  const authorize = async (authorizationUrl: string): Promise<string> => {
    const response = await fetch(authorizationUrl, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const back = new URL(response.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(`${PUBLIC_URL}/connections/oauth/callback`);
    return `${back.pathname}${back.search}`;
  };

  const connect = async (name: string): Promise<ConnectionBody> => {
    const started = await start({ provider: 'oauth-demo', name });
    return (
      await t
        .http()
        .get(await authorize(started.authorizationUrl))
        .expect(201)
    ).body as ConnectionBody;
  };

  const sealedRow = async (id: string) =>
    (
      await t.app
        .get(DataSource)
        .query<{ credentials_sealed: string; refresh_failures: string | null; state: string }[]>(
          t.database.kind === 'postgres'
            ? `SELECT * FROM connection WHERE id = $1`
            : `SELECT * FROM connection WHERE id = ?`,
          [id],
        )
    )[0];

  it('sends a browser back to the dashboard’s page of the connection', async () => {
    const started = await start({ provider: 'oauth-demo', name: 'photos in a browser' });
    const callback = await authorize(started.authorizationUrl);
    const response = await t
      .http()
      .get(callback)
      .set('Accept', 'text/html,application/xhtml+xml')
      .expect(303);
    const { body } = await t.http().get('/connections?provider=oauth-demo').set(admin).expect(200);
    const connection = (body as { items: ConnectionBody[] }).items.find(
      (c) => c.name === 'photos in a browser',
    )!;
    expect(response.headers.location).toBe(`/ui/connections/${connection.id}`);
    expect(connection.credentials).toMatchObject({ type: 'oauth2', set: true });
  });

  it('connects through the partner with PKCE, and keeps the tokens sealed', async () => {
    const started = await start({ provider: 'oauth-demo', name: 'photos', config: { region: 'eu' } });
    const url = new URL(started.authorizationUrl);
    expect(url.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(url.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/connections/oauth/callback`);
    expect(url.searchParams.get('scope')).toBe('photos.read');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('state')).toBe(started.state);
    expect(Date.parse(started.expiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);

    const callback = await authorize(started.authorizationUrl);
    const connection = (await t.http().get(callback).expect(201)).body as ConnectionBody;

    expect(connection).toMatchObject({
      name: 'photos',
      state: 'active',
      credentials: { type: 'oauth2', set: true },
    });
    const exchange = tokenRequests.at(-1)!;
    expect(exchange.body.grant_type).toBe('authorization_code');
    // The verifier sent matches the challenge shown to the partner.
    expect(createHash('sha256').update(exchange.body.code_verifier!).digest('base64url')).toBe(
      url.searchParams.get('code_challenge'),
    );
    expect(exchange.authorization).toBe(
      `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
    );
    const row = await sealedRow(connection.id);
    expect(row.credentials_sealed).not.toContain(exchange.answered.slice(-40));
    const shown = JSON.stringify(
      (await t.http().get(`/connections/${connection.id}`).set(admin).expect(200)).body,
    );
    expect(shown).not.toContain(exchange.answered.slice(-40));
    // The connection's calls carry the access token.
    const { opened } = await t.app.get(PartnerCallsService).usable(connection.id);
    expect(opened.credentials.accessToken).toBe(exchange.answered);
  });

  it('takes a state once, and not after ten minutes', async () => {
    const started = await start({ provider: 'oauth-demo', name: 'once' });
    const callback = await authorize(started.authorizationUrl);
    await t.http().get(callback).expect(201);
    const again = await t.http().get(callback).expect(400);
    expect(again.body).toMatchObject({ error: 'OAUTH_STATE_INVALID' });

    const late = await start({ provider: 'oauth-demo', name: 'late' });
    const lateCallback = await authorize(late.authorizationUrl);
    jest.spyOn(clock, 'now').mockImplementation(() => new Date(Date.now() + 11 * 60_000));
    const expired = await t.http().get(lateCallback).expect(400);
    expect(expired.body).toMatchObject({ error: 'OAUTH_STATE_INVALID' });
    expect((expired.body as { message: string }).message).toContain('expired');

    await t.http().get('/connections/oauth/callback?code=x&state=never-issued').expect(400);
    const refused = await start({ provider: 'oauth-demo', name: 'refused' });
    const denied = await t
      .http()
      .get(`/connections/oauth/callback?error=access_denied&state=${refused.state}`)
      .expect(400);
    expect(denied.body).toMatchObject({ error: 'OAUTH_DENIED' });
  });

  it('re-authorises the account’s connection of the same name instead of making a second', async () => {
    const first = await connect('reconnect');
    const again = await start({ provider: 'oauth-demo', name: 'reconnect' });
    const second = (
      await t
        .http()
        .get(await authorize(again.authorizationUrl))
        .expect(200)
    ).body as ConnectionBody;

    expect(second.id).toBe(first.id);
    expect(second.state).toBe('active');
  });

  it('refuses bad starts with 422, naming the problem', async () => {
    const unknown = await t
      .http()
      .post('/connections/oauth/start')
      .set(admin)
      .send({ provider: 'nope', name: 'x' })
      .expect(422);
    expect(unknown.body).toMatchObject({ error: 'INVALID_CONNECTION' });
    const notOauth = await t
      .http()
      .post('/connections/oauth/start')
      .set(admin)
      .send({ provider: 'http', name: 'x' })
      .expect(422);
    expect(notOauth.body).toMatchObject({ error: 'OAUTH_NOT_SUPPORTED' });
    const badConfig = await t
      .http()
      .post('/connections/oauth/start')
      .set(admin)
      .send({ provider: 'oauth-demo', name: 'x', config: { colour: 'red' } })
      .expect(422);
    expect(badConfig.body).toMatchObject({ error: 'INVALID_CONNECTION' });
    await t.http().post('/connections/oauth/start').send({ provider: 'oauth-demo', name: 'x' }).expect(401);
  });

  it('refreshes a token about to expire once, though two processes need it at the same moment', async () => {
    // The token endpoint answers after 500 ms, so both processes find the token expiring while
    // the first refresh is still under way.
    const slow = await slowProxy(`${server.issuer.url!}/token`, 500);
    // Two Junction processes on this database, with the provider as a plug-in.
    const env = t.database.env({
      ...appEnv(),
      JUNCTION_OAUTH_OAUTH_DEMO_TOKEN_URL: slow.url,
      JUNCTION_ADMIN_KEY: ADMIN_KEY,
      JUNCTION_ROLES: 'api',
      JUNCTION_PLUGINS: path.join(pluginFolder, 'oauth-demo.mjs'),
    });
    const processes = [await startJunctionProcess(env), await startJunctionProcess(env)];
    try {
      // The partner gives a token that expires in 30 s: within the minute Junction refreshes ahead.
      server.service.once('beforeResponse', (response: { body: { expires_in?: number } }) => {
        response.body.expires_in = 30;
      });
      const [a, b] = processes;
      const started = (
        await a
          .api()
          .post('/connections/oauth/start')
          .set(admin)
          .send({ provider: 'oauth-demo', name: 'shared' })
          .expect(201)
      ).body as { authorizationUrl: string };
      const { id } = (
        await a
          .api()
          .get(await authorize(started.authorizationUrl))
          .expect(201)
      ).body as ConnectionBody;
      const before = tokenRequests.length;

      const checks = await Promise.all(
        [a, b].map((junction) => junction.api().post(`/connections/${id}/test`).set(admin).expect(200)),
      );

      expect(checks.map((c) => (c.body as { ok: boolean; message: string }).message)).toEqual([
        'the connection works',
        'the connection works',
      ]);
      expect(tokenRequests.slice(before).map((r) => r.body.grant_type)).toEqual(['refresh_token']);
      // Each process's check saw the refreshed token (the plug-in's check insists on it).
      expect((await sealedRow(id)).credentials_sealed).not.toContain(
        tokenRequests[before].answered.slice(-40),
      );
    } finally {
      await Promise.all(processes.map((junction) => junction.stop()));
      await slow.close();
    }
  });

  it('takes the tokens of a process that refreshed first when its own refresh token was already spent', async () => {
    const connection = await connect('spent');
    jest.spyOn(clock, 'now').mockImplementation(() => new Date(Date.now() + 59.5 * 60_000));
    const calls = t.app.get(PartnerCallsService);
    const http = t.app.get(PartnerHttpClient);
    const request = http.request.bind(http);
    // While this process calls the token endpoint, another stores its own refreshed tokens and the
    // partner answers invalid_grant, as it does for a refresh token already used.
    const other = await connect('other-process');
    const otherToken = tokenRequests.at(-1)!.answered;
    const otherSealed = (await sealedRow(other.id)).credentials_sealed;
    jest.spyOn(http, 'request').mockImplementationOnce(async (options) => {
      await t.app
        .get(DataSource)
        .query(
          t.database.kind === 'postgres'
            ? `UPDATE connection SET credentials_sealed = $1 WHERE id = $2`
            : `UPDATE connection SET credentials_sealed = ? WHERE id = ?`,
          [otherSealed, connection.id],
        );
      server.service.once('beforeResponse', (response: { body: unknown; statusCode: number }) => {
        response.body = { error: 'invalid_grant' };
        response.statusCode = 400;
      });
      return request(options);
    });

    const { opened } = await calls.usable(connection.id);

    expect(tokenRequests.at(-1)!.body.grant_type).toBe('refresh_token');
    expect(opened.credentials.accessToken).toBe(otherToken);
    const row = await sealedRow(connection.id);
    expect(row.refresh_failures).toBeNull();
    expect(row.state).toBe('active');
  });

  it('marks the connection bad_authentication only after refresh failed on three separate days', async () => {
    const connection = await connect('down');
    const calls = t.app.get(PartnerCallsService);
    server.service.on('beforeResponse', downForever);
    try {
      const start = Date.now() + 2 * 60 * 60_000;
      for (const [day, tries] of [
        [0, 3],
        [1, 1],
      ] as const) {
        jest.spyOn(clock, 'now').mockImplementation(() => new Date(start + day * DAY));
        for (let i = 0; i < tries; i++) {
          await expect(calls.usable(connection.id)).rejects.toMatchObject({ code: 'TEMPORARY' });
        }
        expect((await sealedRow(connection.id)).state).toBe('active');
      }
      jest.spyOn(clock, 'now').mockImplementation(() => new Date(start + 2 * DAY));
      const third = await calls.usable(connection.id).catch((error: unknown) => error);
      expect(third).toBeInstanceOf(ProviderError);
      expect(third).toMatchObject({ code: 'AUTH' });
    } finally {
      server.service.off('beforeResponse', downForever);
    }

    const row = await sealedRow(connection.id);
    expect(row.state).toBe('bad_authentication');
    expect(JSON.parse(row.refresh_failures!)).toHaveLength(3);
    const problems = (await t.http().get('/events?name=connection.problem').set(admin).expect(200)).body as {
      items: { data: { connectionId: string } }[];
    };
    expect(problems.items.filter((e) => e.data.connectionId === connection.id)).toHaveLength(1);
  });
});

/** Forwards each POST to `target` after `delayMs`, with its headers and body, and answers what it answered. */
async function slowProxy(
  target: string,
  delayMs: number,
): Promise<{ url: string; close: () => Promise<void> }> {
  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      setTimeout(() => {
        const headers: Record<string, string> = {};
        for (const name of ['authorization', 'content-type', 'accept']) {
          const value = req.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        fetch(target, { method: 'POST', headers, body: Buffer.concat(chunks) })
          .then(async (answer) => {
            res.writeHead(answer.status, {
              'content-type': answer.headers.get('content-type') ?? 'application/json',
            });
            res.end(await answer.text());
          })
          .catch(() => res.writeHead(502).end());
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}/token`,
    close: () => new Promise<void>((resolve) => proxy.close(() => resolve())),
  };
}

/** The token endpoint is down: every answer is a 503. */
function downForever(response: { body: unknown; statusCode: number }): void {
  response.body = { error: 'temporarily_unavailable' };
  response.statusCode = 503;
}
