// For e2e tests of `serve --workers`.
import type { SibylProcess } from './sibyl-process.ts';

export const TWO_WORKERS = ['--workers', '2'];

/** Each worker's own admin URL, from its startup line (tests only: operators use the primary's). */
export function workerAdminUrls(sibyl: SibylProcess): string[] {
  return sibyl.logLines
    .map((line) => JSON.parse(line) as { msg?: string; admin?: { port: number } })
    .filter((l) => l.msg === 'worker is serving')
    .map((l) => `http://127.0.0.1:${l.admin?.port}`);
}
