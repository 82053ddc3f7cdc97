// The progressive-delivery examples run: each file is served by the real binary with its listen
// ports set to 0, its backend addresses pointed at test backends and its state file in a temp dir,
// then driven through the admin calls docs/progressive-delivery.md shows.
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { adminJson } from '../helpers/sibyl-control.ts';
import { runSibyl } from '../helpers/sibyl-cli.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

const examples = new URL('../../examples/', import.meta.url);

/** Serves an example: one test backend per backend address in the file, named like the file's. */
async function serveExample(t: TestContext, file: string): Promise<{ sibyl: SibylProcess; backends: Map<string, TestBackend> }> {
  let text = await readFile(new URL(file, examples), 'utf8');
  text = text.replace(/^listen_address = ".*"/gm, 'listen_address = "127.0.0.1:0"');
  text = text.replace(/^state_file = ".*"/m, `state_file = "${join(await mkdtemp(join(tmpdir(), 'sibyl-example-')), 'state.json')}"`);
  const backends = new Map<string, TestBackend>();
  for (const match of text.matchAll(/name = "([^"]+)"\naddress = "(127\.0\.0\.1:\d+)"/g)) {
    const backend = await startTestBackend(match[1] ?? '');
    t.after(() => backend.close());
    backends.set(match[1] ?? '', backend);
    text = text.replace(`address = "${match[2]}"`, `address = "${backend.address}"`);
  }
  assert.ok(backends.size >= 2, `${file}: backends found`);
  const sibyl = await startSibyl(text);
  t.after(() => sibyl.stop());
  return { sibyl, backends };
}

async function servedBy(proxyUrl: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await request(`${proxyUrl}/`, { headers });
  await res.body.text();
  assert.equal(res.statusCode, 200);
  return String(res.headers['x-served-by']);
}

test('examples/canary.toml: the rollout starts at 10 %, testers reach v2, the rollout can be paused', async (t) => {
  const { sibyl } = await serveExample(t, 'canary.toml');
  const view = (await adminJson<{ phase: string; canaryPercent: number }>(sibyl.adminUrl, '/api/rollouts/checkout-v2')).body;
  assert.deepEqual([view.phase, view.canaryPercent], ['progressing', 10]);
  assert.equal(await servedBy(sibyl.proxyUrl, { 'x-canary': '1' }), 'v2-a');
  assert.equal((await adminJson<{ phase: string }>(sibyl.adminUrl, '/api/rollouts/checkout-v2/pause', 'POST')).body.phase, 'paused');
});

test('examples/blue-green.toml: the switch passes its smoke check and moves traffic to green', async (t) => {
  const { sibyl } = await serveExample(t, 'blue-green.toml');
  assert.match(await servedBy(sibyl.proxyUrl), /^blue-/);
  const switched = await adminJson<{ active: string }>(sibyl.adminUrl, '/api/blue-green/shop/switch', 'POST');
  assert.equal(switched.body.active, 'green', JSON.stringify(switched.body));
  assert.match(await servedBy(sibyl.proxyUrl), /^green-/);
  assert.equal((await adminJson<{ active: string }>(sibyl.adminUrl, '/api/blue-green/shop/switch-back', 'POST')).body.active, 'blue');
});

test('examples/shadow.toml: a share of the requests is copied and compared', async (t) => {
  const { sibyl, backends } = await serveExample(t, 'shadow.toml');
  for (let i = 0; i < 100; i++) assert.equal(await servedBy(sibyl.proxyUrl), 'current-a');
  const view = await eventually(async () => {
    const v = (await adminJson<{ shadows: { sent: number; match: number; diff: number }[] }>(sibyl.adminUrl, '/api/shadows')).body.shadows[0];
    return v !== undefined && v.sent > 0 && v.match + v.diff === v.sent ? v : undefined;
  }, 5000);
  assert.ok(view !== undefined && view.sent < 40, `about 10 of 100 copied: ${JSON.stringify(view)}`);
  assert.equal(backends.get('next-a')?.seen.length, view.sent);
  // the test backends name themselves in their body: every comparison is a body diff
  assert.equal(view.diff, view.sent);
});

test('examples/experiment.toml: users are split between the variants, the beta segment goes to the variant, the report runs', async (t) => {
  const { sibyl } = await serveExample(t, 'experiment.toml');
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) seen.add(await servedBy(sibyl.proxyUrl, { cookie: `uid=user-${i}` }));
  assert.deepEqual([...seen].sort(), ['checkout-a', 'checkout-b']);
  assert.equal(await servedBy(sibyl.proxyUrl, { 'x-beta': '1' }), 'checkout-b');
  const report = await runSibyl(['experiment', 'report', '--admin', sibyl.adminUrl]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout, /experiment new-checkout: requests to pool default, assigned by cookie:uid/);
});
