import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { TestApp } from './test-app.js';

/** Debian's chromium, which .ci/run installs with apt-get. */
export const CHROMIUM = '/usr/bin/chromium';
const IN_CI = process.env.CI === 'true';
// The machine's network is closed: without these chromium waits on services it cannot reach.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !IN_CI) {
  console.warn(`dashboard browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
}
/** `describe` where chromium is installed; in CI a missing browser fails the run instead of skipping it. */
export const describeInBrowser = haveChromium || IN_CI ? describe : describe.skip;

/** What the specs read of the page's globals; the test's own TypeScript has no DOM library. */
export interface PageGlobals {
  axe: { run: (context: unknown) => Promise<{ violations: unknown[] }> };
  document: { cookie: string };
  localStorage: Record<string, string>;
  sessionStorage: Record<string, string>;
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** A started test app listening on a port, and a headless chromium to drive its dashboard. */
export interface DashboardDriver {
  base: string;
  browser: Browser;
  /** A browser context of its own (cookies are not shared between the people a test plays), signed in. */
  signedIn(apiKey: string): Promise<{ context: BrowserContext; page: Page }>;
  /** Serious and critical accessibility violations axe-core finds on the page as it is now. */
  seriousViolations(page: Page): Promise<string[]>;
  close(): Promise<void>;
}

/** Makes the app listen on a free port and launches chromium against it. */
export async function driveDashboard(t: TestApp): Promise<DashboardDriver> {
  if (!haveChromium) throw new Error(`${CHROMIUM} is missing: .ci/run installs it with apt-get`);
  await t.app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  // launch() starts chromium with a fresh --user-data-dir of its own, removed on close.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const axeSource = readFileSync(join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

  return {
    base,
    browser,
    async signedIn(apiKey) {
      const context = await browser.newContext({ baseURL: base });
      const page = await context.newPage();
      await page.goto('/ui/');
      await page.waitForURL(/\/ui\/sign-in/);
      await page.getByLabel('API key').fill(apiKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      return { context, page };
    },
    async seriousViolations(page) {
      // Evaluated through the DevTools protocol, so the page's CSP (no inline script) does not apply.
      await page.evaluate(axeSource);
      const violations = await page.evaluate(async () => {
        // Runs in the page: only what is written inside this function exists there.
        const page = globalThis as unknown as PageGlobals;
        return (await page.axe.run(page.document)).violations;
      });
      return (violations as AxeViolation[])
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
    },
    close: () => browser.close(),
  };
}
