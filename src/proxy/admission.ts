// accept-phase checks on a parsed request: URL length, Host, request target form, body size.
// Node's parser already rejected malformed framing, oversized headers and slow headers.
import type { IncomingMessage } from 'node:http';
import { Errors, type ErrorSpec } from '../core/errors.ts';
import type { ProxySettings } from '../runtime/settings.ts';

export function checkRequest(req: IncomingMessage, s: ProxySettings): ErrorSpec | undefined {
  const url = req.url ?? '';
  if (url.length > s.maxUrlBytes) return Errors.urlTooLong;
  if (req.httpVersionMajor === 1 && !hasValidHost(req)) return Errors.badHost;
  if (url.charCodeAt(0) !== 47 /* '/' */) {
    const error = normaliseAbsoluteForm(req);
    if (error !== undefined) return error;
  }
  const contentLength = req.headers['content-length'];
  if (contentLength !== undefined && Number(contentLength) > s.maxBodyBytes) return Errors.bodyTooLarge;
  return undefined;
}

/** uri-host [ ":" port ] (RFC 9110 7.2, RFC 3986 3.2.2): an IP-literal, or a reg-name (IPv4 included). */
const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]*)?$/;

let lastValidHost = '';

/**
 * RFC 9112 3.2: an HTTP/1.1 request without Host, and any request with more than one Host or an
 * invalid one, is a 400 (nginx refuses the same, and ".." in a host as well). A backend must never
 * see two Hosts (which one would it route on?). HTTP/1.0 may omit it.
 */
function hasValidHost(req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (host === undefined) return req.httpVersionMinor === 0;
  // most requests repeat the Host before them: skip the pattern for it
  if (host !== lastValidHost) {
    if (!HOST_VALUE.test(host) || host.includes('..')) return false;
    lastValidHost = host;
  }
  // Node keeps only the first Host in req.headers; the raw list has them all
  const raw = req.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++count > 1) return false;
  }
  return true;
}

/**
 * Absolute-form targets (RFC 9112 3.2.2) are accepted only for the host the request names in Host:
 * Sibyl is a reverse proxy, never an open forward proxy. The target is rewritten to origin-form.
 */
function normaliseAbsoluteForm(req: IncomingMessage): ErrorSpec | undefined {
  const url = req.url ?? '';
  if (!/^https?:\/\//i.test(url)) return url === '*' && req.method === 'OPTIONS' ? undefined : Errors.badRequest;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Errors.badRequest;
  }
  const host = req.headers.host?.toLowerCase();
  if (host === undefined || target.host.toLowerCase() !== host) return Errors.forbiddenProxy;
  req.url = `${target.pathname}${target.search}`;
  return undefined;
}

export function hasRequestBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return (cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined;
}
