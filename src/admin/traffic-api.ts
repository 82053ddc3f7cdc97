// The admin API of progressive delivery: rollouts (list, one, pause/resume/promote/abort),
// blue-green pairs (list, one, switch, switch-back), experiments (reports, reset) and shadows
// (counts, diff rate, sampled diffs). State changes go through runtime commands only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime } from '../runtime/runtime.ts';
import { Errors } from '../core/errors.ts';
import { readJsonBody, sendJson, sendProblem, sendRefusal } from './http-util.ts';

const ROLLOUT = /^\/api\/rollouts\/([^/]+)(?:\/(pause|resume|promote|abort))?$/;

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

const BLUE_GREEN = /^\/api\/blue-green\/([^/]+)(?:\/(switch|switch-back))?$/;

const EXPERIMENT = /^\/api\/experiments\/([^/]+)(\/reset)?$/;

function experimentRoutes(res: ServerResponse, path: string, method: string, runtime: Runtime): void {
  const experiments = runtime.delivery.experiments;
  if (path === '/api/experiments') {
    if (method !== 'GET') return sendProblem(res, Errors.adminMethod, `${method} is not allowed on ${path}`);
    return sendJson(res, 200, { experiments: experiments.reports() });
  }
  const match = EXPERIMENT.exec(path);
  const name = match === null ? undefined : decode(match[1] ?? '');
  if (match === null || name === undefined) return sendProblem(res, Errors.adminNotFound, `no admin endpoint ${method} ${path}`);
  const isReset = match[2] !== undefined;
  if (method !== (isReset ? 'POST' : 'GET')) return sendProblem(res, Errors.adminMethod, `${method} is not allowed on ${path}`);
  if (isReset && !experiments.reset(name)) return sendProblem(res, Errors.adminNotFound, `no experiment named ${JSON.stringify(name)}`);
  const report = experiments.find(name);
  return report === undefined ? sendProblem(res, Errors.adminNotFound, `no experiment named ${JSON.stringify(name)}`) : sendJson(res, 200, report);
}

/** True when the path belongs to this API (and an answer was sent). */
export async function trafficRoutes(req: IncomingMessage, res: ServerResponse, path: string, method: string, runtime: Runtime): Promise<boolean> {
  const candidate = /^\/api\/model\/candidate\/(promote|abort)$/.exec(path);
  if (candidate !== null) {
    if (method !== 'POST') sendProblem(res, Errors.adminMethod, `${method} is not allowed on ${path}; use POST`);
    else if (runtime.retry?.candidateCommand(candidate[1] as 'promote' | 'abort') !== true) sendProblem(res, Errors.adminConflict, 'no candidate model is running ([model_rollout] candidate_path unset, or already promoted or rolled back)');
    else sendJson(res, 200, runtime.retry.report().candidate);
    return true;
  }
  if (path === '/api/shadows') {
    if (method !== 'GET') sendProblem(res, Errors.adminMethod, `${method} is not allowed on ${path}`);
    else sendJson(res, 200, { shadows: runtime.delivery.shadows.views() });
    return true;
  }
  if (path === '/api/experiments' || path.startsWith('/api/experiments/')) {
    experimentRoutes(res, path, method, runtime);
    return true;
  }
  if (path === '/api/blue-green' || path.startsWith('/api/blue-green/')) {
    await blueGreenRoutes(req, res, path, method, runtime);
    return true;
  }
  if (path === '/api/rollouts') {
    if (method !== 'GET') sendProblem(res, Errors.adminMethod, `${method} is not allowed on ${path}`);
    else sendJson(res, 200, { rollouts: runtime.delivery.rollouts.views() });
    return true;
  }
  const match = ROLLOUT.exec(path);
  if (match === null) return false;
  const name = decode(match[1] ?? '');
  if (name === undefined) {
    sendProblem(res, Errors.adminBadRequest, 'the rollout name is not valid percent-encoding');
    return true;
  }
  const cmd = match[2] as 'pause' | 'resume' | 'promote' | 'abort' | undefined;
  if (cmd === undefined) {
    const view = method === 'GET' ? runtime.delivery.rollouts.find(name) : undefined;
    if (method !== 'GET') sendProblem(res, Errors.adminMethod, `${method} is not allowed on ${path}`);
    else if (view === undefined) sendProblem(res, Errors.adminNotFound, `no rollout named ${JSON.stringify(name)}`);
    else sendJson(res, 200, view);
    return true;
  }
  if (method !== 'POST') {
    sendProblem(res, Errors.adminMethod, `${method} is not allowed on ${path}; use POST`);
    return true;
  }
  const result = runtime.delivery.rollouts.command(name, cmd);
  if (result.ok) sendJson(res, 200, result.rollout);
  else sendRefusal(res, result);
  return true;
}

async function blueGreenRoutes(req: IncomingMessage, res: ServerResponse, path: string, method: string, runtime: Runtime): Promise<void> {
  if (path === '/api/blue-green') {
    if (method !== 'GET') return sendProblem(res, Errors.adminMethod, `${method} is not allowed on ${path}`);
    return sendJson(res, 200, { pairs: runtime.delivery.blueGreen.views() });
  }
  const match = BLUE_GREEN.exec(path);
  const name = match === null ? undefined : decode(match[1] ?? '');
  if (match === null || name === undefined) return sendProblem(res, Errors.adminNotFound, `no admin endpoint ${method} ${path}`);
  const action = match[2];
  if (action === undefined) {
    if (method !== 'GET') return sendProblem(res, Errors.adminMethod, `${method} is not allowed on ${path}`);
    const view = runtime.delivery.blueGreen.find(name);
    return view === undefined ? sendProblem(res, Errors.adminNotFound, `no blue-green pair named ${JSON.stringify(name)}`) : sendJson(res, 200, view);
  }
  if (method !== 'POST') return sendProblem(res, Errors.adminMethod, `${method} is not allowed on ${path}; use POST`);
  let to: 'blue' | 'green' | undefined;
  let skipSmoke = false;
  if (action === 'switch-back') {
    // instant: back to the side of the last switch, without a smoke check
    const view = runtime.delivery.blueGreen.find(name);
    to = view?.lastSwitch?.from;
    skipSmoke = true;
    if (view !== undefined && to === undefined) return sendProblem(res, Errors.adminConflict, `blue-green ${JSON.stringify(name)} has not been switched yet`);
  } else if (Number(req.headers['content-length'] ?? 0) > 0) {
    const body = await readJsonBody(req, res);
    if (body === undefined) return;
    const b = (body ?? {}) as { to?: unknown; skip_smoke?: unknown };
    if ((b.to !== undefined && b.to !== 'blue' && b.to !== 'green') || (b.skip_smoke !== undefined && typeof b.skip_smoke !== 'boolean')) {
      return sendProblem(res, Errors.adminBadRequest, 'body must be {"to": "blue" | "green", "skip_smoke": <boolean>}, both optional');
    }
    to = b.to as 'blue' | 'green' | undefined;
    skipSmoke = b.skip_smoke === true;
  }
  const result = await runtime.delivery.blueGreen.switchTo(name, to, skipSmoke);
  if (result.ok) return sendJson(res, 200, { ...result.pair, smoke: result.smoke });
  return sendRefusal(res, result, { smoke: result.smoke ?? [] });
}
