// Shared pieces of the protocols-tls*.test.ts e2e files: a [tls] section, backends and a Sibyl
// on loopback, and TLS clients that report the certificate they were shown.
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { TestContext } from 'node:test';
import { startTestBackend, type TestBackend } from './backends.ts';
import type { TestCa, TestCertificate } from './certificates.ts';
import { testConfig } from './sibyl-control.ts';
import { startSibyl, type SibylProcess } from './sibyl-process.ts';

export function tlsToml(cert: TestCertificate, extra = ''): string {
  return `[tls]\nenabled = true\ncert_file = "${cert.certFile}"\nkey_file = "${cert.keyFile}"\n${extra}`;
}

export async function backends(t: TestContext, names: string[]): Promise<TestBackend[]> {
  const started = await Promise.all(names.map((n) => startTestBackend(n)));
  t.after(() => Promise.all(started.map((b) => b.close())));
  return started;
}

export async function serveTls(t: TestContext, sections: string): Promise<SibylProcess & { port: number }> {
  const sibyl = await startSibyl(testConfig(`[health]\nenabled = false\n\n${sections}`));
  t.after(() => sibyl.stop());
  return Object.assign(sibyl, { port: Number(new URL(sibyl.proxyUrl).port) });
}

/** The certificate the listener presents to a handshake naming `servername` (undefined: no SNI). */
export function peerCertificate(port: number, ca: TestCa, servername: string | undefined, options: { maxVersion?: 'TLSv1.2' } = {}): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: ca.certPem, ...(servername === undefined ? { checkServerIdentity: () => undefined } : { servername }), ...options }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once('error', reject);
  });
}

/** One HTTPS request on a fresh connection (a fresh handshake), answered or failed. */
export function httpsGet(port: number, ca: TestCa, path: string): Promise<{ status: number; body: string; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca: ca.certPem, servername: 'localhost', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const cn = String((res.socket as TLSSocket).getPeerCertificate().subject.CN);
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), cn }));
    });
    req.once('error', reject);
    req.end();
  });
}
