// Traffic state that must survive a restart (rollouts, blue-green), as one small JSON file with a
// section per owner. Read once at start; written whole after each change, aside and renamed, so a
// crash never leaves a half-written file; writes are serialised and coalesced.
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { RuntimeDeps } from './deps.ts';

export interface StateStore {
  /** The section as last saved (or read at start); undefined when absent. */
  read(section: string): unknown;
  write(section: string, value: unknown): void;
  /** Resolves when every write so far is on disk (or failed). */
  flush(): Promise<void>;
}

/** In memory only: what a process without [traffic] state_file uses, and what tests restart from. */
export function createMemoryStore(initial: Record<string, unknown> = {}): StateStore & { readonly data: Record<string, unknown> } {
  const data: Record<string, unknown> = structuredClone(initial);
  return {
    data,
    read: (section) => data[section],
    write: (section, value) => void (data[section] = structuredClone(value)),
    flush: () => Promise.resolve(),
  };
}

export function createFileStore(path: string, onError: (err: unknown, op: 'read' | 'write') => void): StateStore {
  let data: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) data = parsed as Record<string, unknown>;
  } catch (err) {
    // a missing file is the normal first start; anything else is reported and starts afresh
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err, 'read');
  }
  let writing: Promise<void> | undefined;
  let isDirty = false;
  const writeOnce = async (): Promise<void> => {
    while (isDirty) {
      isDirty = false;
      const aside = `${path}.${process.pid}.tmp`;
      try {
        await writeFile(aside, `${JSON.stringify(data, null, 2)}\n`);
        await rename(aside, path);
      } catch (err) {
        onError(err, 'write');
      }
    }
    writing = undefined;
  };
  return {
    read: (section) => data[section],
    write(section, value) {
      data = { ...data, [section]: structuredClone(value) };
      isDirty = true;
      writing ??= writeOnce();
    },
    flush: () => writing ?? Promise.resolve(),
  };
}

/** The store [traffic] state_file asks for; failures are counted and logged, never fatal. */
export function createStateStore(stateFile: string | undefined, deps: RuntimeDeps): StateStore {
  if (stateFile === undefined) return createMemoryStore();
  return createFileStore(stateFile, (err, op) => {
    deps.metrics.rolloutStateFileErrors.inc();
    deps.logger.warn({ err, path: stateFile, op }, `cannot ${op} the traffic state file; rollout state lives in memory until a write succeeds`);
  });
}
