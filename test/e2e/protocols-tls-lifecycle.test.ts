// TLS certificates over their life with the real `sibyl` binary: bad files are config errors, the
// example validates, a certificate swapped on disk is picked up under load with no failed request,
// a broken file keeps the old one, and a config reload changes versions and SNI certificates.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { backendsToml, type TestBackend } from '../helpers/backends.ts';
import { createTestCa, issueCertificate, OPENSSL, replaceCertificate } from '../helpers/certificates.ts';
import { metricValue, testConfig } from '../helpers/sibyl-control.ts';
import { runSibyl } from '../helpers/sibyl-cli.ts';
import { eventually, startSibyl, writeTempConfig } from '../helpers/sibyl-process.ts';
import { skipUnlessTool } from '../helpers/requires-tool.ts';
import { backends, httpsGet, peerCertificate, serveTls, tlsToml } from '../helpers/tls-fixture.ts';

const skip = skipUnlessTool('openssl', OPENSSL);

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
  const sibyl = await serveTls(t, `${tlsToml(live, 'reload_interval = "200ms"')}\n${backendsToml([a, b])}`);
  const oldSerial = (await peerCertificate(sibyl.port, ca, 'localhost')).serialNumber;
  // an HTTP/1.1 keep-alive connection opened before the swap must live through it
  const keepAlive = new Agent({ connect: { ca: ca.certPem, servername: 'localhost' }, connections: 1 });
  t.after(() => keepAlive.close());
  assert.equal((await request(`https://127.0.0.1:${sibyl.port}/before`, { dispatcher: keepAlive })).statusCode, 200);
  // and so must an HTTP/2 connection
  const { connect: connectH2 } = await import('node:http2');
  const h2 = connectH2(`https://localhost:${sibyl.port}`, { ca: ca.certPem });
  h2.on('error', () => undefined);
  t.after(() => h2.destroy());
  const h2Get = (path: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const stream = h2.request({ ':path': path }, { endStream: true });
      let status = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.resume();
      stream.once('end', () => resolve(status));
      stream.once('error', reject);
    });
  assert.equal(await h2Get('/h2-before'), 200);

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
  assert.equal(await h2Get('/h2-after'), 200, 'the HTTP/2 connection opened before the swap still works');
});

test('a certificate file broken on disk keeps the old certificate in use and counts a failed reload', { skip }, async (t) => {
  const ca = await createTestCa();
  const live = await issueCertificate(ca, 'live', ['localhost']);
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const sibyl = await serveTls(t, `${tlsToml(live, 'reload_interval = "100ms"')}\n${backendsToml([a])}`);
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

test('examples/tls/sibyl.toml validates once its certificate files exist', { skip }, async () => {
  const { readFile, copyFile } = await import('node:fs/promises');
  const ca = await createTestCa();
  const main = await issueCertificate(ca, 'default', ['localhost']);
  const api = await issueCertificate(ca, 'api', ['api.example.com']);
  await copyFile(ca.certFile, `${ca.dir}/internal-ca.pem`);
  const example = await readFile(new URL('../../examples/tls/sibyl.toml', import.meta.url), 'utf8');
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
