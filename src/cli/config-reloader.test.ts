// One change, one generation: an explicit reload and the file watcher that sees the same write
// apply it once, in either order; a rejected file shown again is applied when it becomes valid.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../core/clock.ts';
import type { Config } from '../config/schema.ts';
import type { ReloadResult } from '../runtime/runtime.ts';
import { ConfigReloader } from './config-reloader.ts';

const DEBOUNCE_MS = 150;
const POLL_MS = 1000;

const toml = (weight: number): string => `[[backends]]\naddress = "127.0.0.1:9"\nweight = ${weight}\n`;

async function until(condition: () => boolean, what: string, deadlineMs = 5000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A reloader whose "runtime" counts generations. */
async function setUp(t: TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-reloader-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'sibyl.toml');
  await writeFile(path, toml(1));
  const clock = new ManualClock();
  const applied: Config[] = [];
  const logLines: string[] = [];
  let last: ReloadResult = { ok: true, atIso: '', generation: 1, problems: [], needsRestart: [] };
  const reloader = new ConfigReloader(
    { path, env: {}, pollIntervalMs: POLL_MS, debounceMs: DEBOUNCE_MS },
    {
      clock,
      logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
      apply: (config) => {
        applied.push(config);
        last = { ...last, ok: true, generation: last.generation + 1, problems: [] };
        return last;
      },
      reject: (problems) => {
        last = { ...last, ok: false, problems };
        return last;
      },
      lastReload: () => last,
    },
  );
  await reloader.start({ isSignalHandled: false });
  t.after(() => reloader.stop());
  /** Lets the watcher see the write and its debounce pass; then a poll tick too. */
  const watcherTick = async (): Promise<void> => {
    await until(() => reloader.watcher.isChangePending, 'the watcher to see the write');
    clock.advance(DEBOUNCE_MS);
    await until(() => !reloader.watcher.isChangePending, 'the debounce');
    clock.advance(POLL_MS);
  };
  const watcherFoundUnchanged = (): boolean => logLines.some((l) => l.includes('"trigger":"watch"') && l.includes('unchanged'));
  return { path, reloader, applied, generation: () => last.generation, watcherTick, watcherFoundUnchanged };
}

test('an explicit reload applies a changed file once: the watcher that sees the same write applies nothing', async (t) => {
  const s = await setUp(t);
  await writeFile(s.path, toml(2));
  const result = await s.reloader.reload('api');
  assert.equal(result.generation, 2);
  assert.equal(result.isUnchanged, undefined);
  await s.watcherTick();
  await until(s.watcherFoundUnchanged, 'the watcher to read the file');
  assert.equal(s.generation(), 2, 'one change, one generation');
  assert.deepEqual(s.applied.map((c) => c.backends[0]?.weight), [2]);

  const again = await s.reloader.reload('signal');
  assert.equal(again.isUnchanged, true, 'an unchanged file is not applied again');
  assert.equal(again.generation, 2);
});

test('the watcher first, then the explicit reload: still one generation', async (t) => {
  const s = await setUp(t);
  await writeFile(s.path, toml(3));
  await s.watcherTick();
  await until(() => s.applied.length === 1, 'the watcher to apply the file');
  assert.equal(s.generation(), 2);
  assert.equal((await s.reloader.reload('api')).isUnchanged, true);
  assert.equal(s.generation(), 2);
});

test('a rejected file is reported; the valid file that follows, or the old one restored, is applied', async (t) => {
  const s = await setUp(t);
  await writeFile(s.path, '[proxy]\nlisten_adress = "x"\n');
  const rejected = await s.reloader.reload('api');
  assert.equal(rejected.ok, false);
  assert.ok(rejected.problems.some((p) => p.includes('proxy.listen_adress')));

  // the file in service before the rejection, restored: applied again so the report clears
  await writeFile(s.path, toml(1));
  const restored = await s.reloader.reload('api');
  assert.equal(restored.ok, true);
  assert.equal(restored.generation, 2);
});

test('config_watch_interval_millis applies on reload: the watcher polls at the new interval', async (t) => {
  const s = await setUp(t);
  await writeFile(s.path, `[runtime]\nconfig_watch_interval_millis = 50\n${toml(1)}`);
  await s.reloader.reload('api');
  assert.equal(s.applied[0]?.runtime.configWatchIntervalMillis, 50);
  assert.equal(s.reloader.watcher.pollIntervalMs, 50);
});
