// Builds the backend list of a new generation, reusing live Backend objects whose name and
// address are unchanged (health, EWMAs and open connections survive a reload).
import { parseHostPort } from '../core/address.ts';
import type { Config } from '../config/schema.ts';
import { Backend, backendKey, type UpstreamPoolOptions } from './backend.ts';
import { isTlsBackend, upstreamTlsFrom } from './upstream-tls.ts';

export function upstreamPoolOptionsFrom(config: Config): UpstreamPoolOptions {
  return {
    connections: config.proxy.upstreamConnections,
    connectTimeoutMs: config.proxy.connectTimeout,
    headersTimeoutMs: config.proxy.responseHeaderTimeout,
    bodyTimeoutMs: config.proxy.upstreamBodyTimeout,
    keepAliveTimeoutMs: config.proxy.upstreamKeepAliveTimeout,
    tls: undefined,
  };
}

export interface BackendSetChange {
  readonly backends: Backend[];
  readonly added: Backend[];
  readonly removed: Backend[];
}

/** `list` is every backend of every pool (names are unique across pools); the default pool's may come from discovery. */
export function buildBackendSet(config: Config, list: readonly { id?: number | undefined; name: string; address: string; weight: number; tls?: boolean | undefined }[], live: ReadonlyMap<string, Backend>, now: () => number): BackendSetChange {
  const poolOptions = upstreamPoolOptionsFrom(config);
  // read (the CA file) only when some backend uses TLS
  const tls = list.some((b) => isTlsBackend(config, b)) ? upstreamTlsFrom(config) : undefined;
  const backends: Backend[] = [];
  const added: Backend[] = [];
  const keep = new Set<string>();
  for (const b of list) {
    // the schema validated the address; parseHostPort cannot fail here
    const hp = parseHostPort(b.address) ?? { host: '127.0.0.1', port: 0 };
    const spec = { name: b.name, host: hp.host, port: hp.port, weight: b.weight };
    const isTls = isTlsBackend(config, b);
    const key = backendKey(spec, isTls);
    keep.add(key);
    let backend = live.get(key);
    if (backend === undefined) {
      backend = new Backend(spec, { ...poolOptions, tls: isTls ? tls : undefined }, now);
      added.push(backend);
    } else {
      backend.weight = spec.weight;
    }
    backend.configId = b.id;
    backends.push(backend);
  }
  const removed = [...live.values()].filter((b) => !keep.has(b.key));
  return { backends, added, removed };
}
