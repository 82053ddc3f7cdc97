// Reloading the config file: from the file watcher, SIGHUP or POST /api/reload, one at a time.
// One change, one generation: the file's content hash is compared with the one in service, and a
// file already applied is not applied again, whichever trigger comes second (the watcher sees the
// write that an operator's SIGHUP also answers).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Clock } from '../core/clock.ts';
import { formatProblems, parseConfigText } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { ConfigWatcher, type ConfigWatcherDeps } from '../config/watch.ts';
import type { Logger } from '../log/logger.ts';
import type { ReloadResult } from '../runtime/runtime.ts';

export type ReloadTrigger = 'watch' | 'signal' | 'api';

export interface ConfigReloaderDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Applies a valid config (a new generation) and answers what changed. */
  readonly apply: (config: Config) => ReloadResult;
  readonly reject: (problems: readonly string[]) => ReloadResult;
  readonly lastReload: () => ReloadResult;
  /** fs.watch, replaceable in tests (see ConfigWatcherDeps). */
  readonly watch?: ConfigWatcherDeps['watch'];
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

export class ConfigReloader {
  readonly #path: string;
  readonly #env: Record<string, string | undefined>;
  readonly #deps: ConfigReloaderDeps;
  readonly #watcher: ConfigWatcher;
  #appliedHash: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #onHup = (): void => void this.reload('signal');

  constructor(options: { path: string; env: Record<string, string | undefined>; pollIntervalMs: number; debounceMs?: number }, deps: ConfigReloaderDeps) {
    this.#path = options.path;
    this.#env = options.env;
    this.#deps = deps;
    this.#watcher = new ConfigWatcher(
      { path: options.path, pollIntervalMs: options.pollIntervalMs, debounceMs: options.debounceMs },
      { clock: deps.clock, watch: deps.watch, onWatchError: (error) => deps.logger.warn({ err: error.message, path: options.path }, 'cannot watch the config file for changes; polling it every config_watch_interval_millis instead') },
      () => void this.reload('watch'),
    );
  }

  get watcher(): ConfigWatcher {
    return this.#watcher;
  }

  /** Remembers the file in service (the one the process started with) and starts watching it. */
  async start(options: { isSignalHandled: boolean }): Promise<void> {
    try {
      this.#appliedHash = sha256(await readFile(this.#path));
    } catch {
      // unreadable now: the next readable version counts as a change
    }
    await this.#watcher.start();
    if (options.isSignalHandled) process.on('SIGHUP', this.#onHup);
  }

  stop(): void {
    this.#watcher.stop();
    process.off('SIGHUP', this.#onHup);
  }

  /** Serialised: a trigger during a reload waits for it, then finds the file it applied unchanged. */
  reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    const next = this.#queue.then(() => this.#reload(trigger));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.#path);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return this.#deps.reject([`${this.#path}: cannot read the config file: ${reason}`]);
    }
    const hash = sha256(bytes);
    const last = this.#deps.lastReload();
    // a rejected reload is not "in service": the same file again must clear its report
    if (hash === this.#appliedHash && last.ok) {
      this.#deps.logger.info({ trigger, generation: last.generation }, 'config file unchanged since it was applied: nothing to reload');
      return { ...last, isUnchanged: true };
    }
    const result = parseConfigText(bytes.toString('utf8'), this.#path, this.#env);
    if (!result.ok) return this.#deps.reject(formatProblems(this.#path, result.problems).split('\n'));
    this.#appliedHash = hash;
    this.#watcher.setPollInterval(result.config.runtime.configWatchIntervalMillis);
    return this.#deps.apply(result.config);
  }
}
