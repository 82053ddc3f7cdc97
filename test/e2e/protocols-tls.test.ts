// TLS termination with the real `sibyl` binary and real clients (node:https, undici, curl):
// requests reach the backends as over HTTP/1.1, certificates are chosen by SNI, the minimum
// version holds, bad certificate files are config errors, and a certificate swapped on disk is
// picked up under load without a failed request.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { promisify } from 'node:util';
import { test, type TestContext } from 'node:test';
import { Agent, request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { createTestCa, issueCertificate, OPENSSL, replaceCertificate, type TestCa, type TestCertificate } from '../helpers/certificates.ts';
import { metricValue, testConfig } from '../helpers/sibyl-control.ts';
import { runSibyl } from '../helpers/sibyl-cli.ts';
import { eventually, startSibyl, writeTempConfig, type SibylProcess } from '../helpers/sibyl-process.ts';
import { findExecutable, skipUnlessTool } from '../helpers/requires-tool.ts';

const skip = skipUnlessTool('openssl', OPENSSL);
const CURL = findExecutable('curl');

function tlsToml(cert: TestCertificate, extra = ''): string {
  return `[tls]\nenabled = true\ncert_file = "${cert.certFile}"\nkey_file = "${cert.keyFile}"\n${extra}`;
}

async function backends(t: TestContext, names: string[]): Promise<TestBackend[]> {
  const started = await Promise.all(names.map((n) => startTestBackend(n)));
  t.after(() => Promise.all(started.map((b) => b.close())));
  return started;
}

async function serve(t: TestContext, sections: string): Promise<SibylProcess & { port: number }> {
  const sibyl = await startSibyl(testConfig(`[health]\nenabled = false\n\n${sections}`));
  t.after(() => sibyl.stop());
  return Object.assign(sibyl, { port: Number(new URL(sibyl.proxyUrl).port) });
}

/** The certificate the listener presents to a handshake naming `servername` (undefined: no SNI). */
function peerCertificate(port: number, ca: TestCa, servername: string | undefined, options: { maxVersion?: 'TLSv1.2' } = {}): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: ca.certPem, ...(servername === undefined ? { checkServerIdentity: () => undefined } : { servername }), ...options }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once('error', reject);
  });
}

/** One HTTPS request on a fresh connection (a fresh handshake), answered or failed. */
function httpsGet(port: number, ca: TestCa, path: string): Promise<{ status: number; body: string; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca: ca.certPem, servername: 'localhost', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const cn = String((res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN);
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), cn }));
    });
    req.once('error', reject);
    req.end();
  });
}

test('HTTPS requests reach the backends with the same strategies and metrics as HTTP/1.1', { skip }, async (t) => {
  const ca = await createTestCa();
  const cert = await issueCertificate(ca, 'server', ['localhost', '127.0.0.1']);
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const sibyl = await serve(t, `${tlsToml(cert)}\n${backendsToml([a, b])}`);

  const agent = new Agent({ connect: { ca: ca.certPem, servername: 'localhost' } });
  t.after(() => agent.close());
  for (let i = 0; i < 10; i++) {
    const res = await request(`https://127.0.0.1:${sibyl.port}/r${i}`, { dispatcher: agent, method: 'POST', body: 'payload' });
    assert.equal(res.statusCode, 200);
    assert.match(await res.body.text(), /^[ab]:POST:\/r\d:7$/);
  }
  // round_robin over TLS as over cleartext
  assert.equal(a.seen.length, 5);
  assert.equal(b.seen.length, 5);
  assert.equal(a.seen[0]?.headers['x-forwarded-proto'], 'https');
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_requests_total', { backend: 'a', status_class: '2xx' }), 5);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_protocol_requests_total', { protocol: 'https1' }), 10);
  assert.ok(((await metricValue(sibyl.adminUrl, 'sibyl_tls_handshakes_total', { alpn: 'http/1.1' })) ?? 0) >= 1);
  const expiry = (await metricValue(sibyl.adminUrl, 'sibyl_tls_certificate_expiry_timestamp_seconds', { certificate: 'default' })) ?? 0;
  assert.ok(Math.abs(expiry - (Date.now() / 1000 + 2 * 86400)) < 3600, `expiry gauge ${expiry} should be about two days ahead`);
  // cleartext is refused on the TLS port (no HTTP answer at all)
  await assert.rejects(fetch(`http://127.0.0.1:${sibyl.port}/`));
});

test('curl speaks HTTP/2 and HTTP/1.1 to the same TLS port', { skip: skip || skipUnlessTool('curl', CURL) }, async (t) => {
  const ca = await createTestCa();
  const cert = await issueCertificate(ca, 'server', ['localhost']);
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const sibyl = await serve(t, `${tlsToml(cert)}\n${backendsToml([a])}`);
  const curl = promisify(execFile);
  const base = ['-sS', '--cacert', ca.certFile, '--resolve', `localhost:${sibyl.port}:127.0.0.1`, '-w', '\n%{http_version} %{http_code}'];
  const h2 = await curl(CURL as string, [...base, '--http2', `https://localhost:${sibyl.port}/two`]);
  assert.equal(h2.stdout, 'a:GET:/two:0\n2 200');
  const h1 = await curl(CURL as string, [...base, '--http1.1', `https://localhost:${sibyl.port}/one`]);
  assert.equal(h1.stdout, 'a:GET:/one:0\n1.1 200');
  assert.equal(a.seen[0]?.headers.host, `localhost:${sibyl.port}`, 'the h2 :authority reaches the backend as Host');
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_protocol_requests_total', { protocol: 'h2' }), 1);
});

test('certificates are chosen by SNI, with the default for unknown or missing names', { skip }, async (t) => {
  const ca = await createTestCa();
  const main = await issueCertificate(ca, 'main', ['main.test']);
  const api = await issueCertificate(ca, 'api', ['api.test']);
  const wild = await issueCertificate(ca, 'wild', ['*.apps.test']);
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const sibyl = await serve(
    t,
    `${tlsToml(main)}\n[[tls.certificates]]\nserver_names = ["api.test"]\ncert_file = "${api.certFile}"\nkey_file = "${api.keyFile}"\n` +
      `[[tls.certificates]]\nserver_names = ["*.apps.test"]\ncert_file = "${wild.certFile}"\nkey_file = "${wild.keyFile}"\n${backendsToml([a])}`,
  );
  assert.equal((await peerCertificate(sibyl.port, ca, 'api.test')).subject.CN, 'api.test');
  assert.equal((await peerCertificate(sibyl.port, ca, 'one.apps.test')).subject.CN, '*.apps.test');
  await assert.rejects(peerCertificate(sibyl.port, ca, 'a.b.apps.test'), /altnames|Hostname/i, 'a wildcard matches one label only: the default is presented');
  assert.equal((await peerCertificate(sibyl.port, ca, 'main.test')).subject.CN, 'main.test');
  assert.equal((await peerCertificate(sibyl.port, ca, undefined)).subject.CN, 'main.test');
});

test('min_version TLSv1.3 refuses a TLS 1.2 client and counts the failed handshake', { skip }, async (t) => {
  const ca = await createTestCa();
  const cert = await issueCertificate(ca, 'server', ['localhost']);
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const sibyl = await serve(t, `${tlsToml(cert, 'min_version = "TLSv1.3"')}\n${backendsToml([a])}`);
  await assert.rejects(peerCertificate(sibyl.port, ca, 'localhost', { maxVersion: 'TLSv1.2' }));
  assert.equal((await peerCertificate(sibyl.port, ca, 'localhost')).subject.CN, 'localhost');
  await eventually(async () => ((await metricValue(sibyl.adminUrl, 'sibyl_tls_handshake_errors_total', { reason: 'protocol_version' })) ?? 0) >= 1, 5000);
});

test('missing, unreadable and mismatched certificate files are config errors with their key paths', { skip }, async () => {
  const ca = await createTestCa();
  const one = await issueCertificate(ca, 'one', ['one.test']);
  const two = await issueCertificate(ca, 'two', ['two.test']);
  const configPath = await writeTempConfig(
    testConfig(
      `[tls]\nenabled = true\ncert_file = "${one.certFile}"\nkey_file = "${two.keyFile}"\nciphers = "NOT-A-CIPHER"\n` +
        `[[tls.certificates]]\nserver_names = ["x.test"]\ncert_file = "${ca.dir}/missing.pem"\nkey_file = "${one.keyFile}"\n` +
        `[upstream_tls]\nenabled = true\nca_file = "${ca.dir}/nope.pem"\n[[backends]]\naddress = "127.0.0.1:1"`,
    ),
  );
  const result = await runSibyl(['validate', '--config', configPath]);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const out = result.stdout + result.stderr;
  assert.match(out, /tls\.cert_file: the key in .*two-key\.pem" does not belong to the certificate in .*one\.pem"/);
  assert.match(out, /tls\.ciphers: not a usable OpenSSL cipher list/);
  assert.match(out, /tls\.certificates\[0\]\.cert_file: cannot read the certificate file .*missing\.pem/);
  assert.match(out, /upstream_tls\.ca_file: cannot read the CA file .*nope\.pem/);
  const noFiles = await writeTempConfig(testConfig('[tls]\nenabled = true\n[[backends]]\naddress = "127.0.0.1:1"'));
  const missing = await runSibyl(['validate', '--config', noFiles]);
  assert.equal(missing.code, 1);
  assert.match(missing.stdout + missing.stderr, /tls\.cert_file: required when tls is enabled/);
});

test('a certificate swapped on disk is used for new handshakes under load, with no failed request', { skip }, async (t) => {
  const ca = await createTestCa();
  const live = await issueCertificate(ca, 'live', ['localhost', '127.0.0.1']);
  const next = await issueCertificate(ca, 'next', ['localhost', '127.0.0.1'], { dir: await createTestCa().then((c) => c.dir) });
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const sibyl = await serve(t, `${tlsToml(live, 'reload_interval = "200ms"')}\n${backendsToml([a, b])}`);
  const oldSerial = (await peerCertificate(sibyl.port, ca, 'localhost')).serialNumber;
  // an HTTP/1.1 keep-alive connection opened before the swap must live through it
  const keepAlive = new Agent({ connect: { ca: ca.certPem, servername: 'localhost' }, connections: 1 });
  t.after(() => keepAlive.close());
  assert.equal((await request(`https://127.0.0.1:${sibyl.port}/before`, { dispatcher: keepAlive })).statusCode, 200);

  const failures: string[] = [];
  const serials = new Set<string>();
  let answered = 0;
  let isRunning = true;
  const deadline = Date.now() + 15_000;
  const loops = Array.from({ length: 4 }, async () => {
    while (isRunning && Date.now() < deadline) {
      try {
        const res = await httpsGet(sibyl.port, ca, '/load');
        if (res.status !== 200) failures.push(`status ${res.status}`);
        answered++;
      } catch (error) {
        failures.push(String(error));
      }
    }
  });
  await eventually(() => answered >= 20, 10_000);
  await replaceCertificate(live, next);
  await eventually(async () => {
    const cert = await peerCertificate(sibyl.port, ca, 'localhost');
    serials.add(cert.serialNumber);
    return cert.serialNumber !== oldSerial;
  }, 10_000, 50);
  const answeredAtSwap = answered;
  await eventually(() => answered >= answeredAtSwap + 20, 10_000);
  isRunning = false;
  await Promise.all(loops);

  assert.deepEqual(failures, [], `${failures.length} failed of ${answered}`);
  assert.ok(((await metricValue(sibyl.adminUrl, 'sibyl_tls_certificate_reloads_total', { result: 'ok' })) ?? 0) >= 1);
  const kept = await request(`https://127.0.0.1:${sibyl.port}/after`, { dispatcher: keepAlive });
  assert.equal(kept.statusCode, 200, 'the connection opened before the swap still works');
  await kept.body.dump();
});

test('[upstream_tls] proxies to HTTPS backends, verifying them against the CA file and server name', { skip }, async (t) => {
  const ca = await createTestCa();
  const otherCa = await createTestCa();
  const backendCert = await issueCertificate(ca, 'backend', ['backend.test']);
  const { createServer } = await import('node:https');
  const { readFile } = await import('node:fs/promises');
  const seen: { url: string; servername: string | false | null }[] = [];
  const server = createServer({ cert: backendCert.certPem, key: await readFile(backendCert.keyFile, 'utf8') }, (req, res) => {
    if (req.url !== '/health') seen.push({ url: req.url ?? '', servername: (req.socket as import('node:tls').TLSSocket).servername });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`secure backend ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())));
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  const upstream = (caFile: string) => `[upstream_tls]\nenabled = true\nca_file = "${caFile}"\nserver_name = "backend.test"\n[[backends]]\nname = "tls"\naddress = "${address}"`;

  // with health checks on: the probe speaks TLS too, so the backend stays healthy
  const sibyl = await startSibyl(testConfig(`[health]\ninterval = "200ms"\ntimeout = "100ms"\nhealthy_threshold = 1\n${upstream(ca.certFile)}`));
  t.after(() => sibyl.stop());
  const res = await fetch(`${sibyl.proxyUrl}/via-tls`);
  assert.equal(await res.text(), 'secure backend /via-tls');
  assert.equal(seen[0]?.servername, 'backend.test', 'SNI names the configured server_name');
  await eventually(async () => ((await metricValue(sibyl.adminUrl, 'sibyl_health_checks_total', { backend: 'tls', result: 'success' })) ?? 0) >= 2, 5000);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_health_checks_total', { backend: 'tls', result: 'failure' }), undefined);

  // a backend whose certificate the CA file does not vouch for is never talked to
  const untrusted = await startSibyl(testConfig(`[health]\nenabled = false\n${upstream(otherCa.certFile)}`));
  t.after(() => untrusted.stop());
  const refused = await fetch(`${untrusted.proxyUrl}/nope`);
  assert.equal(refused.status, 502);
  assert.equal(seen.length, 1);
});

test('a certificate file broken on disk keeps the old certificate in use and counts a failed reload', { skip }, async (t) => {
  const ca = await createTestCa();
  const live = await issueCertificate(ca, 'live', ['localhost']);
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const sibyl = await serve(t, `${tlsToml(live, 'reload_interval = "100ms"')}\n${backendsToml([a])}`);
  const serial = (await peerCertificate(sibyl.port, ca, 'localhost')).serialNumber;
  const { writeFile } = await import('node:fs/promises');
  await writeFile(live.keyFile, '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n');
  await eventually(async () => ((await metricValue(sibyl.adminUrl, 'sibyl_tls_certificate_reloads_total', { result: 'failed' })) ?? 0) >= 1, 5000);
  assert.equal((await peerCertificate(sibyl.port, ca, 'localhost')).serialNumber, serial);
  assert.equal((await httpsGet(sibyl.port, ca, '/still')).status, 200);
  await sibyl.waitForLog((l) => l.msg === 'certificate reload failed: the previous certificate stays in use');
  // an absence needs time to pass: five more reload intervals
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_tls_certificate_reloads_total', { result: 'failed' }), 1, 'an unchanged broken file is not retried and recounted');
});

test('examples/tls.toml validates once its certificate files exist', { skip }, async () => {
  const { readFile, copyFile } = await import('node:fs/promises');
  const ca = await createTestCa();
  const main = await issueCertificate(ca, 'default', ['localhost']);
  const api = await issueCertificate(ca, 'api', ['api.example.com']);
  await copyFile(ca.certFile, `${ca.dir}/internal-ca.pem`);
  const example = await readFile(new URL('../../examples/tls.toml', import.meta.url), 'utf8');
  const configPath = await writeTempConfig(example.replaceAll('/etc/sibyl/tls/', `${ca.dir}/`));
  const result = await runSibyl(['validate', '--config', configPath]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.ok(main.certFile.endsWith('default.pem') && api.keyFile.endsWith('api-key.pem'), 'the example names the files the test made');
});

test('a config reload applies a new min_version and a new SNI certificate without a restart', { skip }, async (t) => {
  const ca = await createTestCa();
  const main = await issueCertificate(ca, 'main', ['localhost']);
  const extra = await issueCertificate(ca, 'extra', ['extra.test']);
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const config = (tls: string) => testConfig(`[health]\nenabled = false\n${tls}\n${backendsToml([a])}`, { runtime: 'config_watch_interval_millis = 100' });
  const sibyl = await startSibyl(config(tlsToml(main)));
  t.after(() => sibyl.stop());
  const port = Number(new URL(sibyl.proxyUrl).port);
  assert.equal((await peerCertificate(port, ca, 'localhost', { maxVersion: 'TLSv1.2' })).subject.CN, 'localhost');
  assert.equal((await peerCertificate(port, ca, 'localhost')).subject.CN, 'localhost');

  const { replaceConfigFile } = await import('../helpers/sibyl-control.ts');
  await replaceConfigFile(sibyl.configPath, config(`${tlsToml(main, 'min_version = "TLSv1.3"')}\n[[tls.certificates]]\nserver_names = ["extra.test"]\ncert_file = "${extra.certFile}"\nkey_file = "${extra.keyFile}"`));
  await eventually(async () => (await peerCertificate(port, ca, 'extra.test').catch(() => undefined))?.subject.CN === 'extra.test', 10_000, 100);
  await assert.rejects(peerCertificate(port, ca, 'localhost', { maxVersion: 'TLSv1.2' }), Error, 'TLS 1.2 is refused after the reload');
  assert.equal((await peerCertificate(port, ca, 'localhost')).subject.CN, 'localhost');
});

test('a client that never finishes its handshake is cut after client_header_timeout and counted', { skip }, async (t) => {
  const ca = await createTestCa();
  const cert = await issueCertificate(ca, 'server', ['localhost']);
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const sibyl = await startSibyl(testConfig(`[health]\nenabled = false\n${tlsToml(cert)}\n${backendsToml([a])}`, { proxy: 'client_header_timeout = "300ms"\nclient_request_timeout = "1s"' }));
  t.after(() => sibyl.stop());
  const { connect } = await import('node:net');
  const socket = connect({ host: '127.0.0.1', port: Number(new URL(sibyl.proxyUrl).port) });
  t.after(() => socket.destroy());
  // a TCP connection that sends nothing: no ClientHello
  const closedMs = await new Promise<number>((resolve) => {
    const started = Date.now();
    socket.once('close', () => resolve(Date.now() - started));
  });
  assert.ok(closedMs < 5000, `closed after ${closedMs} ms`);
  await eventually(async () => ((await metricValue(sibyl.adminUrl, 'sibyl_tls_handshake_errors_total', { reason: 'timeout' })) ?? 0) === 1, 5000);
});
