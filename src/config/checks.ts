// Cross-field checks. They run even when other keys have problems, so every problem is reported at
// once, but only when the keys they read parsed cleanly.
import type * as z from 'zod';
import { parseHostPort } from '../core/address.ts';

/**
 * Run a refinement only when none of the values it reads has an issue. `keys` are dotted paths
 * relative to the refined object (`admin.listenAddress`); an issue on a table that holds one of them
 * (e.g. `admin` is not a table) blocks too, except an unknown key in that table.
 */
export function whenValid(...keys: string[]): { when: (payload: z.core.ParsePayload) => boolean } {
  const paths = keys.map((key) => key.split('.'));
  const blocks = (issue: z.core.$ZodRawIssue): boolean => {
    const issuePath = (issue.path ?? []).map(String);
    return paths.some((path) => {
      const shared = Math.min(path.length, issuePath.length);
      if (!path.slice(0, shared).every((segment, i) => segment === issuePath[i])) return false;
      return issuePath.length >= path.length || issue.code !== 'unrecognized_keys';
    });
  };
  return { when: (payload) => !payload.issues.some(blocks) };
}

interface BackendInput {
  name?: unknown;
  address?: unknown;
  id?: unknown;
}

/** Normalises "host:port" so that `EXAMPLE.com:80` and `example.com:80` count as one address. */
function addressKey(text: string): string {
  const parsed = parseHostPort(text);
  return parsed === undefined ? text : `${parsed.host.toLowerCase()}:${parsed.port}`;
}

/** Reports each repeated id, name and address at the later backend, naming the first one. */
export function checkBackendsUnique(list: readonly BackendInput[], ctx: z.core.$RefinementCtx): void {
  const ids = new Map<number, number>();
  const names = new Map<string, { index: number; explicit: boolean }>();
  const addresses = new Map<string, number>();
  list.forEach((backend, i) => {
    if (typeof backend !== 'object' || backend === null) return;
    const { id, name, address } = backend;
    if (typeof id === 'number') {
      const first = ids.get(id);
      if (first === undefined) ids.set(id, i);
      else ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate id ${id} (also backends[${first}].id)` });
    }
    let addressTaken = false;
    if (typeof address === 'string') {
      const key = addressKey(address);
      const first = addresses.get(key);
      addressTaken = first !== undefined;
      if (first === undefined) addresses.set(key, i);
      else ctx.addIssue({ code: 'custom', path: [i, 'address'], message: `duplicate address ${JSON.stringify(address)} (also backends[${first}].address)` });
    }
    const explicit = typeof name === 'string';
    const resolved = explicit ? name : typeof address === 'string' ? address : undefined;
    if (resolved === undefined) return;
    const first = names.get(resolved);
    if (first === undefined) {
      names.set(resolved, { index: i, explicit });
    } else if (explicit) {
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate name ${JSON.stringify(resolved)} (also backends[${first.index}])` });
    } else if (!addressTaken) {
      // An unnamed backend is named after its address; that name is already taken by a named one.
      ctx.addIssue({ code: 'custom', path: [i], message: `its name defaults to its address ${JSON.stringify(resolved)}, already the name of backends[${first.index}]; give it a name` });
    }
  });
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/** True when two listen addresses would claim the same port (port 0 is always free to share). */
export function listenersCollide(a: string, b: string): boolean {
  const pa = parseHostPort(a);
  const pb = parseHostPort(b);
  if (pa === undefined || pb === undefined || pa.port === 0 || pa.port !== pb.port) return false;
  return pa.host === pb.host || WILDCARD_HOSTS.has(pa.host) || WILDCARD_HOSTS.has(pb.host);
}
