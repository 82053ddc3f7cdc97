// TLS termination's certificates: a default one and extra ones chosen by SNI, each a SecureContext
// swapped in place when its files change, so new handshakes get the new certificate while open
// connections keep the one they negotiated.
import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, DEFAULT_CIPHERS, type SecureContext, type SecureContextOptions, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/catalogue.ts';

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** Empty for the default certificate. */
  readonly serverNames: readonly string[];
}

export interface TlsListenerOptions {
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list (TLS 1.2, and TLS 1.3 when it names `TLS_*` suites); undefined: Node's. */
  readonly ciphers: string | undefined;
  /** Strict-Transport-Security value sent on this listener's responses; undefined: none. */
  readonly hsts: string | undefined;
  readonly defaultCertificate: CertificateFiles;
  readonly certificates: readonly CertificateFiles[];
  readonly reloadIntervalMs: number;
  /** A client that has not finished its handshake by then is cut (slowloris before any HTTP). */
  readonly handshakeTimeoutMs: number;
}

interface Loaded {
  readonly files: CertificateFiles;
  /** min_version and ciphers it was built with: a change rebuilds it though its files did not change. */
  readonly contextKey: string;
  /** Digest of the files' contents last tried, so an unchanged broken file is not retried and recounted. */
  digest: string;
  context: SecureContext;
  pem: { cert: string; key: string };
}

/** Node's TLS 1.3 suites, in its order. */
const NODE_TLS13_SUITES = DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_'));

/**
 * Node takes TLS 1.2 and TLS 1.3 suites from one list and turns TLS 1.3 off when the list names
 * none: a TLS 1.2 list gets Node's TLS 1.3 suites in front.
 */
export function withTls13Suites(ciphers: string): string {
  return ciphers.split(':').some((c) => c.startsWith('TLS_')) ? ciphers : [...NODE_TLS13_SUITES, ciphers].join(':');
}

function certificateLabel(files: CertificateFiles): string {
  return files.serverNames[0] ?? 'default';
}

async function readPair(files: CertificateFiles): Promise<{ cert: string; key: string; digest: string }> {
  const [cert, key] = await Promise.all([readFile(files.certFile, 'utf8'), readFile(files.keyFile, 'utf8')]);
  return { cert, key, digest: createHash('sha256').update(cert).update('\0').update(key).digest('hex') };
}

/** `a.example.com` matches `a.example.com` and `*.example.com` (one label only, RFC 6125 6.4.3). */
export function matchesServerName(pattern: string, serverName: string): boolean {
  const p = pattern.toLowerCase();
  const name = serverName.toLowerCase();
  if (!p.startsWith('*.')) return p === name;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot + 1) === p.slice(2);
}

function handshakeErrorReason(err: Error & { code?: string }): string {
  const text = `${err.code ?? ''} ${err.message}`;
  if (/VERSION|UNSUPPORTED_PROTOCOL|unsupported protocol/i.test(text)) return 'protocol_version';
  if (/NO_SHARED_CIPHER|NO_CIPHERS|cipher/i.test(text)) return 'no_shared_cipher';
  if (/HANDSHAKE_TIMEOUT|timed? ?out/i.test(text)) return 'timeout';
  if (/ECONNRESET|socket hang up/i.test(text)) return 'reset';
  return 'other';
}

export class CertificateStore {
  #options: TlsListenerOptions;
  #default: Loaded | undefined;
  #byName: Loaded[] = [];
  #timer: NodeJS.Timeout | undefined;
  #server: TlsServer | undefined;
  readonly #metrics: Metrics;
  readonly #logger: Logger;

  constructor(options: TlsListenerOptions, deps: { metrics: Metrics; logger: Logger }) {
    this.#options = options;
    this.#metrics = deps.metrics;
    this.#logger = deps.logger;
  }

  /** Loads every certificate; throws when one cannot be used (the config check said it could). */
  async load(): Promise<void> {
    this.#default = await this.#loadFresh(this.#options.defaultCertificate);
    this.#byName = await Promise.all(this.#options.certificates.map((files) => this.#loadFresh(files)));
  }

  /** What tls.createServer / http2.createSecureServer take. */
  serverOptions(): SecureContextOptions & { handshakeTimeout: number; SNICallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void } {
    const pem = this.#default?.pem ?? { cert: '', key: '' };
    return { ...this.#contextOptions(), cert: pem.cert, key: pem.key, handshakeTimeout: this.#options.handshakeTimeoutMs, SNICallback: (name, cb) => cb(null, this.contextFor(name)) };
  }

  /** The context a handshake naming `serverName` gets; the default when nothing matches. */
  contextFor(serverName: string): SecureContext | undefined {
    for (const loaded of this.#byName) {
      if (loaded.files.serverNames.some((pattern) => matchesServerName(pattern, serverName))) return loaded.context;
    }
    return this.#default?.context;
  }

  /** Handshake metrics, and polling of the files for changes. */
  attach(server: TlsServer): void {
    this.#server = server;
    server.on('secureConnection', (socket: TLSSocket) => {
      this.#metrics.tlsHandshakes.inc({ alpn: socket.alpnProtocol === false || socket.alpnProtocol === null ? 'none' : socket.alpnProtocol, version: socket.getProtocol() ?? 'unknown' });
    });
    server.on('tlsClientError', (err: Error & { code?: string }) => this.#metrics.tlsHandshakeErrors.inc({ reason: handshakeErrorReason(err) }));
    this.#schedule();
  }

  /** A reloaded config: new files or settings are loaded at the next check (now). */
  apply(options: TlsListenerOptions): void {
    this.#options = options;
    void this.checkForChanges();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Reloads what changed; a pair that fails keeps its previous context. Exposed for tests. */
  async checkForChanges(): Promise<void> {
    const options = this.#options;
    const wanted = [options.defaultCertificate, ...options.certificates];
    const current = [this.#default, ...this.#byName];
    const next: Loaded[] = [];
    let isChanged = false;
    for (const [i, files] of wanted.entries()) {
      const previous = current[i]?.files.certFile === files.certFile && current[i]?.files.keyFile === files.keyFile ? current[i] : undefined;
      const loaded = await this.#reload(files, previous);
      if (loaded === undefined) return; // the first load of a new pair failed: keep the whole old set
      isChanged ||= loaded !== previous;
      next.push(loaded);
    }
    const [first, ...rest] = next;
    this.#default = first;
    this.#byName = rest;
    if (isChanged && first !== undefined) {
      // the default certificate serves handshakes without SNI: swap the server's own context
      this.#server?.setSecureContext({ ...this.#contextOptions(), cert: first.pem.cert, key: first.pem.key });
    }
  }

  #contextOptions(): SecureContextOptions {
    return { minVersion: this.#options.minVersion, ...(this.#options.ciphers === undefined ? {} : { ciphers: withTls13Suites(this.#options.ciphers) }) };
  }

  #contextKey(): string {
    return `${this.#options.minVersion}|${this.#options.ciphers ?? ''}`;
  }

  async #loadFresh(files: CertificateFiles): Promise<Loaded> {
    const pair = await readPair(files);
    return this.#build(files, pair);
  }

  #build(files: CertificateFiles, pair: { cert: string; key: string; digest: string }): Loaded {
    const context = createSecureContext({ ...this.#contextOptions(), cert: pair.cert, key: pair.key });
    const expiry = Date.parse(new X509Certificate(pair.cert).validTo);
    this.#metrics.tlsExpiry.set({ certificate: certificateLabel(files) }, Math.round(expiry / 1000));
    return { files, contextKey: this.#contextKey(), digest: pair.digest, context, pem: { cert: pair.cert, key: pair.key } };
  }

  async #reload(files: CertificateFiles, previous: Loaded | undefined): Promise<Loaded | undefined> {
    let pair: { cert: string; key: string; digest: string };
    try {
      pair = await readPair(files);
    } catch (error) {
      // a file mid-rewrite or gone: keep serving the old certificate, say so once per interval
      this.#metrics.tlsReloads.inc({ result: 'failed' });
      this.#logger.warn({ certFile: files.certFile, keyFile: files.keyFile, cause: (error as Error).message }, 'certificate reload failed: the previous certificate stays in use');
      return previous;
    }
    if (previous !== undefined && previous.digest === pair.digest && previous.contextKey === this.#contextKey()) return previous;
    try {
      const loaded = this.#build(files, pair);
      this.#metrics.tlsReloads.inc({ result: 'ok' });
      this.#logger.info({ certFile: files.certFile, certificate: certificateLabel(files) }, 'certificate reloaded');
      return loaded;
    } catch (error) {
      this.#metrics.tlsReloads.inc({ result: 'failed' });
      this.#logger.warn({ certFile: files.certFile, keyFile: files.keyFile, cause: (error as Error).message }, 'certificate reload failed: the previous certificate stays in use');
      if (previous !== undefined) previous.digest = pair.digest; // not retried until the files change again
      return previous;
    }
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      void this.checkForChanges().finally(() => {
        if (this.#timer !== undefined) this.#schedule();
      });
    }, this.#options.reloadIntervalMs);
    this.#timer.unref();
  }
}
