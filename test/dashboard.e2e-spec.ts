import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { gzippedScriptBytes, UI_JS_BUDGET_BYTES } from '../scripts/ui-size.js';
import { LiveStreamService } from '../src/modules/console/live-stream.service.js';
import { describeInBrowser, driveDashboard } from './support/browser.js';
import type { DashboardDriver, PageGlobals } from './support/browser.js';
import { ADMIN_KEY, bearer, keyWithRole, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestJobsModule } from './support/test-jobs.module.js';
import { waitFor } from './support/wait-for.js';

describeInBrowser('the dashboard in a browser', () => {
  let t: TestApp;
  let browser: Browser;
  let signedIn: DashboardDriver['signedIn'];
  let seriousViolations: DashboardDriver['seriousViolations'];
  let driver: DashboardDriver;

  beforeAll(async () => {
    t = await startTestApp({ features: [TestJobsModule] });
    driver = await driveDashboard(t);
    ({ browser, signedIn, seriousViolations } = driver);
  }, 60_000);
  afterAll(async () => {
    await driver?.close();
    await t?.close();
  });

  /** A job of test.flow that dies on its first and only attempt, and succeeds when retried. */
  async function deadJob(): Promise<string> {
    const { body: job } = await t
      .http()
      .post('/jobs')
      .set(bearer(ADMIN_KEY))
      .send({ type: 'test.flow', payload: { name: 'shop' }, maxAttempts: 1 })
      .expect(201);
    await waitFor(
      async () =>
        (await t.http().get(`/jobs/${job.id}`).set(bearer(ADMIN_KEY)).expect(200)).body.status as string,
      (status) => status === 'dead',
    );
    return job.id as string;
  }

  it('signs in with a key that the browser does not keep, into an HttpOnly SameSite=Strict cookie', async () => {
    const context = await browser.newContext({ baseURL: driver.base });
    const page = await context.newPage();
    await page.goto('/ui/sign-in');
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByLabel('API key').fill(ADMIN_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const storage = await page.evaluate(() => {
      const inPage = globalThis as unknown as PageGlobals;
      return {
        local: JSON.stringify({ ...inPage.localStorage }),
        session: JSON.stringify({ ...inPage.sessionStorage }),
        cookie: inPage.document.cookie,
      };
    });
    expect(storage).toEqual({ local: '{}', session: '{}', cookie: '' });
    const cookies = await context.cookies();
    expect(cookies).toEqual([
      expect.objectContaining({ name: 'junction_session', httpOnly: true, sameSite: 'Strict', path: '/' }),
    ]);
    expect(cookies[0].value).not.toContain(ADMIN_KEY);
    await context.close();
  }, 60_000);

  it('shows a wrong key readably', async () => {
    const context = await browser.newContext({ baseURL: driver.base });
    const page = await context.newPage();
    await page.goto('/ui/sign-in');
    await page.getByLabel('API key').fill('jk_not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('invalid API key (401');
    await context.close();
  }, 60_000);

  it('retries a dead job from the overview and its page, and the job succeeds', async () => {
    const id = await deadJob();
    const { context, page } = await signedIn(ADMIN_KEY);
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('link', { name: /dead job/ }).click();
    await page.waitForURL(/\/ui\/jobs\?status=dead/);
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
    await page.getByRole('link', { name: id.slice(0, 8) }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('link', { name: id.slice(0, 8) }).click();
    await page.waitForURL(`**/ui/jobs/${id}`);
    await expect(page.getByTestId('job-status').textContent()).resolves.toBe('dead');
    await page.getByText('storing details failed').first().waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByTestId('job-status').getByText('succeeded').waitFor({ timeout: 15_000 });
    await page.getByText('store-details').waitFor();
    const { body } = await t.http().get(`/jobs/${id}`).set(bearer(ADMIN_KEY)).expect(200);
    expect(body.status).toBe('succeeded');
    await context.close();
  }, 60_000);

  it('moves a job page live, says when the stream drops, reconnects, and still works', async () => {
    const id = await deadJob();
    const { context, page } = await signedIn(ADMIN_KEY);
    await page.getByTestId('live-state').getByText('Live', { exact: true }).waitFor();
    await page.goto(`/ui/jobs/${id}`);
    await page.getByTestId('live-state').getByText('Live', { exact: true }).waitFor();
    await expect(page.getByTestId('job-status').textContent()).resolves.toBe('dead');

    // The server ends every stream, as a proxy or a restart would cut them.
    t.app.get(LiveStreamService).endAll();
    await page.getByTestId('live-state').getByText('reconnecting').waitFor();
    await page.getByTestId('live-state').getByText('Live', { exact: true }).waitFor({ timeout: 10_000 });

    // Retried through the API, not the page: only the stream can tell the page, without a reload.
    await t.http().post(`/jobs/${id}/retry`).set(bearer(ADMIN_KEY)).expect(200);
    await page.getByTestId('job-status').getByText('succeeded').waitFor({ timeout: 15_000 });
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  }, 60_000);

  it('opens a deep link directly, after signing in', async () => {
    const id = await deadJob();
    const context = await browser.newContext({ baseURL: driver.base });
    const page = await context.newPage();
    await page.goto(`/ui/jobs/${id}`);
    await page.waitForURL(/\/ui\/sign-in\?next=/);
    await page.getByLabel('API key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`**/ui/jobs/${id}`);
    await expect(page.getByTestId('job-status').textContent()).resolves.toBe('dead');
    await context.close();
  }, 60_000);

  it('retries every dead job matching the filter at once, from the Jobs page', async () => {
    const ids = [await deadJob(), await deadJob()];
    const { context, page } = await signedIn(ADMIN_KEY);
    await page.goto('/ui/jobs?status=dead&type=test.flow');
    await page.locator(`a[href="/ui/jobs/${ids[0]}"]`).waitFor();
    await page.getByRole('button', { name: 'Retry every dead job matching' }).click();
    await page
      .getByRole('status')
      .getByText(/jobs? queued to run again/)
      .waitFor();
    for (const id of ids) {
      await waitFor(
        async () =>
          (await t.http().get(`/jobs/${id}`).set(bearer(ADMIN_KEY)).expect(200)).body.status as string,
        (status) => status === 'succeeded',
      );
    }
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  }, 60_000);

  it('filters jobs by creation time, from the form and the URL, and bulk retry keeps the time filter', async () => {
    const older = await deadJob();
    const { body: olderJob } = await t.http().get(`/jobs/${older}`).set(bearer(ADMIN_KEY)).expect(200);
    const since = new Date(new Date(olderJob.createdAt as string).getTime() + 1).toISOString();
    const newer = await deadJob();
    const { context, page } = await signedIn(ADMIN_KEY);

    await page.goto(`/ui/jobs?status=dead&type=test.flow&from=${encodeURIComponent(since)}`);
    await page.locator(`a[href="/ui/jobs/${newer}"]`).waitFor();
    expect(await page.locator(`a[href="/ui/jobs/${older}"]`).count()).toBe(0);
    expect(await page.getByLabel('Created from').inputValue()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);

    await page.getByRole('button', { name: 'Retry every dead job matching' }).click();
    await page.getByRole('status').getByText('1 job queued to run again').waitFor();
    await waitFor(
      async () =>
        (await t.http().get(`/jobs/${newer}`).set(bearer(ADMIN_KEY)).expect(200)).body.status as string,
      (status) => status === 'succeeded',
    );
    const { body: stillDead } = await t.http().get(`/jobs/${older}`).set(bearer(ADMIN_KEY)).expect(200);
    expect(stillDead.status).toBe('dead');

    // From the form: nothing was created before 2020.
    await page.goto('/ui/jobs?status=dead');
    await page.locator(`a[href="/ui/jobs/${older}"]`).waitFor();
    await page.getByLabel('Created before').fill('2020-01-01T00:00');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/to=2019-12-3|to=2020-01-01/);
    await page.getByText('No job matches.').waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows a viewer no retry button, and the API refuses the viewer anyway', async () => {
    const id = await deadJob();
    const viewerKey = (await keyWithRole(t, 'viewer')).Authorization.slice('Bearer '.length);
    const { context, page } = await signedIn(viewerKey);
    await page.goto(`/ui/jobs/${id}`);
    await expect(page.getByTestId('job-status').textContent()).resolves.toBe('dead');
    expect(await page.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    await page.goto('/ui/jobs?status=dead');
    await page.locator(`a[href="/ui/jobs/${id}"]`).waitFor();
    expect(await page.getByRole('button', { name: /Retry every/ }).count()).toBe(0);
    const status = await page.evaluate(async (jobId) => {
      const response = await fetch(`/jobs/${jobId}/retry`, {
        method: 'POST',
        headers: { 'X-Junction-Request': '1' },
      });
      return response.status;
    }, id);
    expect(status).toBe(403);
    await context.close();
  }, 60_000);

  it('signs out and revokes the session: the old cookie is refused', async () => {
    const { context, page } = await signedIn(ADMIN_KEY);
    const [cookie] = await context.cookies();
    await t.http().get('/session').set('Cookie', `${cookie.name}=${cookie.value}`).expect(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/ui\/sign-in/);
    expect(await context.cookies()).toEqual([]);
    await t.http().get('/session').set('Cookie', `${cookie.name}=${cookie.value}`).expect(401);
    await context.close();
  }, 60_000);
});

describe('the dashboard build', () => {
  it('keeps its JavaScript under 300 KB gzipped', () => {
    const bytes = gzippedScriptBytes(join(process.cwd(), 'dist', 'ui'));
    console.log(`dashboard JavaScript: ${(bytes / 1024).toFixed(1)} KB gzipped`);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(UI_JS_BUDGET_BYTES);
  });
});
