import type { Page } from 'playwright-core';
import { describeInBrowser, driveDashboard } from './support/browser.js';
import type { DashboardDriver } from './support/browser.js';
import { FakeNetwork } from './fakes/network.js';
import { WebhookReceiver } from './fakes/webhook-receiver.js';
import { ADMIN_KEY, bearer, keyWithRole, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const NETWORK_TOKEN = 'network-token-0123456789abcdef';

interface Endpoint {
  id: string;
  url: string;
  enabled: boolean;
  description: string | null;
  failingSince: string | null;
}

interface Delivery {
  id: string;
  eventId: string;
  status: string;
  attemptCount: number;
  attempts: { attempt: number; statusCode: number | null }[];
}

/** A `datetime-local` value in this machine's time zone, which the browser shares. */
function localDateTime(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

describeInBrowser(`the dashboard's Webhooks pages and the overview's syncs and endpoints (${mode})`, () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let network: FakeNetwork;
  let driver: DashboardDriver;
  let signedIn: DashboardDriver['signedIn'];
  let seriousViolations: DashboardDriver['seriousViolations'];

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    network = await FakeNetwork.start(NETWORK_TOKEN);
    network.put('p-1', 'Photo 1', 100);
    // Two attempts, the second right after the first: a failing delivery fails within the test.
    t = await startTestApp({
      env: { JUNCTION_WEBHOOK_ALLOW_PRIVATE: 'true', JUNCTION_WEBHOOK_RETRY_SCHEDULE: '0,200ms' },
    });
    driver = await driveDashboard(t);
    ({ signedIn, seriousViolations } = driver);
  }, 60_000);
  afterAll(async () => {
    await driver?.close();
    await t?.close();
    await receiver?.close();
    await network?.close();
  });

  const post = async (name: string): Promise<string> =>
    (
      (await t.http().post('/events').set(admin).send({ name, source: 'shop', data: {} }).expect(202))
        .body as {
        eventId: string;
      }
    ).eventId;
  const endpointViaApi = async (path: string): Promise<Endpoint> => {
    const { body } = await t
      .http()
      .post('/webhook-endpoints')
      .set(admin)
      .send({ url: `${receiver.url}${path}`, eventPatterns: ['order.*'] })
      .expect(201);
    receiver.expectSecret(path, (body as { secret: string }).secret);
    return body as Endpoint;
  };
  const getEndpoint = async (id: string): Promise<Endpoint> =>
    (await t.http().get(`/webhook-endpoints/${id}`).set(admin).expect(200)).body as Endpoint;
  const deliveries = async (endpointId: string): Promise<Delivery[]> =>
    (
      (await t.http().get(`/webhook-endpoints/${endpointId}/deliveries`).set(admin).expect(200)).body as {
        items: Delivery[];
      }
    ).items;
  const delivery = async (id: string): Promise<Delivery> =>
    (await t.http().get(`/webhook-deliveries/${id}`).set(admin).expect(200)).body as Delivery;
  /** Waits until the endpoint has `count` deliveries, none pending. */
  const settled = (endpointId: string, count: number) =>
    waitFor(
      () => deliveries(endpointId),
      (items) => items.length >= count && items.every((d) => d.status !== 'pending'),
    );
  const expectAccessible = async (page: Page) => expect(await seriousViolations(page)).toEqual([]);

  it('creates an endpoint from its page, shows the secret once, and a failing delivery with every attempt; Resend succeeds once the receiver is fixed', async () => {
    const { context, page } = await signedIn(ADMIN_KEY);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.waitForURL('**/ui/webhooks');
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await expectAccessible(page);

    await page.getByRole('link', { name: 'New endpoint' }).click();
    await page.waitForURL('**/ui/webhooks/new');
    await expectAccessible(page);
    // A pattern the API refuses is shown at its field.
    await page.getByLabel('URL', { exact: true }).fill(`${receiver.url}/page`);
    await page.getByLabel('Event patterns').fill('order..created');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.locator('#endpoint-patterns-error').waitFor();
    await expect(page.getByLabel('Event patterns').getAttribute('aria-invalid')).resolves.toBe('true');
    await expectAccessible(page);
    await page.getByLabel('Event patterns').fill('order.*\ninvoice.paid');
    await page.getByLabel('Description', { exact: true }).fill('The order service');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.getByText('shows it only once').waitFor();
    const secret = await page.getByLabel('Signing secret').inputValue();
    expect(secret).toMatch(/^whsec_/);
    await expectAccessible(page);

    const { body: list } = await t.http().get('/webhook-endpoints').set(admin).expect(200);
    const created = (list as { items: (Endpoint & { eventPatterns: string[] })[] }).items.find(
      (e) => e.url === `${receiver.url}/page`,
    );
    expect(created).toMatchObject({
      eventPatterns: ['order.*', 'invoice.paid'],
      description: 'The order service',
      enabled: true,
    });
    const endpointId = created!.id;
    receiver.expectSecret('/page', secret);

    await page.getByRole('link', { name: 'Go to the endpoint' }).click();
    await page.waitForURL(`**/ui/webhooks/${endpointId}`);
    await page.getByText('No delivery matches.').waitFor();
    await expectAccessible(page);

    // The receiver fails: the delivery shows up on the open page, live, and fails.
    receiver.answerAlways('/page', { status: 500, body: '{"error":"receiver down"}' });
    await post('order.created');
    // Sooner than the list's 15 s polling: the live stream brings it after its first attempt.
    await page.locator('a[href^="/ui/webhook-deliveries/"]').waitFor({ timeout: 10_000 });
    const [failed] = await settled(endpointId, 1);
    expect(failed).toMatchObject({ status: 'failed', attemptCount: 2 });
    const row = page
      .getByRole('row')
      .filter({ has: page.locator(`a[href="/ui/webhook-deliveries/${failed.id}"]`) });
    await row.getByText('failed', { exact: true }).waitFor();

    // The status filter lives in the URL.
    await page.getByLabel('Status').selectOption('succeeded');
    await page.waitForURL(`**/ui/webhooks/${endpointId}?status=succeeded`);
    await page.getByText('No delivery matches.').waitFor();
    await page.getByLabel('Status').selectOption('failed');
    await page.waitForURL(`**/ui/webhooks/${endpointId}?status=failed`);
    await page.locator(`a[href="/ui/webhook-deliveries/${failed.id}"]`).click();

    await page.waitForURL(`**/ui/webhook-deliveries/${failed.id}`);
    await expect(page.getByTestId('delivery-status').textContent()).resolves.toBe('failed');
    const attempts = page.getByRole('table', { name: /Every attempt/ });
    await attempts.getByRole('row').nth(2).waitFor();
    expect(await attempts.getByRole('row').count()).toBe(3);
    expect(await attempts.getByRole('cell', { name: '500', exact: true }).count()).toBe(2);
    expect(await attempts.getByRole('cell', { name: '{"error":"receiver down"}', exact: true }).count()).toBe(
      2,
    );
    await expectAccessible(page);

    receiver.answerAlways('/page', { status: 200 });
    await page.getByRole('button', { name: 'Resend' }).click();
    await page.getByTestId('delivery-status').getByText('succeeded').waitFor({ timeout: 15_000 });
    await attempts.getByRole('cell', { name: '200', exact: true }).waitFor();
    const resent = await delivery(failed.id);
    expect(resent.status).toBe('succeeded');
    expect(resent.attempts.map((a) => a.statusCode)).toEqual([500, 500, 200]);
    const received = receiver.received('/page');
    expect(received).toHaveLength(3);
    expect(received.every((r) => r.verified && r.headers['webhook-id'] === failed.eventId)).toBe(true);
    await expectAccessible(page);
    await context.close();
  }, 120_000);

  it('recovers the failed deliveries since a time from the endpoint page', async () => {
    const hook = await endpointViaApi('/recover');
    receiver.answerAlways('/recover', { status: 500 });
    const before = new Date(Date.now() - 60_000);
    await post('order.created');
    await post('order.paid');
    const failed = await settled(hook.id, 2);
    expect(failed.map((d) => d.status)).toEqual(['failed', 'failed']);
    receiver.answerAlways('/recover', { status: 200 });

    const { context, page } = await signedIn(ADMIN_KEY);
    await page.goto(`/ui/webhooks/${hook.id}?status=failed`);
    await page.locator(`a[href="/ui/webhook-deliveries/${failed[1].id}"]`).waitFor();
    await page.getByLabel(/Failed since/).fill(localDateTime(before));
    await page.getByRole('button', { name: 'Recover' }).click();
    await page.getByText('2 failed deliveries sent again').waitFor();
    // The recovered deliveries leave the failed filter, live.
    await page.getByText('No delivery matches.').waitFor({ timeout: 15_000 });
    const done = await settled(hook.id, 2);
    expect(done.map((d) => d.status)).toEqual(['succeeded', 'succeeded']);
    expect(receiver.received('/recover')).toHaveLength(6);
    await expectAccessible(page);
    await context.close();
  }, 120_000);

  it('shows a failing endpoint on the overview, one click from its page, which edits, disables and deletes it', async () => {
    const hook = await endpointViaApi('/down');
    receiver.answerAlways('/down', { status: 503 });
    await post('order.created');
    await settled(hook.id, 1);
    expect((await getEndpoint(hook.id)).failingSince).not.toBeNull();

    const { context, page } = await signedIn(ADMIN_KEY);
    const needsAHand = page.getByRole('region', { name: 'Needs a hand' });
    await needsAHand.getByRole('link', { name: /syncs? running/ }).waitFor();
    expect(await needsAHand.getByRole('link', { name: /syncs? running/ }).getAttribute('href')).toBe(
      '/ui/syncs',
    );
    await needsAHand.getByRole('link', { name: /webhook endpoints? failing/ }).waitFor();
    await expectAccessible(page);
    await needsAHand.locator(`a[href="/ui/webhooks/${hook.id}"]`).click();
    await page.waitForURL(`**/ui/webhooks/${hook.id}`);
    await expect(page.getByTestId('endpoint-state').textContent()).resolves.toBe('failing');

    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Description', { exact: true }).fill('Down for maintenance');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Down for maintenance').waitFor();
    expect((await getEndpoint(hook.id)).description).toBe('Down for maintenance');

    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByTestId('endpoint-state').getByText('disabled').waitFor();
    expect((await getEndpoint(hook.id)).enabled).toBe(false);
    await expectAccessible(page);

    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('button', { name: 'Delete the endpoint and its deliveries' }).click();
    await page.waitForURL('**/ui/webhooks');
    await t.http().get(`/webhook-endpoints/${hook.id}`).set(admin).expect(404);
    await context.close();
  }, 120_000);

  it('counts the running syncs on the overview as they start and end, linking to the Syncs page', async () => {
    const accountId = ((await t.http().get('/accounts/me').set(admin).expect(200)).body as { id: string }).id;
    const { body: connection } = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'http',
        name: 'slow network',
        config: {
          baseUrl: network.url,
          rateLimit: { requests: 1000, perMs: 1000 },
          streams: { photos: { path: '/photos', items: 'data', id: 'id' } },
        },
        credentials: { type: 'bearer', token: NETWORK_TOKEN },
      })
      .expect(201);
    const { context, page } = await signedIn(ADMIN_KEY);
    const needsAHand = page.getByRole('region', { name: 'Needs a hand' });
    await needsAHand.getByRole('link', { name: '0 syncs running', exact: true }).waitFor();

    // The network answers slowly, so the run stays running while the page is looked at.
    network.delayMs = 30_000;
    try {
      const { body: sync } = await t
        .http()
        .post(`/accounts/${accountId}/syncs`)
        .set(admin)
        .send({ connections: [(connection as { id: string }).id] })
        .expect(202);
      const runId = (sync as { runs: { id: string }[] }).runs[0].id;
      await waitFor(
        async () =>
          (await t.http().get(`/sync-runs/${runId}`).set(admin).expect(200)).body as { status: string },
        (run) => run.status === 'running',
      );
      const running = needsAHand.getByRole('link', { name: '1 sync running', exact: true });
      await running.waitFor();
      expect(await running.getAttribute('href')).toBe('/ui/syncs');
      await expectAccessible(page);
      await t.http().post(`/sync-runs/${runId}/cancel`).set(admin).expect(200);
      await needsAHand.getByRole('link', { name: '0 syncs running', exact: true }).waitFor();
    } finally {
      network.delayMs = 0;
    }
    await context.close();
  }, 120_000);

  it('shows an operator no Webhooks link nor webhook actions, and the API refuses them anyway', async () => {
    const operatorKey = (await keyWithRole(t, 'operator')).Authorization.slice('Bearer '.length);
    const { context, page } = await signedIn(operatorKey);
    await page
      .getByRole('region', { name: 'Needs a hand' })
      .getByRole('link', { name: /syncs? running/ })
      .waitFor();
    // The nav's: the queue table links its "webhooks" queue.
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Jobs' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Webhooks' }).count()).toBe(0);
    expect(await page.getByText(/webhook endpoints? failing/).count()).toBe(0);
    await expectAccessible(page);
    await page.goto('/ui/webhooks');
    await page.getByText('managed by admins').waitFor();
    expect(await page.getByRole('link', { name: 'New endpoint' }).count()).toBe(0);
    await expectAccessible(page);
    const status = await page.evaluate(async () => (await fetch('/webhook-endpoints')).status);
    expect(status).toBe(403);
    await context.close();
  }, 60_000);
});
