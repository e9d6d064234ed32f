import type { Page } from 'playwright-core';
import { ProjectRecordsService } from '../src/modules/projects/project-records.service.js';
import type { BuildStatus } from '../src/modules/providers/project-provider.js';
import { FakeFastly } from './fakes/fastly.js';
import { describeInBrowser, driveDashboard } from './support/browser.js';
import type { DashboardDriver } from './support/browser.js';
import { ADMIN_KEY, bearer, keyWithRole, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';
import { seedWarehouse } from './support/warehouse.js';

const admin = bearer(ADMIN_KEY);
const FASTLY_TOKEN = 'fastly-dashboard-token-0123456789abcdef';

interface RequestBody {
  id: string;
  status: string;
  reservations: { goodsId: string }[];
}

/** The cells after the header cell of the row of `table` whose name starts with `rowName`. */
async function cellsOf(page: Page, table: string | RegExp, rowName: string): Promise<string[]> {
  const row = page.getByRole('table', { name: table }).getByRole('row', { name: new RegExp(`^${rowName}`) });
  await row.waitFor();
  return row.getByRole('cell').allTextContents();
}

describeInBrowser('the dashboard: reservations, projects and services', () => {
  let t: TestApp;
  let driver: DashboardDriver;
  let fastly: FakeFastly;
  let serial = 0;

  beforeAll(async () => {
    fastly = await new FakeFastly(FASTLY_TOKEN).start();
    // No planner role: reserved requests stay reserved, and planned arrivals stay planned, for the pages to show.
    t = await startTestApp({ env: { JUNCTION_ROLES: 'api,worker,scheduler,reserver' } });
    driver = await driveDashboard(t);
  }, 60_000);
  afterAll(async () => {
    await driver?.close();
    await t?.close();
    await fastly?.stop();
  });

  const post = async (path: string, body: object, status = 201) =>
    (await t.http().post(path).set(admin).send(body).expect(status)).body as Record<string, unknown>;
  const requestBody = async (id: string) =>
    (await t.http().get(`/reservation-requests/${id}`).set(admin).expect(200)).body as RequestBody;
  const connect = async (provider: string, config: object, credentials: object) =>
    (await post('/connections', { provider, name: `${provider}-${++serial}`, config, credentials }))
      .id as string;

  describe('reservations', () => {
    let reservedId: string;
    let pendingId: string;
    let arrivalId: string;

    beforeAll(async () => {
      await seedWarehouse(t, {
        goodsTypes: ['bolt', 'gear', 'washer'],
        locations: ['depot', { code: 'depot.a', parent: 'depot' }, 'yard'],
        goods: [
          { goodsType: 'bolt', location: 'depot.a', count: 5 },
          { goodsType: 'bolt', location: 'yard', count: 1 },
        ],
      });
      const arrivals = await post('/arrivals', {
        location: 'depot',
        dtExecution: new Date(Date.now() + 86_400_000).toISOString(),
        goods: [{ goodsType: 'washer', count: 2 }],
      });
      arrivalId = (arrivals.operations as { id: string }[])[0].id;
      reservedId = (
        await post('/reservation-requests', {
          purpose: { type: 'sale' },
          items: [{ goodsType: 'bolt', quantity: 3 }],
        })
      ).id as string;
      // No gear exists: this one waits.
      pendingId = (
        await post('/reservation-requests', {
          purpose: { type: 'sale' },
          items: [{ goodsType: 'gear', quantity: 1 }],
        })
      ).id as string;
      await waitFor(
        () => requestBody(reservedId),
        (request) => request.status === 'reserved',
      );
    });

    it('shows the stock per goods type, everywhere and at a location chosen in the URL', async () => {
      const { context, page } = await driver.signedIn(ADMIN_KEY);
      await page.getByRole('link', { name: 'Reservations', exact: true }).click();
      await page.waitForURL('**/ui/reservations');
      await page.getByRole('heading', { name: 'Stock' }).waitFor();
      await waitFor(
        () => cellsOf(page, /^Goods at/, 'bolt'),
        (cells) => cells.join(' ') === '6 0 3',
      );
      expect(await cellsOf(page, /^Goods at/, 'washer')).toEqual(['0', '2', '0']);
      expect(await cellsOf(page, /^Goods at/, 'gear')).toEqual(['0', '0', '0']);
      expect(await driver.seriousViolations(page)).toEqual([]);

      await page.getByLabel('Location', { exact: true }).selectOption('depot');
      await page
        .getByRole('form', { name: 'Stock at a location' })
        .getByRole('button', { name: 'Show' })
        .click();
      await page.waitForURL('**/ui/reservations?location=depot');
      await page.getByRole('table', { name: /Goods at depot/ }).waitFor();
      // depot.a is inside depot; the bolt in the yard is not.
      await waitFor(
        () => cellsOf(page, /^Goods at/, 'bolt'),
        (cells) => cells[0] === '5',
      );
      const stock = (await t.http().get('/stock').query({ goodsType: 'bolt', location: 'depot' }).set(admin))
        .body as { present: number; reserved: number };
      expect(await cellsOf(page, /^Goods at/, 'bolt')).toEqual([
        String(stock.present),
        '0',
        String(stock.reserved),
      ]);
      expect(await cellsOf(page, /^Goods at/, 'washer')).toEqual(['0', '2', '0']);
      await context.close();
    }, 60_000);

    it('lists requests by status, shows a request’s reservations, and cancels it', async () => {
      const { context, page } = await driver.signedIn(ADMIN_KEY);
      await page.goto('/ui/reservations');
      await page.getByLabel('Status', { exact: true }).selectOption('reserved');
      await page.getByRole('form', { name: 'Filter requests' }).getByRole('button', { name: 'Show' }).click();
      await page.waitForURL('**/ui/reservations?status=reserved');
      // Read until the filtered list has replaced the one shown before it, which held both.
      await waitFor(
        async () => ({
          reserved: await page.locator(`a[href="/ui/reservations/requests/${reservedId}"]`).count(),
          pending: await page.locator(`a[href="/ui/reservations/requests/${pendingId}"]`).count(),
        }),
        (links) => links.reserved === 1 && links.pending === 0,
      );
      await page.locator(`a[href="/ui/reservations/requests/${reservedId}"]`).click();
      await page.waitForURL(`**/ui/reservations/requests/${reservedId}`);
      await expect(page.getByTestId('request-status').textContent()).resolves.toBe('reserved');

      const reservations = page.getByRole('table', { name: 'The goods promised to the request now' });
      await reservations.waitFor();
      const { reservations: promised } = await requestBody(reservedId);
      expect(promised).toHaveLength(3);
      for (const { goodsId } of promised) {
        expect(
          await reservations.getByRole('row', { name: goodsId }).getByRole('cell').allTextContents(),
        ).toEqual(['bolt', '1', expect.any(String)]);
      }
      expect(await cellsOf(page, /^What the request asks for/, 'bolt')).toEqual(['3', '3', '—']);
      expect(await driver.seriousViolations(page)).toEqual([]);

      await page.getByRole('button', { name: 'Cancel request' }).click();
      await page.getByTestId('request-status').getByText('cancelled').waitFor();
      expect(await page.getByRole('button', { name: 'Cancel request' }).count()).toBe(0);
      const cancelled = await requestBody(reservedId);
      expect(cancelled).toMatchObject({ status: 'cancelled', reservations: [] });
      await page.getByText('No goods are reserved for it.').waitFor();
      await context.close();
    }, 60_000);

    it('lists operations by state and cancels a planned arrival from its page', async () => {
      const { context, page } = await driver.signedIn(ADMIN_KEY);
      await page.goto('/ui/reservations');
      await page
        .getByRole('navigation', { name: 'Reservations' })
        .getByRole('link', { name: 'Operations' })
        .click();
      await page.waitForURL('**/ui/reservations/operations');
      await page.getByLabel('State', { exact: true }).selectOption('planned');
      await page.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL('**/ui/reservations/operations?state=planned');
      const link = page.locator(`a[href="/ui/reservations/operations/${arrivalId}"]`);
      await link.waitFor();
      expect(await driver.seriousViolations(page)).toEqual([]);
      await link.click();
      await page.waitForURL(`**/ui/reservations/operations/${arrivalId}`);
      await expect(page.getByTestId('operation-state').textContent()).resolves.toBe('planned');
      await page.getByText('None: an arrival brings the object in.').waitFor();
      expect(await driver.seriousViolations(page)).toEqual([]);

      await page.getByRole('button', { name: 'Cancel operation' }).click();
      await page.getByTestId('operation-state').getByText('cancelled').waitFor();
      const { body } = await t.http().get(`/operations/${arrivalId}`).set(admin).expect(200);
      expect(body).toMatchObject({ state: 'cancelled' });
      await context.close();
    }, 60_000);

    it('shows a viewer no cancel button, and the API refuses the viewer anyway', async () => {
      const viewerKey = (await keyWithRole(t, 'viewer')).Authorization.slice('Bearer '.length);
      const { context, page } = await driver.signedIn(viewerKey);
      await page.goto(`/ui/reservations/requests/${pendingId}`);
      await expect(page.getByTestId('request-status').textContent()).resolves.toBe('pending');
      await page.getByRole('table', { name: /What the request asks for/ }).waitFor();
      expect(
        await page
          .getByRole('button')
          .filter({ hasText: /Cancel/ })
          .count(),
      ).toBe(0);

      const planned = (
        await post('/arrivals', {
          location: 'yard',
          dtExecution: new Date(Date.now() + 86_400_000).toISOString(),
          goods: [{ goodsType: 'washer' }],
        })
      ).operations as { id: string }[];
      await page.goto(`/ui/reservations/operations/${planned[0].id}`);
      await expect(page.getByTestId('operation-state').textContent()).resolves.toBe('planned');
      expect(
        await page
          .getByRole('button')
          .filter({ hasText: /Cancel/ })
          .count(),
      ).toBe(0);
      expect(await driver.seriousViolations(page)).toEqual([]);

      const status = await page.evaluate(async (id) => {
        const response = await fetch(`/reservation-requests/${id}/cancel`, {
          method: 'POST',
          headers: { 'X-Junction-Request': '1' },
        });
        return response.status;
      }, pendingId);
      expect(status).toBe(403);
      expect((await requestBody(pendingId)).status).toBe('pending');
      await context.close();
    }, 60_000);
  });

  describe('projects', () => {
    let projectId: string;
    let featureId: string;

    /** What GitHub, a planning tool and Jenkins would have written: a feature, its branches, their builds. */
    beforeAll(async () => {
      projectId = (await post('/projects', { name: 'Storefront' })).id as string;
      const github = await connect('github', {}, { type: 'none' });
      await t
        .http()
        .put(`/projects/${projectId}/providers/github`)
        .set(admin)
        .send({
          connectionId: github,
          repositories: ['acme/store'],
          branches: [{ pattern: '^feature/(?<feature>[A-Z]+-[0-9]+)', parent: 'develop' }],
        })
        .expect(200);
      const records = t.app.get(ProjectRecordsService);
      const feature = await records.upsertFeature(projectId, {
        provider: 'targetprocess',
        externalId: 'SHOP-7',
        type: 'story',
        title: 'Gift cards',
        state: 'In Progress',
      });
      featureId = feature.id;
      const repository = await records.upsertRepository(projectId, {
        provider: 'github',
        owner: 'acme',
        name: 'store',
      });
      const builds: [string, BuildStatus | null][] = [
        ['feature/SHOP-7-checkout', 'success'],
        ['feature/SHOP-7-payment', 'failure'],
        ['feature/SHOP-7-emails', 'running'],
        ['feature/SHOP-7-docs', null],
      ];
      await records.upsertBranch(projectId, repository.id, { name: 'develop', headSha: '0'.repeat(40) });
      let number = 0;
      for (const [name, status] of builds) {
        const headSha = `${++number}`.repeat(40).slice(0, 40);
        const branch = await records.upsertBranch(projectId, repository.id, { name, headSha });
        if (status === null) continue;
        // An older build first: the light shows the latest only.
        await records.upsertBuild(projectId, {
          provider: 'jenkins',
          job: 'store',
          number: number * 10,
          branchId: branch.id,
          revision: headSha,
          status: status === 'success' ? 'failure' : 'success',
        });
        await records.upsertBuild(projectId, {
          provider: 'jenkins',
          job: 'store',
          number: number * 10 + 1,
          branchId: branch.id,
          revision: headSha,
          status,
        });
      }
    });

    it('goes from the projects to a feature whose branches show their latest build as lights with words', async () => {
      const { context, page } = await driver.signedIn(ADMIN_KEY);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click();
      await page.waitForURL('**/ui/projects');
      await page.getByRole('link', { name: 'Storefront', exact: true }).waitFor();
      expect(await driver.seriousViolations(page)).toEqual([]);
      await page.getByRole('link', { name: 'Storefront', exact: true }).click();
      await page.waitForURL(`**/ui/projects/${projectId}`);
      await page.getByRole('heading', { name: 'Storefront' }).waitFor();
      expect(await cellsOf(page, /^Stories, bugs/, 'SHOP-7')).toEqual([
        'Gift cards',
        'story',
        'In Progress',
        '—',
        'targetprocess',
      ]);
      expect(await driver.seriousViolations(page)).toEqual([]);
      // Every branch, the develop branch linked to no feature too.
      expect(await cellsOf(page, /^Branches of/, 'develop')).toEqual([
        'acme/store',
        '—',
        'none',
        '0000000000',
      ]);
      expect((await cellsOf(page, /^Branches of/, 'feature/SHOP-7-payment')).slice(0, 3)).toEqual([
        'acme/store',
        'develop',
        'SHOP-7',
      ]);
      await page
        .getByRole('table', { name: /^Stories, bugs/ })
        .getByRole('link', { name: 'SHOP-7', exact: true })
        .focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(`**/ui/projects/${projectId}/features/${featureId}`);
      await page.getByRole('table', { name: 'acme/store (github)' }).waitFor();

      const light = async (branch: string) => {
        const cell = page
          .getByRole('row', { name: new RegExp(branch) })
          .getByRole('cell')
          .nth(2);
        const lamp = cell.locator('.light');
        return { text: await cell.textContent(), colour: await lamp.getAttribute('class') };
      };
      expect(await light('feature/SHOP-7-checkout')).toEqual({
        text: 'success store #11',
        colour: 'light light-green',
      });
      expect(await light('feature/SHOP-7-payment')).toEqual({
        text: 'failure store #21',
        colour: 'light light-red',
      });
      expect(await light('feature/SHOP-7-emails')).toEqual({
        text: 'running store #31',
        colour: 'light light-amber',
      });
      expect(await light('feature/SHOP-7-docs')).toEqual({ text: 'no build', colour: 'light light-grey' });
      expect(await driver.seriousViolations(page)).toEqual([]);

      // The same as the API says.
      const { body } = await t
        .http()
        .get(`/projects/${projectId}/features/${featureId}`)
        .set(admin)
        .expect(200);
      const latest = Object.fromEntries(
        (body.repositories[0].branches as { name: string; latestBuild: { status: string } | null }[]).map(
          (branch) => [branch.name, branch.latestBuild?.status ?? null],
        ),
      );
      expect(latest).toEqual({
        'feature/SHOP-7-checkout': 'success',
        'feature/SHOP-7-payment': 'failure',
        'feature/SHOP-7-emails': 'running',
        'feature/SHOP-7-docs': null,
      });
      await context.close();
    }, 60_000);
  });

  describe('services', () => {
    let projectId: string;
    let failedId: string;
    let deployedId: string;

    beforeAll(async () => {
      const fastlyConnection = await connect(
        'fastly',
        { apiBaseUrl: fastly.url },
        { type: 'bearer', token: FASTLY_TOKEN },
      );
      const mockCdn = await connect('mock-cdn', {}, { type: 'none' });
      const mockDns = await connect('mock-dns', {}, { type: 'none' });
      await post('/flavors', {
        id: 'fastly-and-mock',
        providers: [
          { provider: 'fastly', connectionId: fastlyConnection },
          { provider: 'mock-cdn', connectionId: mockCdn },
        ],
        dns: { provider: 'mock-dns', connectionId: mockDns },
      });
      projectId = (await post('/projects', { name: 'Web shop' })).id as string;
      const service = (name: string, domain: string) => ({
        name,
        flavorId: 'fastly-and-mock',
        domains: [{ domain, protocol: 'http' }],
        origins: [{ origin: 'origin.shop.example', port: 443, ssl: true }],
        caching: [{ name: 'default', ttl: 600 }],
      });
      deployedId = (
        await post(`/projects/${projectId}/services`, service('assets', 'assets.shop.example'), 202)
      ).id as string;
      await settled(deployedId);
      // Fastly refuses for good: that provider fails, the mock deploys.
      fastly.failAlways(400);
      failedId = (await post(`/projects/${projectId}/services`, service('images', 'img.shop.example'), 202))
        .id as string;
      await settled(failedId);
      fastly.heal();
    }, 60_000);

    const settled = (id: string) =>
      waitFor(
        async () =>
          (await t.http().get(`/projects/${projectId}/services/${id}`).set(admin).expect(200)).body as {
            status: string;
          },
        (found) => found.status === 'deployed' || found.status === 'failed',
        20_000,
      );

    it('lists a project’s services with each provider’s status', async () => {
      const { context, page } = await driver.signedIn(ADMIN_KEY);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Services' }).click();
      await page.waitForURL('**/ui/services');
      await page.getByText('Services belong to a project: choose one.').waitFor();
      expect(await driver.seriousViolations(page)).toEqual([]);
      // By keyboard alone: the select, then Tab to Show and Enter.
      await page.getByLabel('Project', { exact: true }).focus();
      await page.getByLabel('Project', { exact: true }).selectOption({ label: 'Web shop' });
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.waitForURL(`**/ui/services?project=${projectId}`);

      const images = page.getByRole('row', { name: /^images/ });
      await images.waitFor();
      const imagesCells = await images.getByRole('cell').allTextContents();
      expect(imagesCells.slice(0, 3)).toEqual(['fastly-and-mock', 'img.shop.example', 'failed']);
      const providers = images.getByRole('listitem');
      expect(await providers.nth(0).textContent()).toMatch(/^fastly: failed \(PERMANENT: /);
      expect(await providers.nth(1).textContent()).toMatch(/^mock-cdn: deployed at /);

      const assets = page.getByRole('row', { name: /^assets/ });
      expect((await assets.getByRole('cell').allTextContents()).slice(0, 3)).toEqual([
        'fastly-and-mock',
        'assets.shop.example',
        'deployed',
      ]);
      expect(await assets.getByRole('listitem').allTextContents()).toEqual([
        expect.stringMatching(/^fastly: deployed/),
        expect.stringMatching(/^mock-cdn: deployed/),
      ]);
      expect(await driver.seriousViolations(page)).toEqual([]);

      const { body } = await t
        .http()
        .get(`/projects/${projectId}/services/${failedId}`)
        .set(admin)
        .expect(200);
      expect(body).toMatchObject({
        status: 'failed',
        providerDetails: { fastly: { status: 'failed' }, 'mock-cdn': { status: 'deployed' } },
      });
      await page.getByRole('link', { name: 'images', exact: true }).click();
      await page.waitForURL(`**/ui/services/${projectId}/${failedId}`);
      await expect(page.getByTestId('service-status').textContent()).resolves.toBe('failed');
      const detailTable = /^Each provider’s part/;
      const fastlyCells = await cellsOf(page, detailTable, 'fastly');
      expect(fastlyCells[0]).toBe('failed');
      expect(fastlyCells[3]).toContain(`PERMANENT: ${body.providerDetails.fastly.errorInfo.message}`);
      const mockCells = await cellsOf(page, detailTable, 'mock-cdn');
      expect(mockCells.slice(0, 2)).toEqual(['deployed', body.providerDetails['mock-cdn'].providerServiceId]);
      expect(mockCells[2]).toContain('img.shop.example → ');
      expect(await driver.seriousViolations(page)).toEqual([]);
      await context.close();
    }, 60_000);

    it('shows a viewer who is a member only that project, its services, and no button to change them', async () => {
      const viewer = await keyWithRole(t, 'viewer');
      const { email } = (await t.http().get('/accounts/me').set(viewer).expect(200)).body as {
        email: string;
      };
      await post(`/projects/${projectId}/members`, { email });
      const { context, page } = await driver.signedIn(viewer.Authorization.slice('Bearer '.length));
      await page.goto('/ui/projects');
      await page.getByRole('link', { name: 'Web shop', exact: true }).waitFor();
      expect(await page.getByRole('link', { name: 'Storefront', exact: true }).count()).toBe(0);
      await page.getByRole('link', { name: 'Services of Web shop' }).click();
      await page.waitForURL(`**/ui/services?project=${projectId}`);
      await page.getByRole('link', { name: 'images', exact: true }).click();
      await page.waitForURL(`**/ui/services/${projectId}/${failedId}`);
      await expect(page.getByTestId('service-status').textContent()).resolves.toBe('failed');
      expect(await page.getByRole('main').getByRole('button').count()).toBe(0);
      await context.close();
    }, 60_000);
  });
});
