// The TCP (L4) mode with the real binary: raw TCP connections to echo servers are balanced with
// each connection-based strategy (switched by hot reload), a backend that refuses connections is
// ejected without a client noticing, an unhealthy one is skipped, max_connections holds,
// SIGTERM drains (no new connections, open ones go on until they close), and discovery feeds it.
import assert from 'node:assert/strict';
import { rename, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connectEcho, startEchoBackend, type EchoBackend, type EchoClient } from '../helpers/echo-backends.ts';
import { adminJson, backendViews, metricValue, replaceConfigFile, testConfig } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

async function echoBackends(t: TestContext, names: string[]): Promise<EchoBackend[]> {
  const started = await Promise.all(names.map((n) => startEchoBackend(n)));
  t.after(() => Promise.all(started.map((b) => b.close())));
  return started;
}

function backendsToml(list: readonly { name: string; address: string }[], weights?: readonly number[]): string {
  return list.map((b, i) => `[[backends]]\nname = "${b.name}"\naddress = "${b.address}"\nweight = ${weights?.[i] ?? 1}\n`).join('\n');
}

function tcpConfig(backends: string, options: { strategy?: string; proxy?: string; runtime?: string; sections?: string } = {}): string {
  return testConfig(`[strategy]\nalgorithm = "${options.strategy ?? 'round_robin'}"\n\n[health]\nkind = "tcp"\ninterval = "10s"\ntimeout = "1s"\n\n${options.sections ?? ''}\n\n${backends}`, {
    proxy: `kind = "tcp"\n${options.proxy ?? ''}`,
    runtime: options.runtime ?? '',
  });
}

const proxyPort = (sibyl: SibylProcess): number => Number(new URL(sibyl.proxyUrl).port);

/** Opens n connections one after another, each checked with an echo; returns the backend of each. */
async function sequential(sibyl: SibylProcess, n: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = connectEcho(proxyPort(sibyl));
    names.push(await c.backend);
    assert.equal(await c.echo(`ping ${i}`), `ping ${i}`);
    c.socket.end();
    await c.closed;
  }
  return names;
}

/** Opens n connections one after another and keeps them open. */
async function holdConnections(sibyl: SibylProcess, n: number): Promise<EchoClient[]> {
  const held: EchoClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = connectEcho(proxyPort(sibyl));
    await c.backend;
    held.push(c);
  }
  return held;
}

async function closeAll(clients: readonly EchoClient[]): Promise<void> {
  for (const c of clients) c.socket.end();
  await Promise.all(clients.map((c) => c.closed));
}

function tally(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

async function reloadTo(sibyl: SibylProcess, text: string): Promise<void> {
  await replaceConfigFile(sibyl.configPath, text);
  const result = await adminJson<{ ok: boolean; problems: string[] }>(sibyl.adminUrl, '/api/reload', 'POST');
  assert.equal(result.body.ok, true, JSON.stringify(result.body));
}

test('each TCP strategy balances raw connections; strategies switch by hot reload; bytes and durations are metered', async (t) => {
  const backends = await echoBackends(t, ['a', 'b', 'c']);
  const sibyl = await startSibyl(tcpConfig(backendsToml(backends)));
  t.after(() => sibyl.stop());
  assert.ok(sibyl.logLines.some((l) => l.includes('"kind":"tcp"')));

  // round_robin: in turn
  assert.deepEqual(tally(await sequential(sibyl, 9)), { a: 3, b: 3, c: 3 });

  // weighted_round_robin: by weight
  await reloadTo(sibyl, tcpConfig(backendsToml(backends, [1, 2, 3]), { strategy: 'weighted_round_robin' }));
  assert.deepEqual(tally(await sequential(sibyl, 12)), { a: 2, b: 4, c: 6 });

  // random: every backend gets a share (a miss in 30 draws has a chance of about 1e-5)
  await reloadTo(sibyl, tcpConfig(backendsToml(backends), { strategy: 'random' }));
  const random = tally(await sequential(sibyl, 30));
  assert.deepEqual(Object.keys(random).sort(), ['a', 'b', 'c'], `random: ${JSON.stringify(random)}`);

  // power_of_two: cost = connect-time EWMA x (open connections + 1), so held connections spread
  await reloadTo(sibyl, tcpConfig(backendsToml(backends), { strategy: 'power_of_two' }));
  const p2c = await holdConnections(sibyl, 30);
  const spread = tally(await Promise.all(p2c.map((c) => c.backend)));
  assert.deepEqual(Object.keys(spread).sort(), ['a', 'b', 'c'], `power_of_two: ${JSON.stringify(spread)}`);
  await closeAll(p2c);

  // ip_hash: one client IP, one backend
  await reloadTo(sibyl, tcpConfig(backendsToml(backends), { strategy: 'ip_hash' }));
  assert.equal(Object.keys(tally(await sequential(sibyl, 8))).length, 1);

  // least_connections: connections held open spread evenly (the open ones count, not the total)
  await reloadTo(sibyl, tcpConfig(backendsToml(backends), { strategy: 'least_connections' }));
  const held = await holdConnections(sibyl, 6);
  assert.deepEqual(tally(await Promise.all(held.map((c) => c.backend))), { a: 2, b: 2, c: 2 });
  assert.equal((await backendViews(sibyl.adminUrl)).reduce((n, v) => n + v.inFlight, 0), 6, 'open connections are in flight');
  await closeAll(held);

  await eventually(async () => (await metricValue(sibyl.adminUrl, 'sibyl_tcp_connection_duration_seconds_count', { backend: 'a' })) !== undefined);
  const connections = await Promise.all(['a', 'b', 'c'].map(async (b) => (await metricValue(sibyl.adminUrl, 'sibyl_tcp_connections_total', { backend: b })) ?? 0));
  assert.equal(connections.reduce((x, y) => x + y, 0), 9 + 12 + 30 + 30 + 8 + 6);
  await eventually(async () => ((await metricValue(sibyl.adminUrl, 'sibyl_tcp_connection_duration_seconds_count', { backend: 'a' })) ?? 0) + ((await metricValue(sibyl.adminUrl, 'sibyl_tcp_connection_duration_seconds_count', { backend: 'b' })) ?? 0) + ((await metricValue(sibyl.adminUrl, 'sibyl_tcp_connection_duration_seconds_count', { backend: 'c' })) ?? 0) === 95, 5000);
  // "ping 0" .. in, and the greeting plus the echo out
  const bytesIn = (await metricValue(sibyl.adminUrl, 'sibyl_tcp_transferred_bytes_total', { backend: 'a', direction: 'in' })) ?? 0;
  const bytesOut = (await metricValue(sibyl.adminUrl, 'sibyl_tcp_transferred_bytes_total', { backend: 'a', direction: 'out' })) ?? 0;
  assert.ok(bytesIn >= 6 * 10, `bytes in ${bytesIn}`);
  assert.ok(bytesOut >= bytesIn + 2 * 10, `bytes out ${bytesOut} >= bytes in + greetings`);
});

test('a backend that refuses connections is ejected and clients never notice; an unhealthy one is skipped', async (t) => {
  const [a, b] = (await echoBackends(t, ['a', 'b'])) as [EchoBackend, EchoBackend];
  const dead = await startEchoBackend('dead');
  await dead.close(); // its port now refuses connections
  const sibyl = await startSibyl(
    tcpConfig(backendsToml([a, b, { name: 'dead', address: dead.address }]), {
      sections: '[outlier_detection]\nconsecutive_gateway_failure = 2\nbase_ejection_time = "60s"\nmax_ejection_percent = 50',
    }).replace('[health]\nkind = "tcp"', '[health]\nenabled = false\nkind = "tcp"'),
  );
  t.after(() => sibyl.stop());
  const names = await sequential(sibyl, 12);
  assert.deepEqual(Object.keys(tally(names)).sort(), ['a', 'b'], 'every client got a live backend');
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_backend_ejected', { backend: 'dead' }), 1);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_tcp_connect_failures_total', { backend: 'dead', error_kind: 'refused' }), 2, 'ejected after consecutive_gateway_failure = 2, then no longer tried');
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_tcp_unserved_connections_total', { reason: 'connect_failed' }), undefined);

  // active TCP health checks: a backend that stops listening turns unhealthy and gets nothing
  const healthy = await startSibyl(tcpConfig(backendsToml([a, b])).replace('interval = "10s"\ntimeout = "1s"', 'interval = "200ms"\ntimeout = "100ms"\nunhealthy_threshold = 1'));
  t.after(() => healthy.stop());
  await b.close();
  await eventually(async () => (await backendViews(healthy.adminUrl)).find((v) => v.name === 'b')?.isHealthy === false, 5000);
  // (a's accept count would include the TCP health probes: the greetings say who served)
  assert.deepEqual(tally(await sequential(healthy, 6)), { a: 6 });
});

test('max_connections refuses connections beyond the limit and counts them', async (t) => {
  const backends = await echoBackends(t, ['a']);
  const sibyl = await startSibyl(tcpConfig(backendsToml(backends), { proxy: 'max_connections = 2' }));
  t.after(() => sibyl.stop());
  const held = [connectEcho(proxyPort(sibyl)), connectEcho(proxyPort(sibyl))];
  await Promise.all(held.map((c) => c.backend));
  const extra = connectEcho(proxyPort(sibyl), 2000);
  await assert.rejects(extra.backend, /closed/);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_connections_rejected_total'), 1);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_open_connections'), 2);
  for (const c of held) c.socket.destroy();
});

test('SIGTERM drains: no new connections, open ones go on until they close, then a clean exit', async (t) => {
  const backends = await echoBackends(t, ['a']);
  const sibyl = await startSibyl(tcpConfig(backendsToml(backends), { runtime: 'drain_timeout_millis = 20000\naccept_timeout_millis = 30000' }));
  t.after(() => sibyl.stop('SIGKILL'));
  const open = connectEcho(proxyPort(sibyl));
  assert.equal(await open.backend, 'a');
  sibyl.proc.kill('SIGTERM');
  await sibyl.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('draining'));
  // the listener is closed: a new connection is refused
  await eventually(
    () =>
      new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: proxyPort(sibyl) });
        s.once('connect', () => (s.destroy(), resolve(false)));
        s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
      }),
    5000,
  );
  // the open connection still works while draining
  assert.equal(await open.echo('still here'), 'still here');
  assert.equal(sibyl.proc.exitCode, null, 'sibyl waits for the open connection');
  open.socket.end();
  assert.equal(await sibyl.exited, 0);
  assert.ok(sibyl.logLines.some((l) => l.includes('"isClean":true')), 'a clean drain');
});

test('discovery feeds the TCP mode: a backend added to the watched file gets connections, a removed one keeps its open connection', async (t) => {
  const [a, b] = (await echoBackends(t, ['a', 'b'])) as [EchoBackend, EchoBackend];
  const listPath = join(tmpdir(), `sibyl-tcp-${process.pid}-${Date.now()}.json`);
  t.after(() => rm(listPath, { force: true }));
  const writeList = async (list: readonly EchoBackend[]): Promise<void> => {
    await writeFile(`${listPath}.next`, JSON.stringify(list.map((x) => ({ name: x.name, address: x.address }))));
    await rename(`${listPath}.next`, listPath);
  };
  await writeList([a]);
  const sibyl = await startSibyl(tcpConfig('', { sections: `[discovery]\nkind = "file"\npath = "${listPath}"\ninterval = "200ms"` }));
  t.after(() => sibyl.stop());
  const onA = connectEcho(proxyPort(sibyl));
  assert.equal(await onA.backend, 'a');

  await writeList([b]);
  await eventually(async () => (await backendViews(sibyl.adminUrl)).map((v) => v.name).join() === 'b', 5000);
  assert.deepEqual(tally(await sequential(sibyl, 4)), { b: 4 });
  // the connection opened on a before it left goes on
  assert.equal(await onA.echo('still on a'), 'still on a');
  onA.socket.end();
  await onA.closed;
});
