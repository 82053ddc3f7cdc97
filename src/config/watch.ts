// Hot reload triggers: the config file polled every config_watch_interval_millis (polling works on
// every filesystem and through the symlink swaps Kubernetes ConfigMaps use), and SIGHUP.
import { unwatchFile, watchFile, type Stats } from 'node:fs';

export interface ConfigWatcher {
  stop(): void;
}

export function watchConfigFile(path: string, intervalMs: number, onChange: () => void): ConfigWatcher {
  const listener = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino) onChange();
  };
  watchFile(path, { interval: intervalMs, persistent: false }, listener);
  const onHup = (): void => onChange();
  process.on('SIGHUP', onHup);
  return {
    stop() {
      unwatchFile(path, listener);
      process.off('SIGHUP', onHup);
    },
  };
}
