// Config section of service discovery: where the backend list comes from ([[backends]], a watched
// file, or DNS), and how often it is refreshed.
import * as z from 'zod';
import { duration } from './fields.ts';

export const DiscoveryKinds = ['static', 'file', 'dns'] as const;
export const DnsRecordTypes = ['A', 'AAAA', 'SRV'] as const;

const resolverAddress = z
  .string()
  .regex(/^(?:\[[0-9a-fA-F:.]+\]|[0-9.]+|[0-9a-fA-F:]+)(?::\d{1,5})?$/, { error: 'expected an IP address, optionally with a port ("127.0.0.1:5353", "[::1]:53")' })
  .meta({ docType: '"ip[:port]"' });

export const discoverySchema = z
  .strictObject({
    kind: z.enum(DiscoveryKinds).default('static').describe('Where the backends come from: `static` = the [[backends]] tables; `file` = a JSON or TOML file of backends, re-read when it changes; `dns` = A/AAAA or SRV records, re-resolved. With `file` and `dns`, [[backends]] must be empty.'),
    path: z.string().min(1).optional().describe('`file` only (required): the backends file, `.json` (a list, or `{"backends": [...]}`) or `.toml` (`[[backends]]` tables), each backend with `address` and optional `name` and `weight`. Relative to the working directory.'),
    name: z.string().min(1).optional().describe('`dns` only (required): the name to resolve, e.g. `api.internal` (A/AAAA) or `_http._tcp.api.internal` (SRV).'),
    recordType: z.enum(DnsRecordTypes).default('A').describe('`dns` only: `A` or `AAAA` (addresses; the port is `port`), or `SRV` (targets, ports and weights from the records; only the lowest priority is used).'),
    port: z.int().min(1).max(65535).optional().describe('`dns` with `A`/`AAAA` only (required): the port the backends listen on.'),
    weight: z.int().min(1).max(10_000).default(1).describe('`dns` with `A`/`AAAA`: the weight of every discovered backend (SRV records carry their own).'),
    interval: duration().prefault('5s').describe('`file`: how often the file is checked for changes. `dns`: the refresh period when the answer has no usable TTL (SRV), and the retry period after a failed resolution.'),
    minTtl: duration().prefault('1s').describe('`dns`: the earliest re-resolution after an answer, whatever its TTL (guards against TTL 0).'),
    maxTtl: duration().prefault('60s').describe('`dns`: the latest re-resolution after an answer, whatever its TTL. Must be >= `min_ttl`.'),
    timeout: duration().prefault('2s').describe('Time one refresh (file read or DNS resolution) may take; on expiry it counts as failed and the last good set stays.'),
    resolvers: z.array(resolverAddress).default([]).meta({ docType: 'list of "ip[:port]"' }).describe('`dns`: the DNS servers to ask; empty = the system\'s resolvers (/etc/resolv.conf).'),
  })
  .superRefine((d, ctx) => {
    if (d.kind === 'file' && d.path === undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: 'required when kind = "file"' });
    if (d.kind === 'dns' && d.name === undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: 'required when kind = "dns"' });
    if (d.kind === 'dns' && d.recordType !== 'SRV' && d.port === undefined) ctx.addIssue({ code: 'custom', path: ['port'], message: `required when kind = "dns" and record_type = "${d.recordType}"` });
    if (d.maxTtl < d.minTtl) ctx.addIssue({ code: 'custom', path: ['maxTtl'], message: 'must be >= min_ttl' });
  })
  .describe('Service discovery: where the backend list comes from. A failed or empty refresh keeps the last good set.');

export type DiscoveryConfig = z.output<typeof discoverySchema>;
