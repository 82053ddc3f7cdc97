// The admin listener: health endpoints, /metrics, the JSON admin API and the dashboard. It
// changes state only through runtime commands.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { redactedUrl } from '../runtime/shared-sync.ts';
import { loadDashboardAssets, sendAsset } from './dashboard-assets.ts';
import { dashboardSnapshot } from './dashboard-snapshot.ts';
import { detailedHealth, healthSummary, type ListenerStatus } from './health-report.ts';
import { readJsonBody, sendJson, sendProblem } from './http-util.ts';
import { parsePredictBody, recommendedAction, toFeatureInput } from './predict-api.ts';
import { trafficRoutes } from './traffic-api.ts';

export interface AdminDeps {
  readonly runtime: Runtime;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly listener: () => ListenerStatus;
  /** Re-reads the config file now; resolves with the reload result. */
  readonly reload: () => Promise<unknown>;
}

export interface AdminOptions {
  readonly token: string | undefined;
  /** Undefined when [metrics] enabled = false. */
  readonly metricsPath: string | undefined;
}

/**
 * Probes stay open so orchestrators can use them without a secret; so do the dashboard's static
 * files, which hold no data (a browser cannot send a bearer token when it opens a URL): the page
 * asks for the token and sends it with every API call. Everything else needs the token.
 */
const OPEN_PATHS = new Set(['/health', '/health/live', '/health/ready']);
const BACKEND_ACTION = /^\/api\/backends\/([^/]+)\/(drain|undrain|weight)$/;

function isCrossOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true; // "null" and other opaque origins
  }
}

export function createAdminServer(options: AdminOptions, deps: AdminDeps): Server {
  const expected = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);
  const isAuthorised = (req: IncomingMessage): boolean => {
    if (expected === undefined) return true;
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  const assets = loadDashboardAssets();
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const asset = req.method === 'GET' || req.method === 'HEAD' ? assets.get(path) : undefined;
    if (asset !== undefined) return sendAsset(req, res, asset);
    // a browser sends Origin with a cross-site POST: without a token, any page the operator has
    // open could otherwise drain backends through the loopback admin port
    if (req.method !== 'GET' && req.method !== 'HEAD' && isCrossOrigin(req)) {
      return sendProblem(res, 403, 'SIBYL_ERR_ADMIN_CROSS_ORIGIN', 'cross-origin requests to the admin API are refused');
    }
    if (!OPEN_PATHS.has(path) && !isAuthorised(req)) {
      res.setHeader('www-authenticate', 'Bearer');
      return sendProblem(res, 401, 'SIBYL_ERR_ADMIN_UNAUTHORISED', 'a valid bearer token is required');
    }
    route(req, res, path, options, deps).catch((err: unknown) => {
      deps.logger.error({ err }, 'admin request failed');
      if (!res.headersSent) sendProblem(res, 500, 'SIBYL_ERR_INTERNAL', 'internal error');
    });
  });
}

async function route(req: IncomingMessage, res: ServerResponse, path: string, options: AdminOptions, deps: AdminDeps): Promise<void> {
  const { runtime } = deps;
  const method = req.method ?? 'GET';
  if (method === 'GET') {
    if (path === '/health/live') return sendJson(res, 200, { status: 'alive' });
    if (path === '/health' || path === '/health/ready') {
      const summary = healthSummary(runtime, deps.listener());
      const isUp = path === '/health' ? summary.status !== 'unhealthy' : summary.isReady;
      return sendJson(res, isUp ? 200 : 503, summary);
    }
    if (path === '/health/detailed') return sendJson(res, 200, detailedHealth(runtime, deps.listener()));
    if (path === options.metricsPath) {
      runtime.publishGauges();
      const body = await deps.registry.metrics();
      res.writeHead(200, { 'content-type': deps.registry.contentType });
      return void res.end(body);
    }
    if (path === '/api/dashboard') return sendJson(res, 200, await dashboardSnapshot(runtime, deps.registry, deps.listener()), 0);
    if (path === '/api/storm') return sendJson(res, 200, runtime.storm);
    if (path === '/api/discovery') return sendJson(res, 200, runtime.discovery);
    if (path === '/api/backends') return sendJson(res, 200, { generation: runtime.current.id, backends: runtime.current.backends.map((b) => b.toJSON()) });
    if (path === '/api/config') return sendJson(res, 200, { generation: runtime.current.id, lastReload: runtime.lastReload, config: redactSecrets(runtime.config) });
  }
  if (method === 'POST' && path === '/api/reload') return sendJson(res, 200, await deps.reload());
  if (path === '/predict_retry' || path === '/api/model') return modelRoutes(req, res, path, method, deps);
  if (await trafficRoutes(req, res, path, method, runtime)) return;
  const action = BACKEND_ACTION.exec(path);
  if (action !== null && (method === 'POST' || method === 'PUT')) {
    let name: string;
    try {
      name = decodeURIComponent(action[1] ?? '');
    } catch {
      return sendProblem(res, 400, 'SIBYL_ERR_ADMIN_BAD_REQUEST', 'the backend name is not valid percent-encoding');
    }
    const verb = action[2];
    let result;
    if (verb === 'weight') {
      const body = await readJsonBody(req, res);
      if (body === undefined) return;
      const weight = (body as { weight?: unknown } | null)?.weight;
      if (typeof weight !== 'number') return sendProblem(res, 400, 'SIBYL_ERR_ADMIN_BAD_REQUEST', 'body must be {"weight": <integer 0..10000>}');
      result = runtime.setWeight(name, weight);
    } else {
      result = verb === 'drain' ? runtime.drain(name) : runtime.undrain(name);
    }
    if (!result.ok) return sendProblem(res, result.status, result.status === 404 ? 'SIBYL_ERR_ADMIN_NOT_FOUND' : 'SIBYL_ERR_ADMIN_BAD_REQUEST', result.message);
    return sendJson(res, 200, result.backend);
  }
  sendProblem(res, 404, 'SIBYL_ERR_ADMIN_NOT_FOUND', `no admin endpoint ${method} ${path}`);
}

async function modelRoutes(req: IncomingMessage, res: ServerResponse, path: string, method: string, deps: AdminDeps): Promise<void> {
  const retry = deps.runtime.retry;
  if (retry === undefined) return sendProblem(res, 404, 'SIBYL_ERR_ADMIN_MODEL_DISABLED', 'retry intelligence is disabled ([telemetry] enabled = false)');
  if (path === '/api/model' && method === 'GET') return sendJson(res, 200, retry.report());
  if (path !== '/predict_retry' || method !== 'POST') return sendProblem(res, 405, 'SIBYL_ERR_ADMIN_METHOD', `${method} is not allowed on ${path}`);
  const body = await readJsonBody(req, res);
  if (body === undefined) return;
  const parsed = parsePredictBody(body);
  if (!parsed.ok) return sendJson(res, 400, { error: `${parsed.field}: ${parsed.message}`, code: 'SIBYL_ERR_PREDICT_BAD_INPUT', field: parsed.field });
  const m = deps.runtime.config.model;
  const thresholds = { routeBackup: m.routeBackupThreshold, circuitBreak: m.circuitBreakThreshold };
  const modelVersion = retry.model.version;
  const predictions = parsed.requests.map((r) => {
    const p = retry.predict(toFeatureInput(r));
    return { retry_probability: p, recommended_action: recommendedAction(p, thresholds), model_version: modelVersion };
  });
  const single = predictions[0];
  if (!parsed.isBatch && single !== undefined) {
    // NGINX's auth_request can read only the headers of its subrequest, not a JSON body
    res.setHeader('x-sibyl-retry-probability', String(single.retry_probability));
    res.setHeader('x-sibyl-recommended-action', single.recommended_action);
  }
  return sendJson(res, 200, parsed.isBatch ? { predictions } : single);
}

/** The config as served by /api/config: secrets replaced, so a dump never leaks them. */
export function redactSecrets(config: Runtime['config']): unknown {
  const hidden = '<redacted>';
  return {
    ...config,
    admin: { ...config.admin, token: config.admin.token === undefined ? undefined : hidden },
    telemetry: { ...config.telemetry, clientKeySalt: config.telemetry.clientKeySalt === '' ? '' : hidden },
    shared: { ...config.shared, redisUrl: config.shared.redisUrl === undefined ? undefined : redactedUrl(config.shared.redisUrl) },
  };
}
