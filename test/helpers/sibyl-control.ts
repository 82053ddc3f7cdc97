// Drives a running Sibyl from outside: its admin listener (JSON API, Prometheus metrics) and its
// config file; and builds test configs.
import { rename, writeFile } from 'node:fs/promises';
import { request } from 'undici';

export interface BackendView {
  readonly name: string;
  readonly address: string;
  readonly weight: number;
  readonly isHealthy: boolean;
  readonly isEjected: boolean;
  readonly isDraining: boolean;
  readonly inFlight: number;
}

export interface ConfigView {
  readonly generation: number;
  readonly lastReload: { readonly ok: boolean; readonly generation: number; readonly problems: readonly string[] };
}

export async function adminJson<T>(adminUrl: string, path: string, method: 'GET' | 'POST' | 'PUT' = 'GET', body?: unknown): Promise<{ status: number; body: T }> {
  const res = await request(`${adminUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

export async function backendViews(adminUrl: string): Promise<BackendView[]> {
  return (await adminJson<{ backends: BackendView[] }>(adminUrl, '/api/backends')).body.backends;
}

export async function backendView(adminUrl: string, name: string): Promise<BackendView | undefined> {
  return (await backendViews(adminUrl)).find((b) => b.name === name);
}

export async function configView(adminUrl: string): Promise<ConfigView> {
  return (await adminJson<ConfigView>(adminUrl, '/api/config')).body;
}

/**
 * One sample of a Prometheus metric from /metrics: `labels` must all match (others are ignored).
 * Undefined when no sample matches.
 */
export async function metricValue(adminUrl: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const res = await request(`${adminUrl}/metrics`);
  const text = await res.body.text();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}

/**
 * A config whose listeners are on loopback port 0, with the access log off (the tests read
 * /metrics and the backends' records instead). `sections` is appended as is; extra keys of the
 * [runtime] and [proxy] tables go in `extra` (a table may appear only once in TOML).
 */
export function testConfig(sections: string, extra: { runtime?: string; proxy?: string } = {}): string {
  return [
    `[runtime]\n${extra.runtime ?? ''}`,
    `[proxy]\nlisten_address = "127.0.0.1:0"\n${extra.proxy ?? ''}`,
    '[admin]\nlisten_address = "127.0.0.1:0"',
    '[log]\naccess_log = false',
    sections,
  ].join('\n\n');
}

/**
 * Replaces the config file in one step (write aside, then rename), as deploy tools and Kubernetes
 * do, so that a watcher polling the file never reads it half-written.
 */
export async function replaceConfigFile(path: string, text: string): Promise<void> {
  const aside = `${path}.next`;
  await writeFile(aside, text);
  await rename(aside, path);
}
