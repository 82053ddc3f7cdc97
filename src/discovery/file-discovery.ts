// File discovery: a JSON or TOML list of backends, re-read on every refresh (the supervisor applies
// it only when the set changed). A file that cannot be read or parsed is a failure: the last good
// set stays in service.
import { readFile } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { parseBackendList } from './backend-list.ts';
import { EMPTY, failed, type Discovery, type DiscoveryResult } from './discovery.ts';

function parseDocument(path: string, text: string): unknown {
  return /\.toml$/i.test(path) ? parseToml(text) : JSON.parse(text);
}

export function createFileDiscovery(path: string): Discovery {
  return {
    source: path,
    async discover(signal: AbortSignal): Promise<DiscoveryResult> {
      let document: unknown;
      try {
        document = parseDocument(path, await readFile(path, { encoding: 'utf8', signal }));
      } catch (error) {
        // a file half-written by a non-atomic editor lands here too, and is retried next interval
        return failed(error);
      }
      const list = parseBackendList(document);
      if (!list.ok) return { ok: false, reason: 'failed', message: list.message };
      if (list.backends.length === 0) return EMPTY;
      return { ok: true, backends: list.backends, ttlMs: undefined };
    },
  };
}
