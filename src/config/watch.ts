// Watching the config file: tells when it may have changed; the caller re-reads it and compares its
// content hash with the one in service (start-instance.ts), so a change is applied once.
//
// Two sources, one debounce:
// - fs.watch (inotify, FSEvents, ReadDirectoryChangesW) on the file's directory, and on the
//   directory of its symlink target when it has one. Watching the directory, not the file, follows
//   editors that write a new file and rename it over the old one, and the `..data` symlink swap of
//   Kubernetes ConfigMaps (the file's inode changes; a watch on the file would go on watching the
//   old one).
// - A poll every `config_watch_interval_millis` (stat, following symlinks): the fallback when
//   fs.watch is unavailable (it throws, or errors later) or misses events, as on network
//   filesystems.
// Either one (re)starts a short debounce; when the file has been quiet that long, onChange runs.
// A file written in several steps therefore is read once, after its last write.
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Clock } from '../core/clock.ts';

/** Quiet time after the last change event before the file is read: well under a second. */
export const CONFIG_WATCH_DEBOUNCE_MS = 150;

export interface ConfigWatcherOptions {
  readonly path: string;
  /** config_watch_interval_millis: the fallback poll. */
  readonly pollIntervalMs: number;
  readonly debounceMs?: number;
}

export interface ConfigWatcherDeps {
  readonly clock: Clock;
  /** Told when fs.watch cannot be used: polling alone then finds changes. */
  readonly onWatchError?: (error: Error) => void;
  /** fs.watch; replaceable in tests to simulate a platform without it. */
  readonly watch?: (dir: string, listener: (event: string, filename: string | null) => void) => FSWatcher;
}

const defaultWatch = (dir: string, listener: (event: string, filename: string | null) => void): FSWatcher => fsWatch(dir, { persistent: false }, listener);

/** What identifies the file's version to the poll: a change of any of these is a change. */
async function signature(path: string): Promise<string> {
  try {
    const s = await stat(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch {
    return 'missing';
  }
}

export class ConfigWatcher {
  readonly #path: string;
  readonly #debounceMs: number;
  readonly #deps: ConfigWatcherDeps;
  readonly #onChange: () => void;
  #pollIntervalMs: number;
  readonly #watchers = new Map<string, FSWatcher>();
  #cancelDebounce: (() => void) | undefined;
  #cancelPoll: (() => void) | undefined;
  #lastSignature: string | undefined;
  #isStopped = false;

  constructor(options: ConfigWatcherOptions, deps: ConfigWatcherDeps, onChange: () => void) {
    this.#path = resolve(options.path);
    this.#pollIntervalMs = options.pollIntervalMs;
    this.#debounceMs = options.debounceMs ?? CONFIG_WATCH_DEBOUNCE_MS;
    this.#deps = deps;
    this.#onChange = onChange;
  }

  /** A change was seen and its debounce is running (for tests: the clock may then be advanced). */
  get isChangePending(): boolean {
    return this.#cancelDebounce !== undefined;
  }

  /** Directories under watch by fs.watch (empty when only polling works). */
  get watchedDirectories(): string[] {
    return [...this.#watchers.keys()];
  }

  async start(): Promise<void> {
    this.#lastSignature = await signature(this.#path);
    await this.#watchDirectories();
    this.#schedulePoll();
  }

  get pollIntervalMs(): number {
    return this.#pollIntervalMs;
  }

  /** A reload changed config_watch_interval_millis: the next poll uses it. */
  setPollInterval(ms: number): void {
    if (ms === this.#pollIntervalMs) return;
    this.#pollIntervalMs = ms;
    this.#cancelPoll?.();
    this.#schedulePoll();
  }

  stop(): void {
    this.#isStopped = true;
    this.#cancelDebounce?.();
    this.#cancelPoll?.();
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }

  /** The file's directory, and its symlink target's (re-resolved after each change: a swap moves it). */
  async #watchDirectories(): Promise<void> {
    const dirs = new Set([dirname(this.#path)]);
    try {
      dirs.add(dirname(await realpath(this.#path)));
    } catch {
      // missing for now: the file's own directory still sees it appear
    }
    if (this.#isStopped) return;
    for (const [dir, w] of this.#watchers) {
      if (dirs.has(dir)) continue;
      w.close();
      this.#watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.#watchers.has(dir)) continue;
      try {
        const w = (this.#deps.watch ?? defaultWatch)(dir, (_event, filename) => this.#onEvent(dir, filename));
        w.on('error', (error: Error) => {
          w.close();
          this.#watchers.delete(dir);
          this.#deps.onWatchError?.(error);
        });
        this.#watchers.set(dir, w);
      } catch (error) {
        this.#deps.onWatchError?.(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  #onEvent(dir: string, filename: string | null): void {
    // in the file's own directory only the file and the entries of a symlink swap matter; in the
    // target's directory anything may be the target
    const isOwnDir = dir === dirname(this.#path);
    if (isOwnDir && filename !== null && filename !== basename(this.#path) && !filename.startsWith('..')) return;
    this.#changed();
  }

  #changed(): void {
    if (this.#isStopped) return;
    this.#cancelDebounce?.();
    this.#cancelDebounce = this.#deps.clock.setTimer(this.#debounceMs, () => {
      this.#cancelDebounce = undefined;
      void this.#settled();
    });
  }

  async #settled(): Promise<void> {
    this.#lastSignature = await signature(this.#path);
    if (this.#isStopped) return;
    this.#onChange();
    await this.#watchDirectories();
  }

  #schedulePoll(): void {
    if (this.#isStopped) return;
    this.#cancelPoll = this.#deps.clock.setTimer(this.#pollIntervalMs, () => void this.#poll());
  }

  async #poll(): Promise<void> {
    const now = await signature(this.#path);
    if (this.#isStopped) return;
    if (now !== this.#lastSignature) {
      this.#lastSignature = now;
      this.#changed();
    }
    this.#schedulePoll();
  }
}
