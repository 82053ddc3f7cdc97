// Live retry labels through the real binary: scripted clients retry after failures, repeat after
// successes, come back too late, give up on a slow request, POST different bodies to one URL or
// send an SDK's retry marker, and every attempt's `retried` label, attempt number and repeat flag
// in the NDJSON telemetry must be exactly what DESIGN.md "Retry intelligence" defines, with the
// same counts on /metrics.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { backendsToml } from '../helpers/backends.ts';
import { scriptedBackend, waitForLabelledEvents, type LabelledLine } from '../helpers/retry-telemetry.ts';
import { metricValue, testConfig } from '../helpers/sibyl-control.ts';
import { startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

const WINDOW_MS = 1000;
const RUN = randomUUID().slice(0, 8);
const CLIENTS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] as const;

/** The raw x-client-id: it must never appear in the telemetry. */
function clientId(name: (typeof CLIENTS)[number]): string {
  return `raw-client-${name}-${RUN}`;
}

interface Ask {
  readonly client: (typeof CLIENTS)[number];
  /** Sent as x-request-id: how the test finds the attempt's NDJSON line. */
  readonly id: string;
  readonly path: string;
  readonly status?: number;
  readonly delayMs?: number;
  readonly method?: 'GET' | 'POST';
  readonly idempotencyKey?: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

type Send = (ask: Ask) => Promise<void>;

/** What each attempt must be labelled, by the definitions (request id -> label). */
const EXPECTED: Readonly<Record<string, { attempt: number; retried: 0 | 1; repeat: boolean }>> = {
  A1: { attempt: 1, retried: 1, repeat: false },
  A2: { attempt: 2, retried: 1, repeat: false },
  A3: { attempt: 3, retried: 0, repeat: false },
  B1: { attempt: 1, retried: 0, repeat: false },
  C1: { attempt: 1, retried: 0, repeat: false },
  C2: { attempt: 1, retried: 0, repeat: true },
  D1: { attempt: 1, retried: 0, repeat: false },
  E1: { attempt: 1, retried: 0, repeat: false },
  E2: { attempt: 1, retried: 0, repeat: false },
  F1: { attempt: 1, retried: 0, repeat: false },
  F2: { attempt: 1, retried: 0, repeat: true },
  G1: { attempt: 1, retried: 1, repeat: false },
  G2: { attempt: 1, retried: 0, repeat: false },
  G3: { attempt: 2, retried: 0, repeat: false },
  H1: { attempt: 1, retried: 1, repeat: false },
  H2: { attempt: 2, retried: 0, repeat: false },
  I1: { attempt: 1, retried: 1, repeat: false },
  I2: { attempt: 1, retried: 0, repeat: false },
  I3: { attempt: 2, retried: 0, repeat: false },
  J1: { attempt: 1, retried: 1, repeat: false },
  J2: { attempt: 2, retried: 0, repeat: false },
  J3: { attempt: 1, retried: 0, repeat: true },
};

/** The scripted clients, to be run concurrently; each has its own x-client-id. */
function scripts(send: Send): (() => Promise<void>)[] {
  const shared = '/orders/42?view=full';
  return [
    // A: 503, 503, then a success; D asks for the same URL between A's attempts, as another client
    async () => {
      await send({ client: 'a', id: 'A1', path: shared, status: 503 });
      await send({ client: 'd', id: 'D1', path: shared });
      await sleep(20); // the client's backoff
      await send({ client: 'a', id: 'A2', path: shared, status: 503 });
      await sleep(20);
      await send({ client: 'a', id: 'A3', path: shared });
    },
    () => send({ client: 'b', id: 'B1', path: '/profile' }),
    // C: a repeat after a success is not a retry: a new chain, counted apart
    async () => {
      await send({ client: 'c', id: 'C1', path: '/feed' });
      await sleep(300);
      await send({ client: 'c', id: 'C2', path: '/feed' });
    },
    // E: comes back once the window has passed: a new first attempt, not a retry
    async () => {
      await send({ client: 'e', id: 'E1', path: '/report', status: 500 });
      await sleep(WINDOW_MS + 500);
      await send({ client: 'e', id: 'E2', path: '/report' });
    },
    // F: asks again while its slow first request is still in flight and its connection open: a
    // second request side by side, not a retry (the first one succeeds)
    async () => {
      let isFirstDone = false;
      const first = send({ client: 'f', id: 'F1', path: '/slow', delayMs: 600 }).then(() => (isFirstDone = true));
      await sleep(200);
      assert.equal(isFirstDone, false, 'F1 must still be in flight when F2 is sent');
      await send({ client: 'f', id: 'F2', path: '/slow' });
      await first;
    },
    // G: POSTs told apart by Idempotency-Key: the same key is the same request, another key is not
    async () => {
      await send({ client: 'g', id: 'G1', path: '/payments', method: 'POST', idempotencyKey: `key-1-${RUN}`, status: 503 });
      await send({ client: 'g', id: 'G2', path: '/payments', method: 'POST', idempotencyKey: `key-2-${RUN}` });
      await sleep(20);
      await send({ client: 'g', id: 'G3', path: '/payments', method: 'POST', idempotencyKey: `key-1-${RUN}` });
    },
    // H: times out on a slow request (aborts it), then asks again: the aborted attempt was retried
    async () => {
      const timeout = new AbortController();
      const first = send({ client: 'h', id: 'H1', path: '/slow', delayMs: 600, signal: timeout.signal });
      await sleep(200);
      timeout.abort();
      await assert.rejects(first, { name: 'AbortError' });
      await send({ client: 'h', id: 'H2', path: '/slow' });
    },
    // I: POSTs of different orders to one collection URL are different requests (the body hash)
    async () => {
      await send({ client: 'i', id: 'I1', path: '/orders', method: 'POST', body: '{"item":"tea","n":1}', status: 503 });
      await send({ client: 'i', id: 'I2', path: '/orders', method: 'POST', body: '{"item":"cake","n":2}' });
      await sleep(20);
      await send({ client: 'i', id: 'I3', path: '/orders', method: 'POST', body: '{"item":"tea","n":1}' });
    },
    // J: an AWS SDK says which attempt each request is; a new call (attempt=1) after a success is a repeat
    async () => {
      await send({ client: 'j', id: 'J1', path: '/table', status: 500, headers: { 'amz-sdk-request': 'attempt=1; max=3' } });
      await send({ client: 'j', id: 'J2', path: '/table', headers: { 'amz-sdk-request': 'attempt=2; max=3' } });
      await send({ client: 'j', id: 'J3', path: '/table', headers: { 'amz-sdk-request': 'attempt=1; max=3' } });
    },
  ];
}

async function startLabellingSibyl(t: TestContext, eventsPath: string): Promise<SibylProcess> {
  const backend = await scriptedBackend('app');
  t.after(() => backend.close());
  const sibyl = await startSibyl(
    testConfig(
      [
        `[retry]\nwindow = "${WINDOW_MS / 1000}s"`,
        `[telemetry]\npath = ${JSON.stringify(eventsPath)}`,
        '[health]\nenabled = false',
        // the backend's 5xx are scripted answers, not a failing backend
        '[outlier_detection]\nenabled = false',
        backendsToml([backend]),
      ].join('\n\n'),
    ),
  );
  t.after(() => sibyl.stop());
  return sibyl;
}

function sender(proxyUrl: string): Send {
  return async (ask) => {
    const status = ask.status ?? 200;
    const headers: Record<string, string> = { ...ask.headers, 'x-client-id': clientId(ask.client), 'x-request-id': ask.id, 'x-want-status': String(status) };
    if (ask.delayMs !== undefined) headers['x-want-delay-ms'] = String(ask.delayMs);
    if (ask.idempotencyKey !== undefined) headers['idempotency-key'] = ask.idempotencyKey;
    const method = ask.method ?? 'GET';
    const res = await request(`${proxyUrl}${ask.path}`, { method, headers, body: method === 'POST' ? (ask.body ?? '{"amount":1}') : undefined, signal: ask.signal });
    const body = await res.body.text();
    assert.equal(res.statusCode, status, `${ask.id}: status (${body})`);
  };
}

/** Every line: request id, prediction, a hashed client key; what tells requests apart is the client key and the fingerprint. */
function assertLineContents(lines: Map<string, LabelledLine>, text: string): void {
  const line = (id: string): LabelledLine => lines.get(id)!;
  assert.equal(text.trimEnd().split('\n').length, lines.size, 'one line per attempt');
  for (const [id, l] of lines) {
    assert.equal(l.requestId, id);
    assert.ok(typeof l.prediction === 'number' && l.prediction >= 0 && l.prediction <= 1, `${id}: prediction ${l.prediction}`);
    assert.match(l.clientKey, /^[0-9a-f]{16}$/, `${id}: clientKey must be a hash`);
  }
  for (const name of CLIENTS) assert.ok(!text.includes(clientId(name)), `the raw x-client-id of ${name} is in the telemetry`);
  // D and A asked for the same thing: only the client key tells them apart
  assert.equal(line('D1').fingerprint, line('A1').fingerprint);
  assert.notEqual(line('D1').clientKey, line('A1').clientKey);
  assert.equal(new Set(['A1', 'A2', 'A3'].map((id) => line(id).clientKey)).size, 1, 'one client key for all of A');
  assert.equal(line('G3').fingerprint, line('G1').fingerprint, 'same Idempotency-Key, same fingerprint');
  assert.notEqual(line('G2').fingerprint, line('G1').fingerprint, 'another Idempotency-Key, another fingerprint');
  assert.deepEqual(['A1', 'A2', 'F1', 'G1'].map((id) => line(id).status), [503, 503, 200, 503]);
  assert.notEqual(line('I2').fingerprint, line('I1').fingerprint, 'another body, another fingerprint');
  assert.equal(line('I3').fingerprint, line('I1').fingerprint, 'the same body, the same fingerprint');
}

async function assertMetrics(adminUrl: string): Promise<void> {
  const expected = Object.values(EXPECTED);
  const count = (want: (e: { attempt: number; retried: 0 | 1; repeat: boolean }) => boolean): number => expected.filter(want).length;
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => (await metricValue(adminUrl, name, labels)) ?? 0;
  const attempts = Object.fromEntries(await Promise.all(['1', '2', '3', '4+'].map(async (a) => [a, await metric('sibyl_telemetry_attempts_total', { attempt: a })] as const)));
  assert.deepEqual(attempts, { '1': count((e) => e.attempt === 1), '2': count((e) => e.attempt === 2), '3': count((e) => e.attempt === 3), '4+': 0 });
  assert.equal(await metric('sibyl_telemetry_labels_total', { retried: '1' }), count((e) => e.retried === 1));
  assert.equal(await metric('sibyl_telemetry_labels_total', { retried: '0' }), count((e) => e.retried === 0));
  assert.equal(await metric('sibyl_telemetry_events_total'), expected.length);
  assert.equal(await metric('sibyl_telemetry_repeats_total'), count((e) => e.repeat));
}

test('each scripted attempt gets exactly the retried label and attempt number of the definition', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-retry-labels-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const eventsPath = join(dir, 'events.ndjson');
  const sibyl = await startLabellingSibyl(t, eventsPath);

  await Promise.all(scripts(sender(sibyl.proxyUrl)).map((script) => script()));

  const ids = Object.keys(EXPECTED);
  // a retried = 0 is known only once the window has passed, plus up to one labeller sweep (1 s)
  const lines = await waitForLabelledEvents(eventsPath, ids, 10_000);
  const actual = Object.fromEntries(ids.map((id) => [id, { attempt: lines.get(id)!.attempt, retried: lines.get(id)!.retried, repeat: lines.get(id)!.repeat }]));
  assert.deepEqual(actual, EXPECTED);
  assert.deepEqual([...lines.keys()].sort(), ids.sort(), 'one line per request, no others');
  assertLineContents(lines, await readFile(eventsPath, 'utf8'));
  await assertMetrics(sibyl.adminUrl);
});
