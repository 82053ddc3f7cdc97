// accept-phase checks on a parsed request: URL length, request target form, body size.
// Node's parser already rejected malformed framing, oversized headers and slow headers.
import type { IncomingMessage } from 'node:http';
import { Errors, type ErrorSpec } from '../core/errors.ts';
import type { ProxySettings } from '../runtime/settings.ts';

export function checkRequest(req: IncomingMessage, s: ProxySettings): ErrorSpec | undefined {
  const url = req.url ?? '';
  if (url.length > s.maxUrlBytes) return Errors.urlTooLong;
  if (url.charCodeAt(0) !== 47 /* '/' */) {
    const error = normaliseAbsoluteForm(req);
    if (error !== undefined) return error;
  }
  const contentLength = req.headers['content-length'];
  if (contentLength !== undefined && Number(contentLength) > s.maxBodyBytes) return Errors.bodyTooLarge;
  return undefined;
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
