// The dashboard in a real browser (headless Chromium) against the real `sibyl demo`: the page
// loads cleanly, shows the demo's backends, updates live, and its Drain button drains a backend as
// the admin API reports it. Then the bearer-token flow against `sibyl serve` with [admin] token.
// Leaves a screenshot in test-results/dashboard.png (and docs/dashboard.png, see screenshot test).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { httpToml } from '../helpers/http-fixture.ts';
import { findExecutable, skipUnlessTool } from '../helpers/requires-tool.ts';
import { backendView } from '../helpers/sibyl-control.ts';
import { eventually, SIBYL_BIN, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

const CHROMIUM = findExecutable('chromium', 'chromium-browser', '/usr/bin/chromium');
const skip = skipUnlessTool('Chromium', CHROMIUM);
const RESULTS_DIR = new URL('../../test-results/', import.meta.url);
const DOCS_SCREENSHOT = new URL('../../docs/dashboard.png', import.meta.url);

interface Demo {
  readonly adminUrl: string;
  stop(): Promise<void>;
}

/** `sibyl demo` on free ports; resolves once it printed its dashboard URL. */
async function startDemo(): Promise<Demo> {
  // --duration-seconds: a demo this test failed to stop still ends by itself
  const proc: ChildProcess = spawn(process.execPath, [SIBYL_BIN, 'demo', '--duration-seconds', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const adminUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no dashboard URL within 20 s:\n${output}`)), 20_000);
    proc.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      const url = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1];
      if (url !== undefined) resolve(url);
    });
    void exited.then(() => reject(new Error(`the demo exited early:\n${output}`)));
    void exited.finally(() => clearTimeout(timer));
  }).catch((err: unknown) => {
    proc.kill('SIGKILL');
    throw err;
  });
  return {
    adminUrl,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGINT');
      const hard = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(hard);
    },
  };
}

/** A page that records every console error and uncaught exception. */
async function openPage(context: BrowserContext): Promise<{ page: Page; consoleErrors: string[]; pageErrors: string[] }> {
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && consoleErrors.push(m.text())));
  page.on('pageerror', (e) => void pageErrors.push(e.message));
  return { page, consoleErrors, pageErrors };
}

const text = async (page: Page, selector: string): Promise<string> => (await page.locator(selector).first().textContent()) ?? '';
const rowNames = (page: Page): Promise<string[]> => page.locator('#backends tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { backend: string } }).dataset.backend));

describe('dashboard in Chromium', { skip, timeout: 150_000 }, () => {
  let browser: Browser;

  before(async () => {
    // Chromium refuses to start its sandbox as root (containers, CI sandboxes)
    const isRoot = process.getuid?.() === 0;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: isRoot ? ['--no-sandbox'] : [], timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
  });

  describe('against `sibyl demo`', () => {
    let demo: Demo;
    let context: BrowserContext;
    let page: Page;
    let consoleErrors: string[];
    let pageErrors: string[];

    before(async () => {
      demo = await startDemo();
      context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      ({ page, consoleErrors, pageErrors } = await openPage(context));
    });
    after(async () => {
      await context?.close();
      await demo?.stop();
    });

    test('the page loads without console errors and lists the demo backends', async () => {
      const res = await page.goto(`${demo.adminUrl}/`);
      assert.equal(res?.status(), 200);
      assert.equal(await page.title(), 'Sibyl');
      // the default pool's three, then the canary pool's backend the demo rolls out
      await eventually(async () => (await rowNames(page)).length === 4, 10_000);
      assert.deepEqual(await rowNames(page), ['alpha', 'beta', 'gamma-flaky', 'delta-v2']);
      assert.match(await text(page, '#connection'), /^live/);
      assert.match(await text(page, '#generation'), /^1$/);
      assert.match(await text(page, 'tr[data-backend="alpha"] .col-state'), /healthy|slow start/);
      assert.deepEqual(consoleErrors, []);
      assert.deepEqual(pageErrors, []);
    });

    test('figures and charts update live', async () => {
      const firstCount = await text(page, '#kpi-requests');
      const firstChart = await page.locator('#chart-requests canvas').screenshot();
      await eventually(async () => (await text(page, '#kpi-requests')) !== firstCount, 10_000);
      // a rate needs two snapshots; the demo sends ~40 requests per second
      await eventually(async () => Number(await text(page, '#kpi-rps')) > 5, 15_000);
      await eventually(async () => /\d ms \/ \d+(\.\d)? ms/.test(await text(page, '#kpi-latency')), 15_000);
      await eventually(async () => !(await page.locator('#chart-requests canvas').screenshot()).equals(firstChart), 10_000);
      // the model needs labels (the retry window is 2 s) before it has an AUC
      await eventually(async () => /^(0\.\d{3}|1\.000)$/.test(await text(page, '#kpi-auc')), 30_000);
      assert.match(await text(page, '#model-meta'), /labels learned/);
    });

    test('a Drain click drains the backend (GET /api/backends says so); Undrain restores it', async () => {
      const button = page.locator('tr[data-backend="beta"] button');
      assert.equal(await button.textContent(), 'Drain');
      assert.equal((await backendView(demo.adminUrl, 'beta'))?.isDraining, false);
      await button.click();
      await eventually(async () => (await backendView(demo.adminUrl, 'beta'))?.isDraining === true, 5000);
      await eventually(async () => (await text(page, 'tr[data-backend="beta"] .col-state')) === 'draining', 5000);
      assert.equal(await button.textContent(), 'Undrain');
      await eventually(async () => (await text(page, '#events')).includes('beta drained'), 5000);
      assert.equal((await backendView(demo.adminUrl, 'alpha'))?.isDraining, false, 'only the clicked backend');

      await button.click();
      await eventually(async () => (await backendView(demo.adminUrl, 'beta'))?.isDraining === false, 5000);
      await eventually(async () => (await button.textContent()) === 'Drain', 5000);
    });

    test('a screenshot is saved once the charts have some history', async () => {
      // ~20 s of traffic at ~40 requests per second
      await eventually(async () => Number((await text(page, '#kpi-requests')).replace(/\D/g, '')) > 800, 40_000, 250);
      mkdirSync(RESULTS_DIR, { recursive: true });
      const png = await page.screenshot({ fullPage: true });
      assert.ok(png.length > 20_000, `a real picture (${png.length} bytes)`);
      writeFileSync(new URL('dashboard.png', RESULTS_DIR), png);
      // the README's copy changes only on request, so a test run leaves the working tree clean
      if (!existsSync(DOCS_SCREENSHOT) || process.env.SIBYL_UPDATE_SCREENSHOTS === '1') writeFileSync(DOCS_SCREENSHOT, png);
    });

    test('no console error or uncaught exception during the whole session', () => {
      assert.deepEqual(consoleErrors, []);
      assert.deepEqual(pageErrors, []);
    });
  });

  describe('with [admin] token', () => {
    const TOKEN = 's3cret-token';
    let backend: TestBackend;
    let sibyl: SibylProcess;
    let context: BrowserContext;

    before(async () => {
      backend = await startTestBackend('only');
      sibyl = await startSibyl(httpToml({ admin: `token = "${TOKEN}"`, backends: backendsToml([backend]) }));
      context = await browser.newContext();
    });
    after(async () => {
      await context?.close();
      await sibyl?.stop();
      await backend?.close();
    });

    test('the page is open but holds no data; its API needs the token', async () => {
      const page = await request(`${sibyl.adminUrl}/`);
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
      assert.doesNotMatch(await page.body.text(), /127\.0\.0\.1/);
      const refused = await request(`${sibyl.adminUrl}/api/dashboard`);
      await refused.body.dump();
      assert.equal(refused.statusCode, 401);
      const allowed = await request(`${sibyl.adminUrl}/api/dashboard`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(allowed.statusCode, 200);
      assert.deepEqual(((await allowed.body.json()) as { backends: { name: string }[] }).backends.map((b) => b.name), ['only']);
    });

    test('the page asks for the token, refuses a wrong one, and works with the right one', async () => {
      const { page, pageErrors } = await openPage(context);
      await page.goto(`${sibyl.adminUrl}/`);
      await page.locator('#token-form').waitFor({ state: 'visible', timeout: 10_000 });
      assert.deepEqual(await rowNames(page), []);
      await page.fill('#token-input', 'wrong');
      await page.click('#token-form button[type=submit]');
      await eventually(async () => (await text(page, '#token-reason')).includes('refused'), 5000);
      await page.fill('#token-input', TOKEN);
      await page.click('#token-form button[type=submit]');
      await eventually(async () => (await rowNames(page)).includes('only'), 10_000);
      assert.equal(await page.locator('#token-form').isHidden(), true);
      assert.equal(await page.evaluate('sessionStorage.getItem("sibyl.adminToken")'), TOKEN);
      // a reload in the same tab keeps working without asking again
      await page.reload();
      await eventually(async () => (await rowNames(page)).includes('only'), 10_000);
      assert.equal(await page.locator('#token-form').isHidden(), true);
      assert.deepEqual(pageErrors, []);
      await page.close();
    });

    test('a token in the URL fragment is taken and removed from the address bar', async () => {
      const fresh = await browser.newContext();
      try {
        const { page, pageErrors } = await openPage(fresh);
        await page.goto(`${sibyl.adminUrl}/#token=${TOKEN}`);
        await eventually(async () => (await rowNames(page)).includes('only'), 10_000);
        assert.equal(await page.evaluate('location.hash'), '');
        assert.deepEqual(pageErrors, []);
      } finally {
        await fresh.close();
      }
    });
  });
});
