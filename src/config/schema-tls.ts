// Config sections of the protocols on the wire: TLS termination on the client listener ([tls]),
// HTTP/2 to clients ([http2]) and TLS towards the backends ([upstream_tls]).
import * as z from 'zod';
import { whenValid } from './checks.ts';
import { duration, restartOnly } from './fields.ts';
import { checkCaFile, checkCertificatePair, checkCiphers } from './tls-files.ts';

const count = (min: number) => z.int().min(min);
const filePath = () => z.string().min(1).meta({ docType: 'file path' });

/**
 * TLS 1.2 suites of Mozilla's "intermediate" profile (v5.7), ECDHE only: forward secrecy and AEAD,
 * no CBC (LUCKY13-prone), no DHE (weak or slow group negotiation with old clients).
 */
export const INTERMEDIATE_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

const certificateSchema = z
  .strictObject({
    serverNames: z.array(z.string().min(1)).min(1).describe('Host names (SNI) this certificate answers; `*.example.com` matches one label.'),
    certFile: filePath().describe('PEM certificate chain (leaf first).'),
    keyFile: filePath().describe('PEM private key of the certificate.'),
  })
  .superRefine((c, ctx) => {
    const problem = checkCertificatePair(c.certFile, c.keyFile);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['certFile'], message: problem });
  })
  .describe('An extra certificate, chosen when the client\'s SNI names one of `server_names`.');

export const tlsSchema = z
  .strictObject({
    enabled: restartOnly(z.boolean().default(false).describe('Terminate TLS on the proxy listener (`proxy.listen_address`). Turning it on or off needs a restart.')),
    certFile: filePath().optional().describe('PEM certificate chain of the default certificate (leaf first), used when no `[[tls.certificates]]` entry matches the SNI. Required when enabled. Paths are relative to the working directory.'),
    keyFile: filePath().optional().describe('PEM private key of the default certificate. Required when enabled.'),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Lowest TLS version accepted.'),
    ciphers: z.string().min(1).default(INTERMEDIATE_TLS12_CIPHERS).describe('OpenSSL cipher list for TLS 1.2. The default is Mozilla\'s "intermediate" profile without DHE: ECDHE (ECDSA or RSA) with AES-GCM or ChaCha20-Poly1305 only, no CBC suite. TLS 1.3 uses Node\'s default suites (AES-GCM, ChaCha20-Poly1305) unless this list names `TLS_*` suites itself.'),
    hstsMaxAgeSeconds: z.int().min(0).max(2 ** 31 - 1).optional().describe('Send `Strict-Transport-Security: max-age=<this>` on every response of the TLS listener (none on a cleartext listener); 0 tells browsers to forget an earlier policy. Unset: no header. A backend\'s own header wins. Applies on reload.'),
    hstsIncludeSubdomains: z.boolean().default(false).describe('Add `includeSubDomains` to the Strict-Transport-Security header (only with `hsts_max_age_seconds`).'),
    certificates: z.array(certificateSchema).default([]).describe('Extra certificates as `[[tls.certificates]]` tables, each with `server_names` (SNI host names; `*.example.com` matches one label), `cert_file` and `key_file`; the first whose names match the client\'s SNI is presented, the default one otherwise.'),
    reloadInterval: duration().prefault('10s').describe('How often the certificate and key files are checked for changes; a change is loaded for new handshakes without a restart (open connections keep theirs). An unreadable or mismatched pair keeps the old one and counts as a failed reload.'),
  })
  .superRefine((t, ctx) => {
    if (!t.enabled) return;
    if (t.certFile === undefined) ctx.addIssue({ code: 'custom', path: ['certFile'], message: 'required when tls is enabled' });
    if (t.keyFile === undefined) ctx.addIssue({ code: 'custom', path: ['keyFile'], message: 'required when tls is enabled' });
    if (t.certFile !== undefined && t.keyFile !== undefined) {
      const problem = checkCertificatePair(t.certFile, t.keyFile);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['certFile'], message: problem });
    }
    const problem = checkCiphers(t.ciphers);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['ciphers'], message: problem });
    if (t.hstsIncludeSubdomains && t.hstsMaxAgeSeconds === undefined) ctx.addIssue({ code: 'custom', path: ['hstsIncludeSubdomains'], message: 'needs hsts_max_age_seconds' });
  }, whenValid('enabled', 'certFile', 'keyFile', 'ciphers', 'hstsMaxAgeSeconds', 'hstsIncludeSubdomains'))
  .describe('TLS termination on the proxy listener: certificates chosen by SNI, reloaded when their files change.');

export const http2Schema = z
  .strictObject({
    enabled: restartOnly(z.boolean().default(true).describe('With [tls] enabled, offer HTTP/2 by ALPN (`h2`, then `http/1.1`) on the same port. Needs a restart to change.')),
    allowH2c: restartOnly(z.boolean().default(false).describe('Accept cleartext HTTP/2 with prior knowledge (h2c, as gRPC clients speak it) on a listener without TLS; HTTP/1.1 keeps working on the same port. Needs a restart to change.')),
    maxConcurrentStreams: restartOnly(count(1).max(10_000).default(100).describe('Streams one client connection may have open at once. Advertised in SETTINGS and enforced by nghttp2 (RST_STREAM REFUSED_STREAM; counted as `refused` in `sibyl_proxy_http2_abuse_total` when the client opens its next stream); a stream that still gets through beyond it is refused by Sibyl and counted as `too_many_streams`.')),
    initialWindowSize: restartOnly(z.int().min(65_535).max(2_147_483_647).default(1_048_576).describe('Flow-control window of each stream, in bytes: how much a client may send before Sibyl reads it.')),
    maxHeaderListBytes: restartOnly(count(1024).default(16_384).describe('Largest header list of one request (HPACK-decoded, 32 bytes per field added), in bytes; larger gets 431 and is counted as `header_list_too_large`. Above twice this nghttp2 resets the stream (ENHANCE_YOUR_CALM) before Sibyl sees it (counted as `refused`).')),
    maxResetsPerInterval: count(1).default(200).describe('Rapid-reset guard: streams a client may cancel (RST_STREAM) per connection within `reset_interval`; beyond it the connection gets GOAWAY and is closed.'),
    resetInterval: duration().prefault('10s').describe('Window of `max_resets_per_interval`.'),
    idleTimeout: duration().prefault('120s').describe('An HTTP/2 connection without any frame for this long gets GOAWAY (streams in flight finish); HTTP/1.1 connections use `[proxy] keep_alive_timeout`.'),
  })
  .describe('HTTP/2 to clients, mapped onto the same pipeline as HTTP/1.1.');

export const upstreamTlsSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Connect to every backend over TLS (HTTPS; gRPC by ALPN h2), except those with their own `tls = false`. The other keys apply to every TLS backend, also one with `tls = true` while this is off.'),
    verify: restartOnly(z.boolean().default(true).describe('Verify the backend\'s certificate chain and name. Turn off only for tests.')),
    caFile: restartOnly(filePath().optional().describe('PEM file of the CA certificates trusted for backends; unset: the system\'s CA store.')),
    serverName: restartOnly(z.string().min(1).optional().describe('SNI name sent to (and verified against) every backend; unset: the backend\'s host.')),
  })
  .superRefine((u, ctx) => {
    if (u.caFile === undefined) return;
    const problem = checkCaFile(u.caFile);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['caFile'], message: problem });
  }, whenValid('caFile'))
  .describe('TLS from Sibyl to the backends.');

export type TlsConfig = z.output<typeof tlsSchema>;
export type Http2Config = z.output<typeof http2Schema>;
export type UpstreamTlsConfig = z.output<typeof upstreamTlsSchema>;
