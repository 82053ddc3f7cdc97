// deploy/integrations: a real HAProxy (Lua action) and a real NGINX (auth_request), run from the
// shipped files, consult a real Sibyl's POST /predict_retry when a primary backend fails and act
// on the answer; with Sibyl slow or stopped, the seed's fallback (0.5, ALLOW) applies within the
// 10 ms timeout.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { startBlackHole, startHaproxy, startNginx, type RunningProxy } from '../helpers/integration-proxies.ts';
import { findExecutable, skipUnlessTool } from '../helpers/requires-tool.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

const HAPROXY = findExecutable('haproxy');
const NGINX = findExecutable('nginx');
const skip = skipUnlessTool('haproxy', HAPROXY) || skipUnlessTool('nginx', NGINX);

/** route_backup_threshold 0 and circuit_break_threshold 1: every prediction is ROUTE_BACKUP. */
function sibylToml(backup: TestBackend, circuitBreakThreshold: number): string {
  return [
    '[proxy]\nlisten_address = "127.0.0.1:0"',
    '[admin]\nlisten_address = "127.0.0.1:0"',
    '[health]\nenabled = false',
    `[model]\nroute_backup_threshold = 0.0\ncircuit_break_threshold = ${circuitBreakThreshold.toFixed(1)}`,
    `[[backends]]\naddress = "${backup.address}"`,
  ].join('\n');
}

interface Answer {
  readonly status: number;
  readonly servedBy: string;
  readonly retryAfter: string | undefined;
  readonly ms: number;
}

/**
 * One request through the proxy from `client`, a loopback address of its own: HAProxy remembers
 * per client IP which clients Sibyl expects to retry, so each test is a different client.
 */
function get(proxy: RunningProxy, path: string, options: { method?: string; client?: string } = {}): Promise<Answer> {
  const url = new URL(path, proxy.url);
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: options.method ?? 'GET', localAddress: options.client ?? '127.0.0.1', agent: false }, (res) => {
      res.resume();
      res.once('end', () => {
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, servedBy: String(res.headers['x-served-by'] ?? ''), retryAfter, ms: performance.now() - start });
      });
    });
    req.once('error', reject);
    req.end();
  });
}

/** The proxy's log line for `path`, once written. */
async function logged(proxy: RunningProxy, path: string, method = 'GET'): Promise<Record<string, string>> {
  const line = await eventually(async () => (await proxy.log()).find((l) => l.request === `${method} ${path}`));
  assert.ok(line !== undefined);
  return line;
}

/**
 * Sends failing requests (`${prefix}/1`, `/2`, ...) until one got Sibyl's own answer. On this
 * shared machine a call can miss the 10 ms budget and fall back, which is the designed behaviour;
 * these tests are about what happens when the answer arrives in time.
 */
async function answeredBySibyl(proxy: RunningProxy, prefix: string, options: { method?: string; client?: string } = {}): Promise<{ path: string; res: Answer; decision: Record<string, string> }> {
  const method = options.method ?? 'GET';
  for (let i = 1; i <= 10; i++) {
    const path = `${prefix}/${i}`;
    const res = await get(proxy, path, options);
    const decision = await logged(proxy, path, method);
    if (decision.sibyl_source === 'sibyl') return { path, res, decision };
  }
  throw new Error(`Sibyl never answered within 10 ms in 10 tries (${prefix})`);
}

describe('HAProxy and NGINX consult Sibyl when a primary fails', { skip, timeout: 120_000 }, () => {
  let primary: TestBackend;
  let backup: TestBackend;
  let sibyl: SibylProcess;
  let blackHole: Awaited<ReturnType<typeof startBlackHole>>;
  let haproxy: RunningProxy;
  let nginx: RunningProxy;
  let slowHaproxy: RunningProxy;
  let slowNginx: RunningProxy;

  before(async () => {
    primary = await startTestBackend('primary', (_req, res) => {
      res.writeHead(503, { 'x-served-by': 'primary' });
      res.end('primary is down');
    });
    backup = await startTestBackend('backup');
    sibyl = await startSibyl(sibylToml(backup, 1));
    // a cold process (JIT, first parse) can miss a 10 ms budget: warm the predict path first
    for (let i = 0; i < 50; i++) {
      const res = await request(`${sibyl.adminUrl}/predict_retry`, { method: 'POST', body: JSON.stringify({ status_code: 503, response_time_ms: i, method: 'GET' }) });
      await res.body.text();
    }
    blackHole = await startBlackHole();
    const pools = { primary: primary.address, backup: backup.address, sibyl: new URL(sibyl.adminUrl).host };
    haproxy = await startHaproxy(HAPROXY ?? '', pools);
    nginx = await startNginx(NGINX ?? '', pools);
    slowHaproxy = await startHaproxy(HAPROXY ?? '', { ...pools, sibyl: blackHole.address });
    slowNginx = await startNginx(NGINX ?? '', { ...pools, sibyl: blackHole.address });
  });
  after(async () => {
    for (const proxy of [haproxy, nginx, slowHaproxy, slowNginx]) await proxy?.stop();
    await sibyl?.stop();
    await blackHole?.close();
    await primary?.close();
    await backup?.close();
  });

  describe('Sibyl recommends ROUTE_BACKUP', () => {
    test('HAProxy: the failure is relayed, and the client’s retry goes to the backup pool', async () => {
      const client = '127.0.0.2';
      const { path, res, decision } = await answeredBySibyl(haproxy, '/hap/route', { client });
      assert.deepEqual([res.status, res.servedBy, res.retryAfter], [503, 'primary', undefined]);
      assert.equal(decision.sibyl_action, 'ROUTE_BACKUP');
      assert.ok(Number(decision.sibyl_p) > 0 && Number(decision.sibyl_p) < 1, decision.sibyl_p);
      const retry = await get(haproxy, path, { client });
      assert.deepEqual([retry.status, retry.servedBy], [200, 'backup']);
      // a success does not consult Sibyl, and resets the flag: the next request is the primary's
      const lines = await eventually(async () => {
        const found = (await haproxy.log()).filter((l) => l.request === `GET ${path}`);
        return found.length === 2 ? found : undefined;
      });
      assert.deepEqual(lines?.map((l) => l.sibyl_action), ['ROUTE_BACKUP', '-']);
      assert.equal((await get(haproxy, '/hap/after-retry', { client })).servedBy, 'primary');
      assert.equal((await get(haproxy, '/hap/other-client', { client: '127.0.0.3' })).servedBy, 'primary', 'another client is not affected');
    });

    test('NGINX: the failed request is served by the backup pool at once', async () => {
      const { res, decision } = await answeredBySibyl(nginx, '/ngx/route');
      assert.deepEqual([res.status, res.servedBy], [200, 'backup']);
      assert.equal(decision.sibyl_action, 'ROUTE_BACKUP');
      assert.ok(Number(decision.sibyl_p) > 0 && Number(decision.sibyl_p) < 1, decision.sibyl_p);
    });

    test('NGINX: a failed POST is not sent a second time', async () => {
      const before = backup.seen.length;
      const { res, decision } = await answeredBySibyl(nginx, '/ngx/post', { method: 'POST' });
      assert.equal(res.status, 502);
      assert.equal(decision.sibyl_action, 'ROUTE_BACKUP');
      assert.equal(backup.seen.length, before);
    });
  });

  describe('Sibyl recommends CIRCUIT_BREAK', () => {
    before(async () => {
      await writeFile(sibyl.configPath, sibylToml(backup, 0));
      const reload = await request(`${sibyl.adminUrl}/api/reload`, { method: 'POST' });
      assert.equal(((await reload.body.json()) as { ok: boolean }).ok, true);
    });

    test('HAProxy: the failure carries a jittered Retry-After of 2..6 s', async () => {
      const { res, decision } = await answeredBySibyl(haproxy, '/hap/break', { client: '127.0.0.4' });
      assert.equal(res.status, 503);
      assert.ok(Number(res.retryAfter) >= 2 && Number(res.retryAfter) <= 6, `Retry-After ${res.retryAfter}`);
      assert.equal(decision.sibyl_action, 'CIRCUIT_BREAK');
    });

    test('NGINX: 503 with a jittered Retry-After of 2..5 s, nothing sent again', async () => {
      const before = backup.seen.length;
      const { res, decision } = await answeredBySibyl(nginx, '/ngx/break');
      assert.equal(res.status, 503);
      assert.notEqual(res.servedBy, 'primary', 'answered by NGINX, not relayed');
      assert.ok(Number(res.retryAfter) >= 2 && Number(res.retryAfter) <= 5, `Retry-After ${res.retryAfter}`);
      assert.equal(decision.sibyl_action, 'CIRCUIT_BREAK');
      assert.equal(backup.seen.length, before);
    });
  });

  describe('Sibyl too slow: the fallback applies at the 10 ms timeout', () => {
    test('HAProxy', async () => {
      const connectionsBefore = blackHole.connections();
      const res = await get(slowHaproxy, '/hap/slow', { client: '127.0.0.5' });
      assert.deepEqual([res.status, res.servedBy, res.retryAfter], [503, 'primary', undefined]);
      const decision = await logged(slowHaproxy, '/hap/slow');
      assert.deepEqual([decision.sibyl_source, decision.sibyl_action, decision.sibyl_p], ['fallback', 'ALLOW', '0.5']);
      // it waited for the timeout (the black hole accepted), and not much longer
      assert.ok(blackHole.connections() > connectionsBefore);
      const waited = Number(decision.sibyl_wait_ms);
      assert.ok(waited >= 9 && waited < 100, `waited ${waited} ms`);
      assert.ok(res.ms < 1000, `answered in ${res.ms} ms`);
      const next = await get(slowHaproxy, '/hap/slow', { client: '127.0.0.5' });
      assert.equal(next.servedBy, 'primary', 'ALLOW changes nothing');
    });

    test('NGINX', async () => {
      const hits = primary.seen.length;
      const res = await get(slowNginx, '/ngx/slow');
      // ALLOW: once more to the primary pool, whose answer is relayed
      assert.deepEqual([res.status, res.servedBy, res.retryAfter], [503, 'primary', undefined]);
      assert.equal(primary.seen.length, hits + 2);
      const decision = await logged(slowNginx, '/ngx/slow');
      assert.deepEqual([decision.sibyl_source, decision.sibyl_action, decision.sibyl_p], ['fallback', 'ALLOW', '0.5']);
      const waited = Number(decision.sibyl_wait) * 1000;
      assert.ok(waited >= 9 && waited < 100, `waited ${waited} ms`);
      assert.ok(res.ms < 1000, `answered in ${res.ms} ms`);
    });
  });

  describe('Sibyl stopped: the fallback applies at once', () => {
    before(async () => {
      await sibyl.stop();
    });

    test('HAProxy', async () => {
      const res = await get(haproxy, '/hap/stopped', { client: '127.0.0.6' });
      assert.deepEqual([res.status, res.servedBy, res.retryAfter], [503, 'primary', undefined]);
      const decision = await logged(haproxy, '/hap/stopped');
      assert.deepEqual([decision.sibyl_source, decision.sibyl_action, decision.sibyl_p], ['fallback', 'ALLOW', '0.5']);
      assert.ok(Number(decision.sibyl_wait_ms) < 100, `waited ${decision.sibyl_wait_ms} ms`);
    });

    test('NGINX', async () => {
      const res = await get(nginx, '/ngx/stopped');
      assert.deepEqual([res.status, res.servedBy], [503, 'primary']);
      const decision = await logged(nginx, '/ngx/stopped');
      assert.deepEqual([decision.sibyl_source, decision.sibyl_action, decision.sibyl_p], ['fallback', 'ALLOW', '0.5']);
    });
  });
});
