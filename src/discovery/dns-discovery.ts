// DNS discovery: A/AAAA records (addresses, one configured port) or SRV records (targets, ports
// and weights; only the lowest priority, RFC 2782). Node's resolver reports TTLs for A/AAAA only,
// so the TTL of an SRV answer is that of its targets' address records (none for IP targets).
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { DiscoveryConfig } from '../config/schema-discovery.ts';
import { EMPTY, failed, type DiscoveredBackend, type Discovery, type DiscoveryResult } from './discovery.ts';

interface Address {
  readonly address: string;
  readonly ttl: number | undefined;
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function isNoData(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ENODATA' || code === 'ENOTFOUND';
}

async function addressesOf(resolver: Resolver, host: string, family: 'A' | 'AAAA' | 'any'): Promise<Address[]> {
  if (isIP(host) !== 0) return [{ address: host, ttl: undefined }];
  if (family === 'AAAA') return resolver.resolve6(host, { ttl: true });
  try {
    return await resolver.resolve4(host, { ttl: true });
  } catch (error) {
    // an SRV target may have only AAAA records
    if (family === 'any' && isNoData(error)) return resolver.resolve6(host, { ttl: true });
    throw error;
  }
}

function minTtlMs(addresses: readonly Address[]): number | undefined {
  const ttls = addresses.map((a) => a.ttl).filter((t): t is number => t !== undefined);
  return ttls.length === 0 ? undefined : Math.min(...ttls) * 1000;
}

export function createDnsDiscovery(config: DiscoveryConfig): Discovery {
  const name = config.name ?? '';
  const resolver = new Resolver({ timeout: config.timeout, tries: 1 });
  if (config.resolvers.length > 0) resolver.setServers(config.resolvers);

  const resolveAddresses = async (): Promise<DiscoveryResult> => {
    const records = await addressesOf(resolver, name, config.recordType === 'AAAA' ? 'AAAA' : 'A');
    const port = config.port ?? 0;
    const backends = records.map((r) => ({ name: hostPort(r.address, port), address: hostPort(r.address, port), weight: config.weight }));
    return { ok: true, backends, ttlMs: minTtlMs(records) };
  };

  const resolveSrv = async (): Promise<DiscoveryResult> => {
    const records = await resolver.resolveSrv(name);
    const best = Math.min(...records.map((r) => r.priority));
    const chosen = records.filter((r) => r.priority === best);
    const all: Address[] = [];
    const backends: DiscoveredBackend[] = [];
    const seen = new Set<string>();
    for (const r of chosen) {
      const addresses = await addressesOf(resolver, r.name, 'any');
      all.push(...addresses);
      for (const a of addresses) {
        const address = hostPort(a.address, r.port);
        if (seen.has(address)) continue;
        seen.add(address);
        // SRV weight 0 means "rarely, when others exist"; a backend weight of 0 would mean "never"
        backends.push({ name: address, address, weight: Math.max(1, Math.min(10_000, r.weight)) });
      }
    }
    return { ok: true, backends, ttlMs: minTtlMs(all) };
  };

  return {
    source: `${name} ${config.recordType}`,
    async discover(signal: AbortSignal): Promise<DiscoveryResult> {
      const onAbort = (): void => resolver.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        const result = config.recordType === 'SRV' ? await resolveSrv() : await resolveAddresses();
        return result.ok && result.backends.length === 0 ? EMPTY : result;
      } catch (error) {
        return isNoData(error) ? { ...EMPTY, message: `${(error as { code?: string }).code ?? 'ENODATA'}: no record for ${name}` } as DiscoveryResult : failed(error);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
  };
}
