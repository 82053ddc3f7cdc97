// Model snapshots on disk: versioned JSON written atomically (temp file + rename), so a crash
// mid-write never leaves a half snapshot where the next start would read it.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseModelSnapshot, type ModelSnapshot } from './model-snapshot.ts';

/** The prior shipped with Sibyl: trained by `sibyl train` on `sibyl generate-telemetry` data (docs/retry-prediction.md). */
export const SHIPPED_PRIOR_PATH = new URL('../../models/prior.json', import.meta.url).pathname;

export async function readSnapshotFile(path: string): Promise<ModelSnapshot> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  try {
    return parseModelSnapshot(json);
  } catch (err) {
    // keep the catalogue code (invalid vs mismatch) and name the file
    if (err instanceof Error) err.message = `${path}: ${err.message}`;
    throw err;
  }
}

export async function writeSnapshotFile(path: string, snapshot: ModelSnapshot): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(snapshot)}\n`);
  await rename(temp, path);
}
