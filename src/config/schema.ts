// The configuration schema: the single source of truth for types, defaults, validation and the
// generated docs (docs/configuration.md). Keys are camelCase here and snake_case in TOML (keys.ts).
// Durations are written as strings ("10s") and hold milliseconds after parsing.
import * as z from 'zod';
import { isLoopbackHost, parseHostPort } from '../core/address.ts';
import { Algorithms } from '../balancer/balancer.ts';
import { address, duration, fraction, hashKey, headerName, MAX_TIMER_MS, millis, percent, restartOnly, statusRange, urlPath } from './fields.ts';
import { checkBackendsUnique, listenersCollide, whenValid } from './checks.ts';
import { camelToSnake } from './keys.ts';
import { modelSchema, retrySchema, telemetrySchema } from './schema-retry.ts';
import { coalescingSchema, loadSheddingSchema } from './schema-protect.ts';
import { discoverySchema } from './schema-discovery.ts';
import { checkTcpMode, tcpSchema } from './schema-tcp.ts';
import { blueGreenSchema, createPoolSchema, experimentSchema, flagSchema, modelRolloutSchema, shadowSchema, rolloutSchema, routeSchema, trafficSchema } from './schema-traffic.ts';
import { checkTraffic } from './checks-traffic.ts';
import { http2Schema, tlsSchema, upstreamTlsSchema } from './schema-tls.ts';
import { checkSharedLimits, rateLimitsSchema, sharedSchema } from './schema-shared.ts';

const count = (min: number) => z.int().min(min);

/** The seed's names, kept as aliases: alias -> the key it spells, and that key's default. */
const RUNTIME_ALIASES = {
  metricsCap: { key: 'accessLogBuffer', default: 10_000 },
  acceptTimeoutMillis: { key: 'shutdownTimeoutMillis', default: 120_000 },
} as const;

/** A key with an alias: optional in the table, its default filled in after both spellings are read. */
const aliased = <T extends z.ZodType>(schema: T, defaultValue: number) => schema.optional().meta({ docDefault: defaultValue });
const alias = <T extends z.ZodType>(schema: T, key: string) => schema.optional().meta({ aliasOf: key }).describe(`Alias of \`${camelToSnake(key)}\` (the seed's name, still accepted). Giving both spellings is an error.`);

export const runtimeSchema = z
  .strictObject({
    accessLogBuffer: aliased(count(1), RUNTIME_ALIASES.metricsCap.default).describe('Capacity of the buffer of access-log lines waiting to be written; lines beyond it are dropped and counted in `sibyl_log_access_dropped_total`.'),
    metricsCap: alias(count(1), 'accessLogBuffer'),
    healthCap: count(1).default(1_000).describe('Capacity of the ring of recent health events (health changes, ejections, returns, drains) shown in `/health/detailed`; the oldest are dropped and counted in `sibyl_health_events_dropped_total`.'),
    drainTimeoutMillis: millis().default(30_000).describe('On SIGTERM, how long in-flight requests get to finish (ms) after the listener stops accepting.'),
    backgroundTimeoutMillis: millis().default(60_000).describe('At shutdown, how long background tasks (health checker, config watcher, log flush) get to stop (ms).'),
    shutdownTimeoutMillis: aliased(millis(), RUNTIME_ALIASES.acceptTimeoutMillis.default).describe('Hard upper bound for the whole shutdown (ms): the process exits (code 1) after it even if connections remain. Must be >= `drain_timeout_millis`.'),
    acceptTimeoutMillis: alias(millis(), 'shutdownTimeoutMillis'),
    configWatchIntervalMillis: count(1).max(MAX_TIMER_MS).default(5_000).meta({ docType: 'integer (ms)' }).describe('How often the config file is polled for changes (ms): the fallback for changes that file system notifications (fs.watch, applied about 150 ms after the last write) miss or cannot see, as on network file systems.'),
  })
  .superRefine((r, ctx) => {
    for (const [name, { key }] of Object.entries(RUNTIME_ALIASES)) {
      if (r[name as keyof typeof RUNTIME_ALIASES] !== undefined && r[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [name], message: `is an alias of ${camelToSnake(key)}, which is given too: give one of them` });
      }
    }
  })
  .superRefine(
    (r, ctx) => {
      // reported under the spelling the file used
      const [path, value] = r.acceptTimeoutMillis !== undefined && r.shutdownTimeoutMillis === undefined ? ['acceptTimeoutMillis', r.acceptTimeoutMillis] : ['shutdownTimeoutMillis', r.shutdownTimeoutMillis ?? RUNTIME_ALIASES.acceptTimeoutMillis.default];
      if (value < r.drainTimeoutMillis) ctx.addIssue({ code: 'custom', path: [path], message: `must be >= drain_timeout_millis (${r.drainTimeoutMillis})` });
    },
    whenValid('shutdownTimeoutMillis', 'acceptTimeoutMillis', 'drainTimeoutMillis'),
  )
  .transform(({ metricsCap, acceptTimeoutMillis, accessLogBuffer, shutdownTimeoutMillis, ...rest }) => ({
    ...rest,
    accessLogBuffer: accessLogBuffer ?? metricsCap ?? RUNTIME_ALIASES.metricsCap.default,
    shutdownTimeoutMillis: shutdownTimeoutMillis ?? acceptTimeoutMillis ?? RUNTIME_ALIASES.acceptTimeoutMillis.default,
  }))
  .describe('Process-level limits: bounded queues and shutdown timing.');

export const proxySchema = z
  .strictObject({
    listenAddress: restartOnly(address('listen').default('0.0.0.0:8080').describe('Where the proxy accepts client connections.')),
    kind: restartOnly(z.enum(['http', 'tcp']).default('http').describe('`http`: an HTTP/1.1 proxy (the full data path). `tcp`: an L4 proxy of byte streams, see [tcp]; of the keys below only `max_connections` and `connect_timeout` apply to it. A change needs a restart.')),
    maxConnections: count(1).default(10_000).describe('Concurrent client connections; a connection beyond it is refused at accept (closed before any response) and counted in `sibyl_proxy_connections_rejected_total`.'),
    maxConnectionsPerIp: z.int().min(0).default(0).describe('Concurrent client connections from one client IP; a connection beyond it is closed at accept (before any response) and counted in `sibyl_proxy_connections_per_ip_rejected_total`. 0: no per-IP limit.'),
    maxHeaderBytes: restartOnly(count(1).default(16_384).describe('Largest request header block, in bytes; larger gets 431.')),
    maxUrlBytes: count(1).default(8_192).describe('Longest request URL, in bytes; longer gets 414.'),
    maxBodyBytes: count(0).default(10_485_760).describe('Largest request body, in bytes; larger gets 413.'),
    connectTimeout: restartOnly(duration().prefault('5s').describe('Time to open a connection to a backend; on expiry the attempt fails with 502. Backends added by a reload get a new value; those that stay keep theirs until a restart.')),
    responseHeaderTimeout: restartOnly(duration().prefault('30s').describe('Time from sending the request to receiving the backend\'s response headers; on expiry 504. The upstream client (undici) checks it about once a second, so it fires up to ~1 s late. Backends added by a reload get a new value; those that stay keep theirs until a restart.')),
    upstreamBodyTimeout: restartOnly(duration().prefault('60s').describe('Longest pause between two chunks of a backend\'s response body; on expiry the response is aborted. Backends added by a reload get a new value; those that stay keep theirs until a restart.')),
    clientHeaderTimeout: duration().prefault('10s').describe('Time a client gets to send the complete request headers (slowloris guard); on expiry 408. With [tls], also the time to finish the TLS handshake. Must be <= `client_request_timeout`.'),
    clientRequestTimeout: duration().prefault('60s').describe('Time a client gets to send the complete request, body included; on expiry 408.'),
    keepAliveTimeout: duration().prefault('5s').describe('How long an idle client connection is kept open between requests; closing one is counted in `sibyl_proxy_idle_timeouts_total`.'),
    upstreamKeepAliveTimeout: restartOnly(duration().prefault('4s').describe('How long an idle backend connection is kept in the pool; keep it below the backends\' own keep-alive timeout. Backends added by a reload get a new value; those that stay keep theirs until a restart.')),
    upstreamConnections: restartOnly(count(1).default(128).describe('Maximum connections in each backend\'s connection pool. Backends added by a reload get a new value; those that stay keep theirs until a restart.')),
    addViaHeader: z.boolean().default(false).describe('Add a `Via` header to proxied requests and responses.'),
    requestIdHeader: headerName().prefault('x-request-id').describe('Header carrying the request id: kept when the client sends one, generated otherwise, forwarded to the backend and echoed in the response.'),
  })
  .superRefine(
    (p, ctx) => {
      if (p.clientHeaderTimeout > p.clientRequestTimeout) {
        ctx.addIssue({ code: 'custom', path: ['clientHeaderTimeout'], message: 'must be <= client_request_timeout' });
      }
    },
    whenValid('clientHeaderTimeout', 'clientRequestTimeout'),
  )
  .describe('The client-facing listener: connection and size limits, timeouts, headers.');

export const strategySchema = z
  .strictObject({
    algorithm: z.enum(Algorithms).default('round_robin').describe('Which strategy picks a backend among the eligible ones.'),
    hashKey: hashKey().prefault('client_ip').describe('What `ip_hash` hashes: the client IP, or the value of a request header (`header:NAME`, matched case-insensitively).'),
    ewmaHalfLife: duration().prefault('10s').describe('Half-life of the per-backend latency and error EWMAs read by `fastest_response_time`, `power_of_two` and `adaptive`. A pool with its own `[pools.strategy]` uses its own value for its backends.'),
    errorPenalty: z.number().min(0).default(10).describe('`adaptive` only: the cost of one failed attempt, in units of a backend\'s latency cost; a backend\'s cost is multiplied by 1 + error_penalty x e / (1 - e), e = its error EWMA.'),
  })
  .describe('How a backend is picked for each request.');

export const backendSchema = z
  .strictObject({
    id: z.int().min(0).optional().describe('Optional numeric id (the seed\'s layout), unique among backends. Sibyl knows a backend by `name` (metrics label, admin API paths, health events, state); `id` is only carried along and shown as `id` in `GET /api/backends` and the dashboard\'s backend list.'),
    name: z.string().min(1).optional().describe('Name used in logs, metrics and the admin API; unique. Defaults to the address.'),
    address: address('backend').describe('Where the backend listens. Unique among backends.'),
    weight: z.int().min(0).max(10_000).default(1).describe('Relative share of traffic for weighted strategies; 0 sends it no new requests.'),
    tls: z.boolean().optional().describe('Reach this backend over TLS, verified with the `[upstream_tls]` settings; unset: `[upstream_tls] enabled`.'),
  })
  .describe('A backend server. At least one is required, from the file or `SIBYL_BACKEND_ADDRESSES`, unless [discovery] finds them (then none may be listed).');

// may be empty when a pool named "default" takes its place (checkTraffic)
export const backendsSchema = z
  .array(backendSchema)
  .superRefine(checkBackendsUnique, { when: () => true })
  .transform((list) => list.map((b) => ({ ...b, name: b.name ?? b.address })));

export const healthSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Run active health checks; when off, every backend counts as healthy unless ejected.'),
    kind: z.enum(['http', 'tcp']).default('http').describe('`http` sends a GET to `path`; `tcp` only opens a connection.'),
    path: urlPath().default('/health').describe('Path requested by `http` checks.'),
    expectedStatus: statusRange().prefault('200-399').describe('Status codes that count as healthy: a range "min-max" or a single code.'),
    interval: duration().prefault('10s').describe('Time between two checks of one backend.'),
    timeout: duration().prefault('3s').describe('Time one check may take before it counts as failed. Must be < `interval`.'),
    healthyThreshold: count(1).default(2).describe('Consecutive successful checks that mark an unhealthy backend healthy.'),
    unhealthyThreshold: count(1).default(3).describe('Consecutive failed checks that mark a healthy backend unhealthy.'),
    jitter: fraction().default(0.1).describe('Random spread of each interval, as a fraction of it (0..1), so checks do not align.'),
    slowStart: duration({ allowZero: true }).prefault('0s').describe('After a backend turns healthy, its weight ramps up linearly over this time; "0s" disables the ramp.'),
    panicThreshold: percent().default(50).describe('When fewer than this percent of backends are healthy, traffic goes to all of them (panic mode); 0 disables.'),
  })
  .superRefine(
    (h, ctx) => {
      if (h.timeout >= h.interval) ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'must be less than interval' });
    },
    whenValid('timeout', 'interval'),
  )
  .describe('Active health checks.');

export const outlierDetectionSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Eject backends that fail live traffic, between health checks.'),
    consecutive5xx: count(1).default(5).describe('Consecutive 5xx responses (or transport errors) that eject a backend.'),
    consecutiveGatewayFailure: count(1).default(5).describe('Consecutive gateway failures (502, 503, 504, connect errors) that eject a backend.'),
    baseEjectionTime: duration().prefault('30s').describe('Ejection time of a first ejection; each further ejection of the same backend adds it again.'),
    maxEjectionTime: duration().prefault('300s').describe('Upper bound of one ejection. Must be >= `base_ejection_time`.'),
    maxEjectionPercent: percent().default(50).describe('At most this percent of the backends are ejected at once.'),
    tightenByPredictedRetries: z.boolean().default(true).describe('Eject sooner when the retry model predicts that clients retry this backend\'s failures: both thresholds are multiplied by (1 - r), r = the backend\'s recent predicted retry probability of its failed answers, never below 2. Each failure then brings 1 / (1 - r) client attempts, so the errors would pile up that much faster. No effect while `[model] enabled = false`.'),
  })
  .superRefine(
    (o, ctx) => {
      if (o.maxEjectionTime < o.baseEjectionTime) ctx.addIssue({ code: 'custom', path: ['maxEjectionTime'], message: 'must be >= base_ejection_time' });
    },
    whenValid('maxEjectionTime', 'baseEjectionTime'),
  )
  .describe('Passive health: ejection of backends that fail live requests.');

export const metricsSchema = z
  .strictObject({
    enabled: restartOnly(z.boolean().default(true).describe('Serve Prometheus metrics on the admin listener.')),
    interval: duration().prefault('30s').describe('How often derived gauges (backend in-flight, latency and error EWMAs) are refreshed; a scrape of the metrics path refreshes them too.'),
    path: restartOnly(urlPath().default('/metrics').describe('Path of the Prometheus endpoint on the admin listener.')),
  })
  .describe('Prometheus metrics.');

export const adminSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Run the admin listener (health endpoints, metrics, admin API, dashboard).'),
    listenAddress: address('listen').default('127.0.0.1:9090').describe('Where the admin listener accepts connections.'),
    token: z.string().min(1).optional().describe('Bearer token required by the admin API. Required when `listen_address` is not a loopback address.'),
    allowedHosts: z
      .array(z.string().regex(/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~]+)(?::[0-9]{1,5})?$/, { error: 'expected a host name or address, optionally with :port (e.g. "sibyl-admin" or "sibyl-admin:9090")' }))
      .default([])
      .describe('Further names the `Host` header of an admin request may give: `"name"` with any port, `"name:port"` with that port only. Without them the admin listener answers only requests whose Host is a loopback name (localhost, 127.0.0.1, [::1]), its listen address or the address the connection arrived on, with its port or none; any other Host gets 421 (a guard against DNS rebinding). The probes (`/health`, `/health/live`, `/health/ready`) and `POST /predict_retry` accept any Host. Add the names it is reached by, e.g. a Compose service or a Kubernetes Service name, or `"localhost:9091"` behind a port mapping. Applied on reload.'),
  })
  .superRefine(
    (a, ctx) => {
      const host = parseHostPort(a.listenAddress)?.host ?? '';
      if (a.enabled && a.token === undefined && !isLoopbackHost(host)) {
        ctx.addIssue({ code: 'custom', path: ['token'], message: `required when listen_address (${a.listenAddress}) is not loopback` });
      }
    },
    whenValid('enabled', 'listenAddress', 'token'),
  )
  .describe('The admin listener.');

export const logSchema = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Lowest level written.'),
    accessLog: z.boolean().default(true).describe('Write one access-log line per request.'),
    accessLogSampleRate: fraction().default(1).describe('Fraction of requests (0..1) that get an access-log line.'),
  })
  .describe('Logging.');

const poolSchema = createPoolSchema({
  backends: backendsSchema.refine((list) => list.length > 0, { error: 'a pool needs at least one backend' }),
  strategy: strategySchema,
  health: healthSchema,
});

export const configSchema = z
  .strictObject({
    runtime: runtimeSchema.prefault({}),
    proxy: proxySchema.prefault({}),
    strategy: strategySchema.prefault({}),
    backends: backendsSchema.prefault([]).describe(backendSchema.description ?? ''),
    health: healthSchema.prefault({}),
    outlierDetection: outlierDetectionSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    admin: restartOnly(adminSchema.prefault({})),
    log: logSchema.prefault({}),
    retry: retrySchema.prefault({}),
    telemetry: telemetrySchema.prefault({}),
    model: modelSchema.prefault({}),
    loadShedding: loadSheddingSchema.prefault({}),
    coalescing: coalescingSchema.prefault({}),
    discovery: discoverySchema.prefault({}),
    tcp: tcpSchema.prefault({}),
    traffic: trafficSchema.prefault({}),
    pools: z.array(poolSchema).default([]).describe(poolSchema.description ?? ''),
    routes: z.array(routeSchema).default([]).describe(routeSchema.description ?? ''),
    rollouts: z.array(rolloutSchema).default([]).describe(rolloutSchema.description ?? ''),
    blueGreen: z.array(blueGreenSchema).default([]).describe(blueGreenSchema.description ?? ''),
    experiments: z.array(experimentSchema).default([]).describe(experimentSchema.description ?? ''),
    shadows: z.array(shadowSchema).default([]).describe(shadowSchema.description ?? ''),
    flags: z.array(flagSchema).default([]).describe(flagSchema.description ?? ''),
    modelRollout: restartOnly(modelRolloutSchema.prefault({})),
    tls: tlsSchema.prefault({}),
    http2: http2Schema.prefault({}),
    upstreamTls: upstreamTlsSchema.prefault({}),
    rateLimits: rateLimitsSchema.prefault([]),
    shared: sharedSchema.prefault({}),
  })
  .superRefine(checkBackendsSource, whenValid('discovery', 'backends'))
  .superRefine(checkTcpMode, whenValid('proxy.kind', 'strategy.algorithm', 'strategy.hashKey', 'tls.enabled', 'http2.allowH2c'))
  .superRefine(checkTraffic, whenValid('backends', 'discovery', 'pools', 'routes', 'rollouts', 'blueGreen', 'experiments', 'shadows', 'flags'))
  .superRefine(
    (c, ctx) => {
      if (c.admin.enabled && listenersCollide(c.admin.listenAddress, c.proxy.listenAddress)) {
        ctx.addIssue({ code: 'custom', path: ['admin', 'listenAddress'], message: `uses the port of proxy.listen_address (${c.proxy.listenAddress})` });
      }
    },
    whenValid('admin.enabled', 'admin.listenAddress', 'proxy.listenAddress'),
  )
  .superRefine(checkSharedLimits, whenValid('rateLimits', 'shared.redisUrl'));

/**
 * [[backends]] is the list for static discovery, and must stay empty when another source is used.
 * (That some default pool exists, from [[backends]], discovery or a pool named "default", is
 * checkTraffic's rule.)
 */
function checkBackendsSource(c: { discovery: { kind: string }; backends: readonly unknown[] }, ctx: z.core.$RefinementCtx): void {
  if (c.discovery.kind !== 'static' && c.backends.length > 0) {
    ctx.addIssue({ code: 'custom', path: ['backends'], message: `must be empty with discovery.kind = "${c.discovery.kind}": the backends come from ${c.discovery.kind === 'dns' ? 'DNS' : 'the discovery file'}` });
  }
}

export type Config = z.output<typeof configSchema>;
export type RuntimeConfig = Config['runtime'];
export type ProxyConfig = Config['proxy'];
export type StrategyConfig = Config['strategy'];
export type BackendConfig = Config['backends'][number];
export type HealthConfig = Config['health'];
export type OutlierDetectionConfig = Config['outlierDetection'];
export type MetricsConfig = Config['metrics'];
export type AdminConfig = Config['admin'];
export type LogConfig = Config['log'];
export type LogLevel = LogConfig['level'];
export type RetryConfig = Config['retry'];
export type TelemetryConfig = Config['telemetry'];
export type ModelConfig = Config['model'];
export type DiscoveryConfig = Config['discovery'];
export type TcpConfig = Config['tcp'];
export type PoolConfig = Config['pools'][number];
export type RouteConfig = Config['routes'][number];
export type RolloutConfig = Config['rollouts'][number];
export type BlueGreenConfig = Config['blueGreen'][number];
export type ExperimentConfig = Config['experiments'][number];
export type ShadowConfig = Config['shadows'][number];
export type FlagConfig = Config['flags'][number];
export type RateLimitConfig = Config['rateLimits'][number];
export type SharedConfig = Config['shared'];
