// The admin listener: health endpoints, /metrics, the JSON admin API and the dashboard. It
// changes state only through runtime commands.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { Errors } from '../core/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { redactedUrl } from '../runtime/shared-sync.ts';
import { ANY_HOST_PATHS, createAdminGuard, OPEN_PATHS } from './admin-guard.ts';
import { loadDashboardAssets, sendAsset } from './dashboard-assets.ts';
import { dashboardSnapshot } from './dashboard-snapshot.ts';
import { detailedHealth, healthSummary, type ListenerStatus } from './health-report.ts';
import { readJsonBody, sendJson, sendProblem, sendRefusal } from './http-util.ts';
import { parsePredictBody, recommendedAction, toFeatureInput } from './predict-api.ts';
import { trafficRoutes } from './traffic-api.ts';

export interface AdminDeps {
  readonly runtime: Runtime;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly listener: () => ListenerStatus;
  /** Re-reads the config file now; resolves with the reload result. */
  readonly reload: () => Promise<unknown>;
  /** sibyl_internal_errors_total: the admin's bugs are counted with the data path's. */
  readonly internalErrors: { inc(labels: { site: 'admin' }): void };
}

export interface AdminOptions {
  readonly token: string | undefined;
  /** Undefined when [metrics] enabled = false. */
  readonly metricsPath: string | undefined;
  /** The host of [admin] listen_address. */
  readonly listenHost: string;
  /** [admin] allowed_hosts of the config in service: further names the Host header may give (admin-guard.ts). */
  readonly allowedHosts: () => readonly string[];
}

/**
 * Probes stay open so orchestrators can use them without a secret; so do the dashboard's static
 * files, which hold no data (a browser cannot send a bearer token when it opens a URL): the page
 * asks for the token and sends it with every API call. Everything else needs the token. Every
 * path but the probes and /predict_retry needs a Host that names this listener (admin-guard.ts).
 */
const BACKEND_ACTION = /^\/api\/backends\/([^/]+)\/(drain|undrain|weight)$/;

export function createAdminServer(options: AdminOptions, deps: AdminDeps): Server {
  const guard = createAdminGuard(options);
  const assets = loadDashboardAssets();
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const isOpen = OPEN_PATHS.has(path);
    const misdirected = ANY_HOST_PATHS.has(path) ? undefined : guard.misdirected(req);
    if (misdirected !== undefined) return sendProblem(res, Errors.adminMisdirected, misdirected);
    const asset = req.method === 'GET' || req.method === 'HEAD' ? assets.get(path) : undefined;
    if (asset !== undefined) return sendAsset(req, res, asset);
    // a browser sends Origin with a cross-site POST: without a token, any page the operator has
    // open could otherwise drain backends through the loopback admin port
    if (guard.isCrossOrigin(req)) return sendProblem(res, Errors.adminCrossOrigin);
    if (!isOpen && !guard.isAuthorised(req)) {
      res.setHeader('www-authenticate', 'Bearer');
      return sendProblem(res, Errors.adminUnauthorised);
    }
    route(req, res, path, options, deps).catch((err: unknown) => failed(err, res, deps));
  };
  return createServer((req, res) => {
    try {
      serve(req, res);
    } catch (err) {
      failed(err, res, deps);
    }
  });
}

/** A bug in an admin endpoint: 500 for that request, logged and counted; the listener keeps serving. */
function failed(err: unknown, res: ServerResponse, deps: AdminDeps): void {
  deps.internalErrors.inc({ site: 'admin' });
  deps.logger.error({ err, site: 'admin' }, 'internal error contained: the admin request was answered 500');
  if (res.writableEnded) return;
  if (res.headersSent) return void res.destroy();
  sendProblem(res, Errors.internal);
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
      return sendProblem(res, Errors.adminBadRequest, 'the backend name is not valid percent-encoding');
    }
    const verb = action[2];
    let result;
    if (verb === 'weight') {
      const body = await readJsonBody(req, res);
      if (body === undefined) return;
      const weight = (body as { weight?: unknown } | null)?.weight;
      if (typeof weight !== 'number') return sendProblem(res, Errors.adminBadRequest, 'body must be {"weight": <integer 0..10000>}');
      result = runtime.setWeight(name, weight);
    } else {
      result = verb === 'drain' ? runtime.drain(name) : runtime.undrain(name);
    }
    if (!result.ok) return sendRefusal(res, result);
    return sendJson(res, 200, result.backend);
  }
  sendProblem(res, Errors.adminNotFound, `no admin endpoint ${method} ${path}`);
}

async function modelRoutes(req: IncomingMessage, res: ServerResponse, path: string, method: string, deps: AdminDeps): Promise<void> {
  const retry = deps.runtime.retry;
  if (retry === undefined) return sendProblem(res, Errors.adminModelDisabled);
  if (path === '/api/model' && method === 'GET') return sendJson(res, 200, retry.report());
  if (path !== '/predict_retry' || method !== 'POST') return sendProblem(res, Errors.adminMethod, `${method} is not allowed on ${path}`);
  const body = await readJsonBody(req, res);
  if (body === undefined) return;
  const parsed = parsePredictBody(body);
  if (!parsed.ok) return sendProblem(res, Errors.predictBadInput, `${parsed.field}: ${parsed.message}`, { field: parsed.field });
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
