// RFC 9110 proxy header rules: hop-by-hop headers never cross the proxy; forwarding headers are added.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Header names listed in Connection are hop-by-hop too (RFC 9110 7.6.1). */
function connectionListed(value: string | undefined): Set<string> | undefined {
  // nearly every message says one of these two: skip the split
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') return undefined;
  let listed: Set<string> | undefined;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive') continue;
    (listed ??= new Set()).add(name);
  }
  return listed;
}

export interface ForwardingInfo {
  readonly clientIp: string;
  readonly proto: string;
  readonly requestIdHeader: string;
  readonly requestId: string;
  readonly via: string | undefined;
  /** Keep Connection: upgrade and Upgrade (WebSocket handshake). */
  readonly isUpgrade: boolean;
}

/**
 * Request headers for the backend, as a flat [name, value, ...] list (what undici and raw
 * HTTP writers take without another conversion).
 */
export function upstreamRequestHeaders(raw: readonly string[], connection: string | undefined, info: ForwardingInfo): string[] {
  const listed = connectionListed(connection);
  const out: string[] = [];
  let xff: string | undefined;
  let host: string | undefined;
  let via: string | undefined;
  let authority: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    // HTTP/2 pseudo-headers: :authority becomes Host when the client sent none (RFC 9113 8.3.1)
    if (lower.charCodeAt(0) === 58 /* ':' */) {
      if (lower === ':authority') authority = value;
      continue;
    }
    if (HOP_BY_HOP.has(lower)) {
      if (!info.isUpgrade || (lower !== 'upgrade' && lower !== 'connection')) continue;
    }
    // an upgrade's own Connection: upgrade lists Upgrade, which must still reach the backend
    if (listed?.has(lower) === true && !(info.isUpgrade && lower === 'upgrade')) continue;
    if (lower === 'x-forwarded-for') {
      xff = xff === undefined ? value : `${xff}, ${value}`;
      continue;
    }
    if (lower === 'x-forwarded-proto' || lower === 'x-forwarded-host' || lower === info.requestIdHeader) continue;
    if (lower === 'via') {
      via = via === undefined ? value : `${via}, ${value}`;
      continue;
    }
    if (lower === 'host') host = value;
    out.push(name, value);
  }
  if (host === undefined && authority !== undefined) {
    host = authority;
    out.push('host', authority);
  }
  out.push('x-forwarded-for', xff === undefined ? info.clientIp : `${xff}, ${info.clientIp}`);
  out.push('x-forwarded-proto', info.proto);
  if (host !== undefined) out.push('x-forwarded-host', host);
  out.push(info.requestIdHeader, info.requestId);
  if (info.via !== undefined) out.push('via', via === undefined ? info.via : `${via}, ${info.via}`);
  else if (via !== undefined) out.push('via', via);
  return out;
}

/** Response headers for the client from undici's raw Buffer list, hop-by-hop removed. */
export function clientResponseHeaders(raw: readonly Buffer[], info: { requestIdHeader: string; requestId: string; via: string | undefined }): string[] {
  const out: string[] = [];
  let listed: Set<string> | undefined;
  let via: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1');
    const lower = name.toLowerCase();
    const value = (raw[i + 1] as Buffer).toString('latin1');
    if (lower === 'connection') {
      listed = connectionListed(value);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || lower === info.requestIdHeader) continue;
    if (lower === 'via') {
      via = via === undefined ? value : `${via}, ${value}`;
      continue;
    }
    out.push(name, value);
  }
  if (listed !== undefined) {
    for (let i = out.length - 2; i >= 0; i -= 2) {
      if (listed.has((out[i] as string).toLowerCase())) out.splice(i, 2);
    }
  }
  out.push(info.requestIdHeader, info.requestId);
  if (info.via !== undefined) out.push('via', via === undefined ? info.via : `${via}, ${info.via}`);
  else if (via !== undefined) out.push('via', via);
  return out;
}
