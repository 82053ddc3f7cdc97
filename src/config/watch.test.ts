// The config watcher on a real directory with a manual clock: a change is reported exactly one
// debounce after the file system told of it, a Kubernetes-style symlink swap is followed, and
// polling finds changes when fs.watch cannot be used.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ManualClock } from '../core/clock.ts';
import { ConfigWatcher } from './watch.ts';

const DEBOUNCE_MS = 150;
/** Polls are pushed out of the way unless a test wants them. */
const NO_POLL_MS = 1_000_000_000;

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-watch-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Waits (real time, bounded) for something the file system reports asynchronously. */
async function until(condition: () => boolean, what: string, deadlineMs = 5000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function start(t: TestContext, path: string, options: { pollIntervalMs?: number; watch?: () => never } = {}) {
  const clock = new ManualClock();
  let changes = 0;
  const errors: Error[] = [];
  const watcher = new ConfigWatcher(
    { path, pollIntervalMs: options.pollIntervalMs ?? NO_POLL_MS, debounceMs: DEBOUNCE_MS },
    { clock, onWatchError: (e) => errors.push(e), ...(options.watch === undefined ? {} : { watch: options.watch }) },
    () => changes++,
  );
  t.after(() => watcher.stop());
  return { clock, watcher, errors, changes: () => changes };
}

test('a write is reported one debounce after the last file system event, not before', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'sibyl.toml');
  await writeFile(path, 'a = 1\n');
  const w = start(t, path);
  await w.watcher.start();
  assert.deepEqual(w.watcher.watchedDirectories, [dir]);

  await writeFile(path, 'a = 2\n');
  await until(() => w.watcher.isChangePending, 'the fs.watch event');
  w.clock.advance(DEBOUNCE_MS - 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(w.changes(), 0, 'not before the debounce has passed');
  w.clock.advance(1);
  await until(() => w.changes() === 1, 'the change after the debounce');

  // other files in the directory (an editor's swap file) are not the config
  await writeFile(join(dir, '.sibyl.toml.swp'), 'x');
  await writeFile(join(dir, 'other.toml'), 'x');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(w.watcher.isChangePending, false);
});

test('a file replaced by rename (as editors save) is followed', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'sibyl.toml');
  await writeFile(path, 'a = 1\n');
  const w = start(t, path);
  await w.watcher.start();
  for (let i = 2; i <= 3; i++) {
    await writeFile(join(dir, 'sibyl.toml.new'), `a = ${i}\n`);
    await rename(join(dir, 'sibyl.toml.new'), path);
    await until(() => w.watcher.isChangePending, `rename ${i}`);
    w.clock.advance(DEBOUNCE_MS);
    await until(() => w.changes() === i - 1, `change ${i}`);
  }
});

test('a Kubernetes ConfigMap swap (..data symlink replaced) is followed, again and again', async (t) => {
  const dir = await tempDir(t);
  const version = async (n: number): Promise<string> => {
    const v = join(dir, `..2024_0${n}`);
    await mkdir(v);
    await writeFile(join(v, 'sibyl.toml'), `a = ${n}\n`);
    return v;
  };
  await symlink(await version(1), join(dir, '..data'));
  await symlink(join('..data', 'sibyl.toml'), join(dir, 'sibyl.toml'));
  const path = join(dir, 'sibyl.toml');
  const w = start(t, path);
  await w.watcher.start();
  assert.equal(w.watcher.watchedDirectories.length, 2, 'the link\'s directory and its target\'s');

  for (let n = 2; n <= 3; n++) {
    // what the kubelet does: a new timestamped directory, a new ..data_tmp link renamed over ..data
    await symlink(await version(n), join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await until(() => w.watcher.isChangePending, `swap ${n}`);
    w.clock.advance(DEBOUNCE_MS);
    await until(() => w.changes() === n - 1, `change ${n}`);
    await until(() => w.watcher.watchedDirectories.includes(join(dir, `..2024_0${n}`)), `the watch moved to version ${n}`);
  }
});

test('without fs.watch, polling every config_watch_interval_millis finds a change; the interval can change', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'sibyl.toml');
  await writeFile(path, 'a = 1\n');
  const w = start(t, path, {
    pollIntervalMs: 1000,
    watch: () => {
      throw new Error('ENOSYS: fs.watch not available');
    },
  });
  await w.watcher.start();
  assert.deepEqual(w.watcher.watchedDirectories, []);
  assert.match(w.errors[0]?.message ?? '', /ENOSYS/, 'the failure is reported (and logged by the caller)');

  await writeFile(path, 'a = 22\n');
  w.clock.advance(999);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(w.watcher.isChangePending, false, 'no poll before the interval');
  w.clock.advance(1);
  await until(() => w.watcher.isChangePending, 'the poll to see the change');
  w.clock.advance(DEBOUNCE_MS);
  await until(() => w.changes() === 1, 'the change');

  w.watcher.setPollInterval(50);
  await writeFile(path, 'a = 333\n');
  w.clock.advance(50);
  await until(() => w.watcher.isChangePending, 'the poll at the new interval');
  w.clock.advance(DEBOUNCE_MS);
  await until(() => w.changes() === 2, 'the second change');
});
