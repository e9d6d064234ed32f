import type { Locator, Page } from 'playwright-core';
import { describeInBrowser, driveDashboard } from './support/browser.js';
import type { DashboardDriver } from './support/browser.js';
import { ADMIN_KEY, bearer, keyWithRole, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestJobsModule } from './support/test-jobs.module.js';
import { waitFor } from './support/wait-for.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

describeInBrowser('the dashboard: events, routes and schedules', () => {
  let t: TestApp;
  let driver: DashboardDriver;
  const admin = bearer(ADMIN_KEY);

  beforeAll(async () => {
    t = await startTestApp({ features: [TestJobsModule] });
    driver = await driveDashboard(t);
  }, 60_000);
  afterAll(async () => {
    await driver?.close();
    await t?.close();
  });

  /** The text of what the field's aria-describedby points at: what a screen reader reads with it. */
  async function descriptionOf(page: Page, field: Locator): Promise<string> {
    const ids = ((await field.getAttribute('aria-describedby')) ?? '').split(' ').filter(Boolean);
    const texts = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).textContent()));
    return texts.join(' ');
  }

  async function createRoute(name: string, eventPattern: string): Promise<string> {
    const { body } = await t
      .http()
      .post('/routes')
      .set(admin)
      .send({ name, eventPattern, jobType: 'test.echo', payloadTemplate: { orderId: '{{data.orderId}}' } })
      .expect(201);
    return body.id as string;
  }

  async function eventJobs(eventId: string): Promise<{ id: string; status: string }[]> {
    return (await t.http().get(`/events/${eventId}`).set(admin).expect(200)).body.jobs as {
      id: string;
      status: string;
    }[];
  }

  it('shows a route’s bad filter at the filter field, then creates, edits and deletes the route', async () => {
    const { context, page } = await driver.signedIn(ADMIN_KEY);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Routes' }).click();
    await page.getByRole('heading', { name: 'Routes', exact: true }).waitFor();
    await page.getByRole('link', { name: 'New route' }).click();
    await page.waitForURL('**/ui/routes/new');
    expect(await driver.seriousViolations(page)).toEqual([]);

    await page.getByLabel('Name', { exact: true }).fill('big orders');
    await page.getByLabel('Event pattern').fill('shop.order');
    const filter = page.getByLabel('Filter', { exact: true });
    await filter.fill('{ "data.total": { "$bogus": 100 } }');
    await page.getByLabel('Job type').fill('test.echo');
    await page.getByRole('button', { name: 'Create route' }).click();

    await page.getByText('$bogus', { exact: false }).first().waitFor();
    // The field is marked in a render of its own, which may come after the message.
    await waitFor(
      () => filter.getAttribute('aria-invalid'),
      (invalid) => invalid === 'true',
    );
    await expect(descriptionOf(page, filter)).resolves.toContain('$bogus');
    // The other fields are fine, and are not marked.
    expect(await page.getByLabel('Event pattern').getAttribute('aria-invalid')).toBeNull();
    expect(await driver.seriousViolations(page)).toEqual([]);
    const before = (await t.http().get('/routes').set(admin).expect(200)).body as { name: string }[];
    expect(before.map((route) => route.name)).not.toContain('big orders');

    await filter.fill('{ "data.total": { "$gt": 100 } }');
    await page.getByRole('button', { name: 'Create route' }).click();
    await page.waitForURL(/\/ui\/routes\/[0-9a-f-]{36}$/);
    await page.getByRole('status').getByText('Route created').waitFor();
    const id = page.url().split('/').pop()!;
    const { body: created } = await t.http().get(`/routes/${id}`).set(admin).expect(200);
    expect(created).toMatchObject({
      name: 'big orders',
      eventPattern: 'shop.order',
      filter: { 'data.total': { $gt: 100 } },
      jobType: 'test.echo',
      payloadTemplate: null,
      enabled: true,
    });

    await page.getByLabel('Max attempts').fill('2');
    await page.getByRole('checkbox', { name: 'Enabled' }).uncheck();
    await page.getByRole('button', { name: 'Save route' }).click();
    await page.getByRole('status').getByText('Route saved').waitFor();
    const { body: edited } = await t.http().get(`/routes/${id}`).set(admin).expect(200);
    expect(edited).toMatchObject({ jobOptions: { maxAttempts: 2 }, enabled: false, filter: created.filter });

    await page.getByRole('link', { name: '← All routes' }).click();
    await page.locator(`a[href="/ui/routes/${id}"]`).waitFor();
    expect(await driver.seriousViolations(page)).toEqual([]);
    await page.locator(`a[href="/ui/routes/${id}"]`).click();
    await page.getByRole('button', { name: 'Delete route' }).click();
    await page.getByRole('button', { name: 'Delete for good' }).click();
    await page.waitForURL(/\/ui\/routes$/);
    await t.http().get(`/routes/${id}`).set(admin).expect(404);
    await context.close();
  }, 90_000);

  it('sends a test event from the page: it is listed, its page shows the job it started, and Replay makes another', async () => {
    await createRoute('dashboard orders', 'dash.order');
    const { context, page } = await driver.signedIn(ADMIN_KEY);
    await page.goto('/ui/events');
    await page.getByRole('heading', { name: 'Events', exact: true }).waitFor();
    await page.getByLabel('Event name').fill('dash.order');
    await page.getByLabel('Data (JSON)').fill('{ "orderId": "A-1" ');
    await page.getByRole('button', { name: 'Send event' }).click();
    // JSON that does not parse is refused at its field, before any request. Nothing else on the
    // page changes to wait for, so the field's description is read until it says so.
    const data = page.getByLabel('Data (JSON)');
    await waitFor(
      () => descriptionOf(page, data),
      (text) => text.includes('not valid JSON'),
    );
    await data.fill('{ "orderId": "A-1" }');
    await page.getByRole('button', { name: 'Send event' }).click();
    const sent = page.getByRole('status').getByRole('link', { name: /^event / });
    await sent.waitFor();
    const eventId = UUID.exec((await sent.getAttribute('href')) ?? '')![0];

    const listed = page.getByRole('table').locator(`a[href="/ui/events/${eventId}"]`);
    await listed.waitFor();
    expect(await driver.seriousViolations(page)).toEqual([]);
    const { body: found } = await t.http().get('/events?name=dash.order').set(admin).expect(200);
    expect(found.items).toEqual([
      expect.objectContaining({ id: eventId, source: 'dashboard', data: { orderId: 'A-1' } }),
    ]);

    await listed.click();
    await page.waitForURL(`**/ui/events/${eventId}`);
    const [job] = await eventJobs(eventId);
    expect(job).toBeDefined();
    await page.locator(`a[href="/ui/jobs/${job.id}"]`).waitFor();
    await page.getByText('"orderId": "A-1"').waitFor();
    expect(await driver.seriousViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Replay' }).click();
    await page.getByRole('status').getByText('1 new job').waitFor();
    const jobs = await eventJobs(eventId);
    expect(jobs).toHaveLength(2);
    const replayed = jobs.find((j) => j.id !== job.id)!;
    await page.locator(`a[href="/ui/jobs/${replayed.id}"]`).click();
    await page.waitForURL(`**/ui/jobs/${replayed.id}`);
    await page.getByTestId('job-status').getByText('succeeded').waitFor({ timeout: 15_000 });
    await context.close();
  }, 90_000);

  it('filters events by name, source and time through the URL', async () => {
    for (const name of ['filter.alpha', 'filter.beta']) {
      await t.http().post('/events').set(admin).send({ name, source: 'crm', data: {} }).expect(202);
    }
    const { context, page } = await driver.signedIn(ADMIN_KEY);
    await page.goto('/ui/events');
    await page.getByLabel('Name or pattern').fill('filter.*');
    await page.getByLabel('Source').first().fill('crm');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/name=filter\.\*/);
    // Read until the filtered list has replaced the one shown before it.
    await waitFor(
      async () => ({
        alpha: await page.getByRole('cell', { name: 'filter.alpha' }).count(),
        beta: await page.getByRole('cell', { name: 'filter.beta' }).count(),
        other: await page.getByRole('cell', { name: 'dash.order' }).count(),
      }),
      (cells) => cells.alpha === 1 && cells.beta === 1 && cells.other === 0,
    );
    // A window that ended before they were received holds none of them.
    await page.goto('/ui/events?name=filter.*&to=2000-01-01T00%3A00');
    await page.getByText('No event matches.').waitFor();
    await context.close();
  }, 60_000);

  it('shows a schedule’s bad cron at the cron field; pauses, resumes and triggers it from its page', async () => {
    const { context, page } = await driver.signedIn(ADMIN_KEY);
    await page.goto('/ui/schedules');
    await page.getByRole('heading', { name: 'Schedules', exact: true }).waitFor();
    await page.getByRole('link', { name: 'New schedule' }).click();
    await page.waitForURL('**/ui/schedules/new');
    await page.getByLabel('Name', { exact: true }).fill('nightly echo');
    const cron = page.getByLabel('Cron');
    await cron.fill('* * *');
    await page.getByLabel('Time zone').fill('Europe/Berlin');
    await page.getByLabel('Job type').fill('test.echo');
    await page.getByLabel('Payload').fill('{ "orderId": "N-1" }');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page.getByRole('alert').waitFor();
    await expect(cron.getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(descriptionOf(page, cron)).resolves.toContain('cron must have 5 fields');
    expect(await page.getByLabel('Time zone').getAttribute('aria-invalid')).toBeNull();
    expect(await driver.seriousViolations(page)).toEqual([]);

    await cron.fill('0 3 * * *');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page.waitForURL(/\/ui\/schedules\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').pop()!;
    const schedule = async () =>
      (await t.http().get(`/schedules/${id}`).set(admin).expect(200)).body as Record<string, unknown>;
    expect(await schedule()).toMatchObject({
      name: 'nightly echo',
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      payload: { orderId: 'N-1' },
      enabled: true,
    });
    await page.getByText('Next firing').waitFor();
    expect(await driver.seriousViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByTestId('schedule-state').getByText('paused').waitFor();
    expect(await schedule()).toMatchObject({ enabled: false, nextFireAt: null });
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByTestId('schedule-state').getByText('active').waitFor();
    const resumed = await schedule();
    expect(resumed.enabled).toBe(true);
    expect(resumed.nextFireAt).not.toBeNull();

    await page.getByRole('button', { name: 'Trigger now' }).click();
    const triggered = page.getByRole('status').getByRole('link', { name: /^job / });
    await triggered.waitFor();
    const jobId = UUID.exec((await triggered.getAttribute('href')) ?? '')![0];
    const job = await waitFor(
      async () =>
        (await t.http().get(`/jobs/${jobId}`).set(admin).expect(200)).body as Record<string, unknown>,
      (found) => found.status === 'succeeded',
    );
    expect(job).toMatchObject({ type: 'test.echo', payload: { orderId: 'N-1' } });

    await page.getByRole('link', { name: '← All schedules' }).click();
    const row = page.getByRole('row').filter({ has: page.locator(`a[href="/ui/schedules/${id}"]`) });
    await row.getByText('0 3 * * *').waitFor();
    expect(await row.getByRole('cell', { name: 'active', exact: true }).count()).toBe(1);
    expect(await driver.seriousViolations(page)).toEqual([]);
    await context.close();
  }, 90_000);

  it('shows an operator replay, send, pause and trigger, but no route or schedule form', async () => {
    const routeId = await createRoute('operator route', 'operator.seen');
    const { body: schedule } = await t
      .http()
      .post('/schedules')
      .set(admin)
      .send({ name: 'operator schedule', cron: '0 5 * * *', timezone: 'UTC', jobType: 'test.echo' })
      .expect(201);
    const operatorKey = (await keyWithRole(t, 'operator')).Authorization.slice('Bearer '.length);
    const { context, page } = await driver.signedIn(operatorKey);
    const buttons = async () => (await page.locator('main').getByRole('button').allTextContents()).sort();

    await page.goto('/ui/events');
    await page.getByLabel('Event name').fill('operator.seen');
    await page.getByRole('button', { name: 'Send event' }).click();
    await page.getByRole('status').getByText('1 job started').waitFor();
    await page
      .getByRole('status')
      .getByRole('link', { name: /^event / })
      .click();
    await page.getByRole('button', { name: 'Replay' }).waitFor();

    await page.goto(`/ui/routes/${routeId}`);
    await page.getByRole('heading', { name: 'Payload template' }).waitFor();
    expect(await buttons()).toEqual([]);
    await page.goto('/ui/routes/new');
    await page.getByText('Only admins add routes.').waitFor();
    expect(await page.getByRole('textbox').count()).toBe(0);

    await page.goto(`/ui/schedules/${schedule.id}`);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByTestId('schedule-state').getByText('paused').waitFor();
    expect(await buttons()).toEqual(['Resume', 'Trigger now']);
    expect(await page.getByRole('textbox').count()).toBe(0);
    const { body: paused } = await t.http().get(`/schedules/${schedule.id}`).set(admin).expect(200);
    expect(paused.enabled).toBe(false);
    await context.close();
  }, 90_000);

  it('shows a viewer none of the write buttons on these pages', async () => {
    const routeId = await createRoute('viewer route', 'viewer.seen');
    const { body: sent } = await t
      .http()
      .post('/events')
      .set(admin)
      .send({ name: 'viewer.seen', source: 'shop', data: { orderId: 'V-1' } })
      .expect(202);
    const { body: schedule } = await t
      .http()
      .post('/schedules')
      .set(admin)
      .send({ name: 'viewer schedule', cron: '0 4 * * *', timezone: 'UTC', jobType: 'test.echo' })
      .expect(201);
    const viewerKey = (await keyWithRole(t, 'viewer')).Authorization.slice('Bearer '.length);
    const { context, page } = await driver.signedIn(viewerKey);
    /** Every button in the page's main part: only filters and paging may be there for a viewer. */
    const buttons = async () => (await page.locator('main').getByRole('button').allTextContents()).sort();

    await page.goto('/ui/events');
    await page.locator(`a[href="/ui/events/${sent.eventId}"]`).waitFor();
    expect(await buttons()).toEqual(['Filter']);
    expect(await page.getByRole('heading', { name: 'Send a test event' }).count()).toBe(0);
    expect(await driver.seriousViolations(page)).toEqual([]);

    await page.goto(`/ui/events/${sent.eventId}`);
    await page.getByRole('heading', { name: 'Jobs it started' }).waitFor();
    expect(await buttons()).toEqual([]);
    expect(await driver.seriousViolations(page)).toEqual([]);

    await page.goto('/ui/routes');
    await page.locator(`a[href="/ui/routes/${routeId}"]`).waitFor();
    expect(await page.getByRole('link', { name: 'New route' }).count()).toBe(0);
    expect(await buttons()).toEqual([]);
    expect(await driver.seriousViolations(page)).toEqual([]);

    await page.goto(`/ui/routes/${routeId}`);
    await page.getByRole('heading', { name: 'Payload template' }).waitFor();
    expect(await buttons()).toEqual([]);
    expect(await page.getByRole('textbox').count()).toBe(0);
    expect(await driver.seriousViolations(page)).toEqual([]);

    await page.goto('/ui/schedules');
    await page.locator(`a[href="/ui/schedules/${schedule.id}"]`).waitFor();
    expect(await page.getByRole('link', { name: 'New schedule' }).count()).toBe(0);
    expect(await buttons()).toEqual([]);

    await page.goto(`/ui/schedules/${schedule.id}`);
    await page.getByTestId('schedule-state').waitFor();
    expect(await buttons()).toEqual([]);
    expect(await page.getByRole('textbox').count()).toBe(0);
    expect(await driver.seriousViolations(page)).toEqual([]);

    // The API refuses the viewer anyway.
    const status = await page.evaluate(async (id) => {
      const response = await fetch(`/schedules/${id}/trigger`, {
        method: 'POST',
        headers: { 'X-Junction-Request': '1' },
      });
      return response.status;
    }, schedule.id as string);
    expect(status).toBe(403);
    await context.close();
  }, 90_000);
});
