// Who may use the admin listener, checked before any admin endpoint runs:
// - Host must name this listener (DNS rebinding): a web page on evil.example whose name an attacker
//   re-points at 127.0.0.1 reaches the loopback admin port with the browser's blessing, but its
//   requests say `Host: evil.example`. Accepted: loopback names (localhost, 127.0.0.1, [::1]), the
//   configured listen host, the address the connection arrived on (an IP literal: a probe or a
//   scraper by pod IP), each with the listener's port or none; and the names in
//   [admin] allowed_hosts ("name" with any port, "name:port" with that port). Else 421.
// - Origin, when a browser sends one with a state-changing method, must be this listener (CSRF).
// - Authorization: with [admin] token, `Bearer <token>` (the scheme is case-insensitive, RFC 9110 11.1).
// The probes (/health, /health/live, /health/ready) change nothing and show no config: they stay
// open to any Host and without the token, for orchestrators that probe by any name. POST
// /predict_retry changes nothing and shows no config either: it keeps its token and Origin checks
// but answers any Host, for NGINX and HAProxy, which call it by their upstream's name.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const OPEN_PATHS: ReadonlySet<string> = new Set(['/health', '/health/live', '/health/ready']);

/** Paths that answer any Host: the probes and the prediction API. */
export const ANY_HOST_PATHS: ReadonlySet<string> = new Set([...OPEN_PATHS, '/predict_retry']);

const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);
const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '[::]']);

export interface AdminGuardOptions {
  readonly token: string | undefined;
  /** The host of [admin] listen_address (a wildcard names nothing). */
  readonly listenHost: string;
  /** [admin] allowed_hosts of the config in service: "name" (any port) or "name:port". */
  readonly allowedHosts: () => readonly string[];
}

export interface AdminGuard {
  /** Undefined when Host names this listener (or is absent: not a browser); else why not. */
  misdirected(req: IncomingMessage): string | undefined;
  /** A state-changing request from another origin than the one it was sent to. */
  isCrossOrigin(req: IncomingMessage): boolean;
  isAuthorised(req: IncomingMessage): boolean;
}

/** "[::1]:9090" -> { name: "[::1]", port: "9090" }; names lower-cased, IPv6 in brackets. */
export function splitHost(value: string): { name: string; port: string | undefined } {
  const text = value.trim().toLowerCase();
  const colon = text.startsWith('[') ? text.indexOf(':', text.indexOf(']')) : text.lastIndexOf(':');
  if (colon === -1) return { name: text, port: undefined };
  const port = text.slice(colon + 1);
  return { name: text.slice(0, colon), port: port === '' ? undefined : port };
}

function bracketed(address: string): string {
  const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return plain.includes(':') && !plain.startsWith('[') ? `[${plain}]` : plain.toLowerCase();
}

export function createAdminGuard(options: AdminGuardOptions): AdminGuard {
  const listenHost = bracketed(options.listenHost.toLowerCase());
  // parsed again only when a reload brings another list
  let parsedFrom: readonly string[] | undefined;
  let allowed = { anyPort: new Set<string>(), exact: new Set<string>() };
  const allowedHosts = (): typeof allowed => {
    const list = options.allowedHosts();
    if (list === parsedFrom) return allowed;
    allowed = { anyPort: new Set<string>(), exact: new Set<string>() };
    for (const entry of list) {
      const { name, port } = splitHost(entry);
      if (port === undefined) allowed.anyPort.add(name);
      else allowed.exact.add(`${name}:${port}`);
    }
    parsedFrom = list;
    return allowed;
  };
  const expected = options.token === undefined ? undefined : Buffer.from(options.token);
  return {
    misdirected(req) {
      const host = req.headers.host;
      if (host === undefined) return undefined;
      const { name, port } = splitHost(host);
      const { anyPort, exact } = allowedHosts();
      if (anyPort.has(name) || exact.has(`${name}:${port}`)) return undefined;
      const isListenerPort = port === undefined || port === String(req.socket.localPort);
      const isListenerName = LOOPBACK_NAMES.has(name) || (name === listenHost && !WILDCARD_HOSTS.has(name)) || name === bracketed(req.socket.localAddress ?? '');
      if (isListenerName && isListenerPort) return undefined;
      return `Host ${JSON.stringify(host)} does not name this admin listener (a DNS rebinding guard): use localhost or its address, or add the name to [admin] allowed_hosts`;
    },
    isCrossOrigin(req) {
      if (req.method === 'GET' || req.method === 'HEAD') return false;
      const origin = req.headers.origin;
      if (origin === undefined) return false;
      try {
        return new URL(origin).host !== req.headers.host?.toLowerCase();
      } catch {
        return true; // "null" and other opaque origins
      }
    },
    isAuthorised(req) {
      if (expected === undefined) return true;
      const match = /^bearer +(.*)$/i.exec(req.headers.authorization ?? '');
      const given = Buffer.from(match?.[1] ?? '');
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
