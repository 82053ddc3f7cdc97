// The admin API of progressive delivery: rollouts (list, one, pause/resume/promote/abort). State
// changes go through runtime commands only.
import type { ServerResponse } from 'node:http';
import type { Runtime } from '../runtime/runtime.ts';
import { sendJson, sendProblem } from './http-util.ts';

const ROLLOUT = /^\/api\/rollouts\/([^/]+)(?:\/(pause|resume|promote|abort))?$/;

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** True when the path belongs to this API (and an answer was sent). */
export function trafficRoutes(res: ServerResponse, path: string, method: string, runtime: Runtime): boolean {
  if (path === '/api/rollouts') {
    if (method !== 'GET') sendProblem(res, 405, 'SIBYL_ERR_ADMIN_METHOD', `${method} is not allowed on ${path}`);
    else sendJson(res, 200, { rollouts: runtime.rollouts.views() });
    return true;
  }
  const match = ROLLOUT.exec(path);
  if (match === null) return false;
  const name = decode(match[1] ?? '');
  if (name === undefined) {
    sendProblem(res, 400, 'SIBYL_ERR_ADMIN_BAD_REQUEST', 'the rollout name is not valid percent-encoding');
    return true;
  }
  const cmd = match[2] as 'pause' | 'resume' | 'promote' | 'abort' | undefined;
  if (cmd === undefined) {
    const view = method === 'GET' ? runtime.rollouts.find(name) : undefined;
    if (method !== 'GET') sendProblem(res, 405, 'SIBYL_ERR_ADMIN_METHOD', `${method} is not allowed on ${path}`);
    else if (view === undefined) sendProblem(res, 404, 'SIBYL_ERR_ADMIN_NOT_FOUND', `no rollout named ${JSON.stringify(name)}`);
    else sendJson(res, 200, view);
    return true;
  }
  if (method !== 'POST') {
    sendProblem(res, 405, 'SIBYL_ERR_ADMIN_METHOD', `${method} is not allowed on ${path}; use POST`);
    return true;
  }
  const result = runtime.rollouts.command(name, cmd);
  if (result.ok) sendJson(res, 200, result.rollout);
  else sendProblem(res, result.status, result.status === 404 ? 'SIBYL_ERR_ADMIN_NOT_FOUND' : 'SIBYL_ERR_ADMIN_CONFLICT', result.message);
  return true;
}
