// Shadow traffic with the real binary: copies are marked and carry the body; answers are compared
// with volatile JSON fields and headers ignored; the diff rate and sampled diffs are reported; a
// slow and failing shadow pool never slows or fails the primary.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Agent, request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { adminJson, metricValue, testConfig } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl } from '../helpers/sibyl-process.ts';
import { poolToml } from '../helpers/traffic.ts';

interface ShadowView {
  readonly sent: number;
  readonly dropped: number;
  readonly match: number;
  readonly diff: number;
  readonly error: number;
  readonly diffRate: number | null;
  readonly samples: { url: string; kinds: string[]; primary: { status: number }; shadow: { status: number } }[];
}

const PLAIN = '[health]\nenabled = false\n[retry]\nenabled = false\n[outlier_detection]\nenabled = false\n[load_shedding]\nenabled = false\n';

function jsonBackend(t: TestContext, name: string, answer: (url: string) => { status: number; body: unknown }, delayMs = 0): Promise<TestBackend> {
  return startTestBackend(name, (req, res) => {
    const { status, body } = answer(req.url ?? '/');
    setTimeout(() => {
      if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json', 'x-served-by': name }).end(JSON.stringify(body));
    }, delayMs);
  }).then((b) => {
    t.after(() => b.close());
    return b;
  });
}

async function shadowView(adminUrl: string): Promise<ShadowView> {
  return (await adminJson<{ shadows: ShadowView[] }>(adminUrl, '/api/shadows')).body.shadows[0] as ShadowView;
}

test('copies are marked, carry the body, and are compared without volatile fields', async (t) => {
  let clock = 0;
  const primary = await jsonBackend(t, 'primary', (url) => ({ status: 200, body: { id: url, generated_at: clock++, items: [1, 2] } }));
  const shadow = await jsonBackend(t, 'shadow', (url) => ({ status: url.includes('bad') ? 500 : 200, body: { items: url.includes('diff') ? [2, 1] : [1, 2], generated_at: clock++, id: url } }));
  const config = testConfig(
    `${PLAIN}${backendsToml([primary])}\n${poolToml('next', [shadow])}\n[[shadows]]\nname = "next"\npool = "default"\nshadow_pool = "next"\npercent = 100\nignore_json_fields = ["generated_at"]\nignore_headers = ["date", "content-length", "connection", "keep-alive", "x-served-by"]\n`,
  );
  const sibyl = await startSibyl(config);
  t.after(() => sibyl.stop());
  for (let i = 0; i < 16; i++) {
    const path = i < 12 ? `/same/${i}` : i < 15 ? `/diff/${i}` : '/bad';
    const res = await request(`${sibyl.proxyUrl}${path}`, { method: 'POST', body: `payload-${i}`, headers: { 'content-type': 'text/plain' } });
    assert.equal(res.statusCode, 200, 'the client always gets the primary\'s answer');
    assert.equal(res.headers['x-served-by'], 'primary');
    await res.body.text();
  }
  const view = await eventually(async () => {
    const v = await shadowView(sibyl.adminUrl);
    return v.match + v.diff === 16 ? v : undefined;
  }, 5000);
  assert.ok(view !== undefined);
  assert.equal(view.sent, 16);
  assert.equal(view.match, 12, `generated_at and key order do not count: ${JSON.stringify(view.samples)}`);
  assert.equal(view.diff, 4);
  assert.equal(view.diffRate, 0.25);
  assert.deepEqual(view.samples.map((s) => `${s.url} ${s.kinds.join('+')} ${s.primary.status}/${s.shadow.status}`).reverse(), ['/diff/12 body 200/200', '/diff/13 body 200/200', '/diff/14 body 200/200', '/bad status 200/500']);
  const copy = shadow.seen[0];
  assert.equal(copy?.headers['x-sibyl-shadow'], '1', 'copies are marked');
  assert.equal(copy?.body, 'payload-0', 'the body is copied');
  assert.equal(primary.seen[0]?.headers['x-sibyl-shadow'], undefined, 'the primary request is not marked');
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_traffic_shadow_diffs_total', { shadow: 'next', kind: 'status' }), 1);
});

test('a slow and failing shadow pool leaves the primary without errors and never waits for a copy', async (t) => {
  const primary = await jsonBackend(t, 'primary', () => ({ status: 200, body: { ok: true } }));
  // half the copies hang for 1.5 s, the other half get their connection cut
  let n = 0;
  const slowCopies = new Set<string>();
  const broken = await startTestBackend('broken', (req, res) => {
    if (n++ % 2 === 0) {
      slowCopies.add(String(req.headers['x-request-id']));
      setTimeout(() => res.destroyed || res.writeHead(503).end(), 1500);
    } else res.socket?.destroy();
  });
  t.after(() => broken.close());
  const config = testConfig(`${PLAIN}${backendsToml([primary])}\n${poolToml('next', [broken])}\n[[shadows]]\nname = "next"\npool = "default"\nshadow_pool = "next"\npercent = 100\nmax_concurrency = 4\ntimeout = "3s"\n`);
  const sibyl = await startSibyl(config);
  t.after(() => sibyl.stop());
  const dispatcher = new Agent({ connections: 8 });
  t.after(() => dispatcher.close());
  const latencyById = new Map<string, number>();
  const statuses = new Map<number, number>();
  const deadline = Date.now() + 8000;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (latencyById.size < 800 && Date.now() < deadline) {
        const started = performance.now();
        const res = await request(`${sibyl.proxyUrl}/x`, { dispatcher });
        await res.body.text();
        latencyById.set(String(res.headers['x-request-id']), performance.now() - started);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      }
    }),
  );
  assert.deepEqual([...statuses.keys()], [200], `every primary answer is 200: ${JSON.stringify([...statuses])}`);
  // a primary that waited for its copy would take 1.5 s; on a loaded machine a primary alone stays far below
  const copied = [...slowCopies].map((id) => latencyById.get(id)).filter((ms): ms is number => ms !== undefined);
  assert.ok(copied.length > 0, 'some requests had a slow copy');
  const slowest = Math.max(...copied);
  assert.ok(slowest < 1000, `the slowest primary whose copy took 1.5 s answered in ${slowest.toFixed(1)} ms`);
  const view = await shadowView(sibyl.adminUrl);
  assert.ok(view.dropped > 0, `copies beyond max_concurrency are dropped: ${JSON.stringify(view)}`);
  assert.ok(view.sent > 0 && view.sent + view.dropped === latencyById.size, JSON.stringify(view));
  await eventually(async () => (await shadowView(sibyl.adminUrl)).error > 0, 5000);
});
