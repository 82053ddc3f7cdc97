// Real components (nginx, HAProxy, redis-server, chromium, promtool) come from apt. Locally a test
// that needs a missing one skips with a loud message; with CI=true a missing one is a failure,
// because .ci/run installs them all and a silent skip there would hide a broken install step.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Absolute path of `name` on PATH (or the first existing absolute candidate), else undefined. */
export function findExecutable(...candidates: string[]): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin']);
  for (const candidate of candidates) {
    const paths = candidate.includes('/') ? [candidate] : dirs.map((dir) => join(dir, candidate));
    for (const path of paths) {
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not here; keep looking
      }
    }
  }
  return undefined;
}

/**
 * For node:test's `skip` option: false when the tool exists, a skip reason when it does not.
 * Throws under CI=true, so the suite fails instead of skipping.
 */
export function skipUnlessTool(label: string, path: string | undefined): false | string {
  if (path !== undefined) return false;
  const message = `${label} is not installed (apt); .ci/run installs it`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${message}`);
  console.warn(`\n!!! SKIPPING: ${message} !!!\n`);
  return `SKIPPED: ${message}`;
}
