import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type Browser } from 'playwright-core';
import { startTestService, type TestService } from './harness.js';

/** Debian's chromium (`apt-get install chromium`); never a downloaded browser. */
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`${CHROMIUM} is missing: .ci/run installs the Debian chromium package`);
}
if (!haveChromium) {
  process.stderr.write(
    `[api-docs] ${CHROMIUM} not installed (apt-get install chromium): browser test skipped\n`,
  );
}

// The reference page as a person sees it: a real browser loads /docs under its CSP and renders
// every operation of /openapi.json from the service's own assets, with no script error.
(haveChromium ? describe : describe.skip)('/docs in a real browser (Debian chromium)', () => {
  let s: TestService;
  let browser: Browser;
  beforeAll(async () => {
    s = await startTestService();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('renders one entry per operation, loads nothing from another origin and breaks no CSP rule', async () => {
    const doc = (await s.call('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    const page = await browser.newPage();
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(s.url) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    await page.goto(`${s.url}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 20_000 });
    expect(await page.locator('.opblock').count()).toBe(operations);
    expect(await page.locator('.opblock-post [data-path="/v1/tenants/{tenantId}/decrypt"]').count()).toBe(1);
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });
});
