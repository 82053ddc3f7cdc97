// TLS termination with the real `sibyl` binary and real clients (node:https, undici, node:tls,
// curl): requests reach the backends as over HTTP/1.1, certificates are chosen by SNI, the minimum
// version and the handshake timeout hold, and [upstream_tls] reaches HTTPS backends verified. The
// default suites are Mozilla's intermediate profile, and HSTS is sent on the TLS listener only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { backendsToml, type TestBackend } from '../helpers/backends.ts';
import { createTestCa, issueCertificate, OPENSSL, type TestCa } from '../helpers/certificates.ts';
import { connect as tlsConnect } from 'node:tls';
import { metricValue, testConfig } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl } from '../helpers/sibyl-process.ts';
import { findExecutable, skipUnlessTool } from '../helpers/requires-tool.ts';
import { backends, peerCertificate, serveTls, tlsToml } from '../helpers/tls-fixture.ts';

const skip = skipUnlessTool('openssl', OPENSSL);
const CURL = findExecutable('curl');

test('HTTPS requests reach the backends with the same strategies and metrics as HTTP/1.1', { skip }, async (t) => {
  const ca = await createTestCa();
  const cert = await issueCertificate(ca, 'server', ['localhost', '127.0.0.1']);
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const sibyl = await serveTls(t, `${tlsToml(cert)}\n${backendsToml([a, b])}`);

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
  const sibyl = await serveTls(t, `${tlsToml(cert)}\n${backendsToml([a])}`);
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
  const sibyl = await serveTls(
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
  const sibyl = await serveTls(t, `${tlsToml(cert, 'min_version = "TLSv1.3"')}\n${backendsToml([a])}`);
  await assert.rejects(peerCertificate(sibyl.port, ca, 'localhost', { maxVersion: 'TLSv1.2' }));
  assert.equal((await peerCertificate(sibyl.port, ca, 'localhost')).subject.CN, 'localhost');
  await eventually(async () => ((await metricValue(sibyl.adminUrl, 'sibyl_tls_handshake_errors_total', { reason: 'protocol_version' })) ?? 0) >= 1, 5000);
});

test('[upstream_tls] and a backend\'s own `tls` reach HTTPS backends, verified against the CA file and server name', { skip }, async (t) => {
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

  // a mixed pool: [upstream_tls] off, one backend with its own `tls = true`, one cleartext
  const [plain] = (await backends(t, ['plain'])) as [TestBackend];
  const mixed = await startSibyl(
    testConfig(
      `[health]\ninterval = "200ms"\ntimeout = "100ms"\nhealthy_threshold = 1\n[upstream_tls]\nca_file = "${ca.certFile}"\nserver_name = "backend.test"\n` +
        `[[backends]]\nname = "tls"\naddress = "${address}"\ntls = true\n${backendsToml([plain])}`,
    ),
  );
  t.after(() => mixed.stop());
  const bodies = await Promise.all(Array.from({ length: 4 }, async (_, i) => (await fetch(`${mixed.proxyUrl}/mixed${i}`)).text()));
  assert.equal(bodies.filter((b) => b.startsWith('secure backend /mixed')).length, 2);
  assert.equal(bodies.filter((b) => b.startsWith('plain:GET:/mixed')).length, 2);
  for (const name of ['tls', 'plain']) {
    await eventually(async () => ((await metricValue(mixed.adminUrl, 'sibyl_health_checks_total', { backend: name, result: 'success' })) ?? 0) >= 1, 5000);
    assert.equal(await metricValue(mixed.adminUrl, 'sibyl_health_checks_total', { backend: name, result: 'failure' }), undefined, `${name} probed in its own protocol`);
  }
});

test('a client that never finishes its handshake is cut after client_header_timeout and counted', { skip, timeout: 20_000 }, async (t) => {
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

/** One handshake: the protocol and cipher negotiated, or the error. */
function handshake(port: number, ca: TestCa, options: { ciphers?: string; maxVersion?: 'TLSv1.2' }): Promise<{ protocol: string | null; cipher: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: ca.certPem, servername: 'localhost', ...options }, () => {
      resolve({ protocol: socket.getProtocol(), cipher: socket.getCipher().name });
      socket.end();
    });
    socket.once('error', reject);
  });
}

test('default TLS settings are Mozilla intermediate: TLS 1.2 AEAD suites only (no CBC), TLS 1.3 as Node has it; `ciphers` overrides TLS 1.2 only', { skip }, async (t) => {
  const ca = await createTestCa();
  const cert = await issueCertificate(ca, 'server', ['localhost']);
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const sibyl = await serveTls(t, `${tlsToml(cert)}\n${backendsToml([a])}`);
  assert.deepEqual(await handshake(sibyl.port, ca, {}), { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' });
  assert.deepEqual(await handshake(sibyl.port, ca, { maxVersion: 'TLSv1.2' }), { protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
  // a TLS 1.2 client offering only CBC suites (what LUCKY13 needs) finds no shared cipher
  await assert.rejects(handshake(sibyl.port, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA' }));

  // an explicit TLS 1.2 list (here a CBC suite) replaces the TLS 1.2 suites; TLS 1.3 stays on
  const custom = await serveTls(t, `${tlsToml(cert, 'ciphers = "ECDHE-ECDSA-AES128-SHA256"')}\n${backendsToml([a])}`);
  assert.deepEqual(await handshake(custom.port, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256' }), { protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-SHA256' });
  assert.equal((await handshake(custom.port, ca, {})).protocol, 'TLSv1.3');
});

test('hsts_max_age_seconds sends Strict-Transport-Security on the TLS listener (HTTP/1.1 and HTTP/2), never on a cleartext one', { skip }, async (t) => {
  const ca = await createTestCa();
  const cert = await issueCertificate(ca, 'server', ['localhost']);
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const hsts = 'hsts_max_age_seconds = 31536000\nhsts_include_subdomains = true';
  const sibyl = await serveTls(t, `${tlsToml(cert, hsts)}\n${backendsToml([a])}`);
  const agent = new Agent({ connect: { ca: ca.certPem, servername: 'localhost' } });
  t.after(() => agent.close());
  const res = await request(`https://127.0.0.1:${sibyl.port}/h1`, { dispatcher: agent });
  await res.body.text();
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  // Sibyl's own error answers carry it too
  const missing = await request(`https://127.0.0.1:${sibyl.port}/${'x'.repeat(9000)}`, { dispatcher: agent });
  await missing.body.text();
  assert.equal(missing.statusCode, 414);
  assert.equal(missing.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');

  const { connect: http2Connect } = await import('node:http2');
  const session = http2Connect(`https://127.0.0.1:${sibyl.port}`, { ca: ca.certPem, servername: 'localhost' });
  t.after(() => session.close());
  const h2Headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const stream = session.request({ ':path': '/h2' });
    stream.once('response', (headers) => {
      stream.resume();
      resolve(headers);
    });
    stream.once('error', reject);
  });
  assert.equal(h2Headers[':status'], 200);
  assert.equal(h2Headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');

  // the same keys with TLS off: a cleartext listener never sends it
  const cleartext = await startSibyl(testConfig(`[health]\nenabled = false\n[tls]\nenabled = false\nhsts_max_age_seconds = 600\n${backendsToml([a])}`));
  t.after(() => cleartext.stop());
  const plain = await fetch(`${cleartext.proxyUrl}/plain`);
  await plain.text();
  assert.equal(plain.status, 200);
  assert.equal(plain.headers.get('strict-transport-security'), null);
});
