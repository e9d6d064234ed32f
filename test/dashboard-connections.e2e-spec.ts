import { Injectable, Module } from '@nestjs/common';
import { OAuth2Server } from 'oauth2-mock-server';
import type { Page } from 'playwright-core';
import { Provider } from '../src/modules/providers/provider.decorator.js';
import { FakeNetwork } from './fakes/network.js';
import { describeInBrowser, driveDashboard } from './support/browser.js';
import type { DashboardDriver } from './support/browser.js';
import { ADMIN_KEY, bearer, keyWithRole, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const admin = bearer(ADMIN_KEY);
const TOKEN = 'network-token-0123456789abcdef';
/** Where the OAuth partner sends the person back; the browser's requests there are served by the app. */
const PUBLIC_URL = 'http://junction.test';

/** A provider that takes OAuth 2 tokens, its endpoints from the environment (the mock server). */
@Provider({
  key: 'oauth-demo',
  title: 'OAuth demo',
  kinds: ['rest'],
  configSchema: { type: 'object', properties: { region: { type: 'string' } }, additionalProperties: false },
  credentialTypes: ['oauth2'],
  capabilities: [],
  oauth2: { authorizationUrl: 'https://oauth.invalid/authorize', tokenUrl: 'https://oauth.invalid/token' },
})
@Injectable()
class OAuthDemoProvider {}

@Module({ providers: [OAuthDemoProvider] })
class OAuthDemoModule {}

interface ConnectionBody {
  id: string;
  accountId: string;
  name: string;
  provider: string;
  state: string;
  syncsPausedAt: string | null;
  credentials: { type: string; set: boolean; hint: string | null };
}

describeInBrowser('the Connections and Syncs pages in a browser', () => {
  let t: TestApp;
  let driver: DashboardDriver;
  let network: FakeNetwork;
  let oauth: OAuth2Server;

  beforeAll(async () => {
    network = await FakeNetwork.start(TOKEN);
    for (let n = 1; n <= 25; n++) network.put(`p-${n}`, `Photo ${n}`, n * 100);
    oauth = new OAuth2Server();
    await oauth.issuer.keys.generate('RS256');
    await oauth.start(0, '127.0.0.1');
    t = await startTestApp({
      features: [OAuthDemoModule],
      env: {
        JUNCTION_PUBLIC_URL: PUBLIC_URL,
        JUNCTION_OAUTH_OAUTH_DEMO_CLIENT_ID: 'junction-client',
        JUNCTION_OAUTH_OAUTH_DEMO_CLIENT_SECRET: 'client-secret-5f0e8d7c6b5a',
        JUNCTION_OAUTH_OAUTH_DEMO_AUTHORIZATION_URL: `${oauth.issuer.url!}/authorize`,
        JUNCTION_OAUTH_OAUTH_DEMO_TOKEN_URL: `${oauth.issuer.url!}/token`,
      },
    });
    driver = await driveDashboard(t);
  }, 60_000);
  afterAll(async () => {
    await driver?.close();
    await t?.close();
    await network?.close();
    await oauth?.stop();
  });

  const connection = async (id: string, headers = admin) =>
    (await t.http().get(`/connections/${id}`).set(headers).expect(200)).body as ConnectionBody;

  /** The http connection of the admin's account that syncs the fake network's photos. */
  async function syncingConnection(name: string): Promise<ConnectionBody> {
    const { body } = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'http',
        name,
        config: {
          baseUrl: network.url,
          rateLimit: { requests: 1000, perMs: 1000 },
          streams: {
            photos: {
              path: '/photos',
              items: 'data',
              id: 'id',
              cursor: 'updatedAt',
              cursorParam: 'updated_since',
              nextPage: { from: 'next', param: 'page' },
            },
          },
        },
        credentials: { type: 'bearer', token: TOKEN },
      })
      .expect(201);
    return body as ConnectionBody;
  }

  const idInUrl = (page: Page) => new URL(page.url()).pathname.split('/').pop()!;

  it('creates a connection from its generated form, shows the API’s refusal at the field, and tests it', async () => {
    const { context, page } = await driver.signedIn(ADMIN_KEY);
    await page.getByRole('link', { name: 'Connections', exact: true }).click();
    await page.getByRole('heading', { name: 'Connections' }).waitFor();
    expect(await driver.seriousViolations(page)).toEqual([]);
    await page.getByRole('link', { name: 'New connection' }).click();
    await page.getByRole('heading', { name: 'New connection' }).waitFor();
    await page.getByLabel('Provider').selectOption('http');
    // The config fields come from the http provider's JSON Schema, rendered by rjsf, and are checked by it.
    await page.getByLabel('baseUrl').fill('ftp://partner.example');
    await page.getByLabel('Name', { exact: true }).fill('photo network');
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.locator('#config_baseUrl__error').getByText('must match ^https?://').waitFor();
    await page.getByLabel('baseUrl').fill(network.url);
    await page.getByLabel('checkPath').fill('/photos');
    await page.getByLabel('Credential type').selectOption({ label: 'Bearer token' });
    expect(await driver.seriousViolations(page)).toEqual([]);

    // No token: the API refuses, and says so at the Token field.
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.getByText('must be a non-empty string').first().waitFor();
    await expect(page.getByLabel('Token').getAttribute('aria-invalid')).resolves.toBe('true');
    expect(await driver.seriousViolations(page)).toEqual([]);

    await page.getByLabel('Token').fill(TOKEN);
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.waitForURL(/\/ui\/connections\/[0-9a-f-]{36}$/);
    const id = idInUrl(page);
    await page.getByRole('heading', { name: 'Connection photo network' }).waitFor();
    await page.getByRole('button', { name: 'Test' }).click();
    await page
      .getByRole('status')
      .getByText(/Test passed: the connection works, in \d+ ms/)
      .waitFor();
    expect(network.requests.some((request) => request.path === '/photos')).toBe(true);
    expect(await driver.seriousViolations(page)).toEqual([]);

    const created = await connection(id);
    expect(created).toMatchObject({
      name: 'photo network',
      provider: 'http',
      state: 'active',
      credentials: { type: 'bearer', set: true, hint: '…cdef' },
    });
    // Write-only: the token was never sent back to the page.
    expect(await page.content()).not.toContain(TOKEN);

    // A wrong token: the test fails, and says why.
    await page.getByLabel('Credential type').selectOption({ label: 'Bearer token' });
    await page.getByLabel('Token').fill('a-wrong-token-0000');
    await page.getByRole('button', { name: 'Replace credentials' }).click();
    await page.getByText('Credentials replaced.').waitFor();
    expect((await connection(id)).credentials.hint).toBe('…0000');
    await page.getByRole('button', { name: 'Test' }).click();
    await page
      .getByRole('status')
      .getByText(/Test failed \(AUTH\)/)
      .waitFor();
    const html = await page.content();
    expect(html).not.toContain(TOKEN);
    expect(html).not.toContain('a-wrong-token-0000');
    await context.close();
  }, 90_000);

  it('pauses, resumes and deletes a connection from its page, as the API then says', async () => {
    const { id, name } = await syncingConnection('pausable');
    const { context, page } = await driver.signedIn(ADMIN_KEY);
    await page.goto(`/ui/connections?provider=http&state=active`);
    await page.getByRole('link', { name, exact: true }).click();
    await page.waitForURL(`**/ui/connections/${id}`);
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByTestId('connection-state').getByText('paused').waitFor();
    expect((await connection(id)).state).toBe('paused');
    await page.goto('/ui/connections?state=paused');
    await page.getByRole('link', { name, exact: true }).waitFor();
    expect(await driver.seriousViolations(page)).toEqual([]);
    await page.getByRole('link', { name, exact: true }).click();
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByTestId('connection-state').getByText('active').waitFor();
    expect((await connection(id)).state).toBe('active');

    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Delete for good' }).click();
    await page.waitForURL(/\/ui\/connections$/);
    await t.http().get(`/connections/${id}`).set(admin).expect(404);
    await context.close();
  }, 60_000);

  it('shows a viewer only its own connections, and none of another account’s buttons', async () => {
    const theirs = await syncingConnection('not the viewer’s');
    const viewer = await keyWithRole(t, 'viewer');
    const { body: own } = await t
      .http()
      .post('/connections')
      .set(viewer)
      .send({
        provider: 'http',
        name: 'viewer’s own',
        config: { baseUrl: network.url },
        credentials: { type: 'none' },
      })
      .expect(201);
    const { context, page } = await driver.signedIn(viewer.Authorization.slice('Bearer '.length));
    await page.goto('/ui/connections');
    await page.getByRole('link', { name: 'viewer’s own' }).waitFor();
    expect(await page.getByRole('link', { name: theirs.name }).count()).toBe(0);
    expect(await driver.seriousViolations(page)).toEqual([]);

    await page.goto(`/ui/connections/${theirs.id}`);
    await page
      .getByRole('alert')
      .getByText(/CONNECTION_NOT_FOUND/)
      .waitFor();
    for (const name of ['Test', 'Pause', 'Delete', 'Save', 'Replace credentials'])
      expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
    expect(await driver.seriousViolations(page)).toEqual([]);
    // And the API refuses it anyway.
    await t.http().post(`/connections/${theirs.id}/pause`).set(viewer).expect(404);

    await page.goto(`/ui/connections/${(own as ConnectionBody).id}`);
    await page.getByRole('button', { name: 'Test' }).waitFor();

    // Syncs: no account to choose, and another account's are not found, without a button.
    await page.goto('/ui/syncs');
    await page.getByRole('heading', { name: 'By connection and content type' }).waitFor();
    expect(await page.getByLabel('Account').count()).toBe(0);
    await page.goto(`/ui/syncs?account=${theirs.accountId}`);
    await page
      .getByRole('alert')
      .first()
      .getByText(/ACCOUNT_NOT_FOUND/)
      .waitFor();
    expect(await page.getByRole('button', { name: /^(Sync now|Pause syncs|Restart|Clear)/ }).count()).toBe(0);
    expect(await driver.seriousViolations(page)).toEqual([]);
    await context.close();
  }, 60_000);

  it('moves a sync’s counters while it runs (live, no reload), and pauses, resumes, clears and restarts its syncs', async () => {
    const { id, name } = await syncingConnection('live network');
    const { context, page } = await driver.signedIn(ADMIN_KEY);
    await page.goto('/ui/syncs');
    await page.getByTestId('live-state').getByText('Live', { exact: true }).waitFor();
    await page.getByRole('heading', { name }).waitFor();
    expect(await driver.seriousViolations(page)).toEqual([]);
    let navigations = 0;
    page.on('framenavigated', () => navigations++);

    // Each page of the network answers slowly, so each page's counters are seen on their own.
    network.delayMs = 1500;
    try {
      await page.getByRole('button', { name: `Sync now: ${name}` }).click();
      const accountId = (await connection(id)).accountId;
      // The page's request made it; the API says which run.
      const run = (await waitFor(
        async () =>
          (
            (await t.http().get(`/accounts/${accountId}/sync-runs`).set(admin).expect(200)).body as {
              items: { id: string; connectionId: string }[];
            }
          ).items.find((r) => r.connectionId === id),
        (found) => found !== undefined,
      ))!;
      const row = page
        .getByRole('table', { name: /runs, newest first/ })
        .getByRole('row')
        .filter({ has: page.locator(`a[href="/ui/syncs/runs/${run.id}"]`) });
      const seen = row.getByRole('cell').nth(3);
      for (const count of ['10', '20', '25']) await seen.getByText(count, { exact: true }).waitFor();
      await row.getByText('succeeded').waitFor({ timeout: 15_000 });
    } finally {
      network.delayMs = 0;
    }
    expect(navigations).toBe(0);
    expect(await driver.seriousViolations(page)).toEqual([]);

    await page.getByRole('button', { name: `Pause syncs of ${name}` }).click();
    await page.getByRole('button', { name: `Resume syncs of ${name}` }).waitFor();
    expect((await connection(id)).syncsPausedAt).not.toBeNull();
    await page.getByRole('button', { name: `Resume syncs of ${name}` }).click();
    await page.getByRole('button', { name: `Pause syncs of ${name}` }).waitFor();
    expect((await connection(id)).syncsPausedAt).toBeNull();

    await page.getByRole('button', { name: `Clear photos of ${name}` }).click();
    await page.getByRole('button', { name: `Delete records of photos of ${name}` }).click();
    await page.getByText('25 records and 1 checkpoints deleted').waitFor();
    const records = await t.http().get(`/connections/${id}/records`).set(admin).expect(200);
    expect((records.body as { items: unknown[] }).items).toEqual([]);

    // Restart: a run from nothing reads every record again, and its row shows it.
    await page.getByRole('button', { name: `Restart photos of ${name} from nothing` }).click();
    await waitFor(
      async () =>
        (
          (await t.http().get(`/connections/${id}/records?limit=100`).set(admin).expect(200)).body as {
            items: unknown[];
          }
        ).items.length,
      (count) => count === 25,
      30_000,
    );
    const restart = page.getByRole('button', { name: `Restart photos of ${name} from nothing` });
    await page
      .getByRole('row')
      .filter({ has: restart })
      .getByRole('cell', { name: '25', exact: true })
      .first()
      .waitFor();
    await context.close();
  }, 90_000);

  it('cancels a running run from its page', async () => {
    const { id, name } = await syncingConnection('slow network');
    const { context, page } = await driver.signedIn(ADMIN_KEY);
    network.delayMs = 5000;
    try {
      const accountId = (await connection(id)).accountId;
      const { body: sync } = await t
        .http()
        .post(`/accounts/${accountId}/syncs`)
        .set(admin)
        .send({ connections: [id] })
        .expect(202);
      const runId = (sync as { runs: { id: string }[] }).runs[0].id;
      await page.goto('/ui/syncs');
      await page.getByRole('heading', { name }).waitFor();
      await page.locator(`a[href="/ui/syncs/runs/${runId}"]`).first().click();
      await page.waitForURL(`**/ui/syncs/runs/${runId}`);
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByText('cancelled', { exact: true }).waitFor();
      expect(await driver.seriousViolations(page)).toEqual([]);
      await waitFor(
        async () =>
          ((await t.http().get(`/sync-runs/${runId}`).set(admin).expect(200)).body as { status: string })
            .status,
        (status) => status === 'cancelled',
      );
    } finally {
      network.delayMs = 0;
    }
    await context.close();
  }, 60_000);

  it('connects an OAuth provider: the page sends the person to the partner, who sends them back', async () => {
    const { context, page } = await driver.signedIn(ADMIN_KEY);
    // The partner sends the person back to Junction's public URL, here the dashboard's own origin:
    // its redirect is pointed there, and the browser follows it to the app's callback.
    const partner = new URL(oauth.issuer.url!);
    await page.route(
      (url) => url.host === partner.host && url.pathname === '/authorize',
      async (route) => {
        const response = await route.fetch({ maxRedirects: 0 });
        const back = new URL(response.headers().location);
        expect(`${back.origin}${back.pathname}`).toBe(`${PUBLIC_URL}/connections/oauth/callback`);
        const location = `${driver.base}${back.pathname}${back.search}`;
        await route.fulfill({ response, headers: { ...response.headers(), location } });
      },
    );
    await page.goto('/ui/connections/new?provider=oauth-demo');
    await page.getByLabel('Name', { exact: true }).fill('photos by oauth');
    await page.getByLabel('region').fill('eu');
    expect(await driver.seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Connect with OAuth' }).click();
    // The partner sends the browser back to Junction, which shows the new connection's page.
    await page.waitForURL(/\/ui\/connections\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { name: 'Connection photos by oauth' }).waitFor();
    await page.getByText('oauth2, set').waitFor();
    const { body } = await t.http().get('/connections?provider=oauth-demo').set(admin).expect(200);
    expect((body as { items: ConnectionBody[] }).items).toEqual([
      expect.objectContaining({
        name: 'photos by oauth',
        config: { region: 'eu' },
        credentials: expect.objectContaining({ type: 'oauth2', set: true }),
      }),
    ]);
    await context.close();
  }, 60_000);
});
