// The registry: one Discovery per [discovery] config; undefined for static (the config's [[backends]]).
import type { DiscoveryConfig } from '../config/schema-discovery.ts';
import type { Discovery } from './discovery.ts';
import { createDnsDiscovery } from './dns-discovery.ts';
import { createFileDiscovery } from './file-discovery.ts';

export function createDiscovery(config: DiscoveryConfig): Discovery | undefined {
  switch (config.kind) {
    case 'static':
      return undefined;
    case 'file':
      return createFileDiscovery(config.path ?? '');
    case 'dns':
      return createDnsDiscovery(config);
    default: {
      const unknown: never = config.kind;
      throw new RangeError(`unknown discovery kind: ${String(unknown)}`);
    }
  }
}
