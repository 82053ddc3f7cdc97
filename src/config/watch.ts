// Hot reload triggers: the config file polled every config_watch_interval_millis (polling works on
// every filesystem and through the symlink swaps Kubernetes ConfigMaps use), and SIGHUP.
// A change is applied once the file has stayed unchanged for one more interval (debounce), so a
// file written in several steps is not read half-written.
import { unwatchFile, watchFile, type Stats } from 'node:fs';

export interface ConfigWatcher {
  stop(): void;
}

export function watchConfigFile(path: string, intervalMs: number, onChange: () => void): ConfigWatcher {
  let pending: NodeJS.Timeout | undefined;
  const listener = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    clearTimeout(pending);
    pending = setTimeout(onChange, intervalMs);
    pending.unref();
  };
  watchFile(path, { interval: intervalMs, persistent: false }, listener);
  const onHup = (): void => onChange();
  process.on('SIGHUP', onHup);
  return {
    stop() {
      clearTimeout(pending);
      unwatchFile(path, listener);
      process.off('SIGHUP', onHup);
    },
  };
}
