// Hot reload of the real `sibyl` binary: a changed config file is applied under load without a
// failed request; an invalid one changes nothing and is reported; SIGHUP and POST /api/reload work.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { adminJson, backendViews, configView, metricValue, replaceConfigFile, testConfig } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';
import { describeLoad, runLoad, startLoad } from '../helpers/steady-load.ts';

interface ReloadView {
  readonly ok: boolean;
  readonly generation: number;
  readonly problems: readonly string[];
}

async function backends(t: TestContext, names: string[]): Promise<TestBackend[]> {
  const started = await Promise.all(names.map((n) => startTestBackend(n)));
  t.after(() => Promise.all(started.map((b) => b.close())));
  return started;
}

function configWith(backendList: TestBackend[], watchIntervalMs: number): string {
  return testConfig(backendsToml(backendList), { runtime: `config_watch_interval_millis = ${watchIntervalMs}` });
}

async function serve(t: TestContext, configText: string): Promise<SibylProcess> {
  const sibyl = await startSibyl(configText);
  t.after(() => sibyl.stop());
  return sibyl;
}

test('a config file changed under steady load is applied without a failed request', async (t) => {
  const [a, b, c] = (await backends(t, ['a', 'b', 'c'])) as [TestBackend, TestBackend, TestBackend];
  const sibyl = await serve(t, configWith([a, b], 100));
  const concurrency = 8;
  const load = startLoad(sibyl.proxyUrl, { concurrency, maxRequests: 50_000, maxDurationMs: 3000 });
  t.after(() => load.stop());
  await eventually(() => load.answered() >= 200);

  // remove `a`, add `c`
  await replaceConfigFile(sibyl.configPath, configWith([b, c], 100));
  await eventually(async () => (await configView(sibyl.adminUrl)).generation === 2, 5000);
  const seenByAAtSwap = a.seen.length;
  const seenByCAtSwap = c.seen.length;
  const answeredAtSwap = load.answered();

  const result = await load.done;
  assert.equal(result.errors.size, 0, describeLoad(result));
  assert.deepEqual([...result.statuses.keys()], [200], `every request answered 200 across the reload: ${describeLoad(result)}`);
  assert.ok(result.total - answeredAtSwap >= 200, `the load should run on after the swap: ${describeLoad(result)}`);
  // requests picked on the old generation just before the swap may still arrive: at most one per loop
  assert.ok(a.seen.length - seenByAAtSwap <= concurrency, `the removed backend got ${a.seen.length - seenByAAtSwap} requests after the swap`);
  assert.ok(c.seen.length - seenByCAtSwap >= 50, `the added backend should take its share: ${describeLoad(result)}`);
  assert.ok(b.seen.length > 0);

  assert.deepEqual((await backendViews(sibyl.adminUrl)).map((v) => v.name), ['b', 'c']);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_config_reloads_total'), 1);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_config_generation'), 2);
  assert.equal((await configView(sibyl.adminUrl)).lastReload.ok, true);
});

test('an invalid config file is rejected: the old config keeps serving and the failure is reported', async (t) => {
  const [a, b, c] = (await backends(t, ['a', 'b', 'c'])) as [TestBackend, TestBackend, TestBackend];
  const sibyl = await serve(t, configWith([a, b], 100));

  // a misspelt key, in a file that would otherwise switch to `c`
  await replaceConfigFile(sibyl.configPath, `[proxy]\nlisten_adress = "127.0.0.1:0"\n\n${backendsToml([c])}`);
  const view = await eventually(async () => {
    const v = await configView(sibyl.adminUrl);
    return v.lastReload.ok === false ? v : undefined;
  }, 5000);
  assert.ok(view !== undefined);
  assert.equal(view.generation, 1);
  assert.ok(
    view.lastReload.problems.some((p) => p.includes('proxy.listen_adress') && p.includes('listen_address')),
    `problems name the key path and suggest the right key: ${JSON.stringify(view.lastReload.problems)}`,
  );
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_config_reload_failures_total'), 1);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_config_reloads_total'), 0);

  const result = await runLoad(sibyl.proxyUrl, { concurrency: 2, maxRequests: 40, maxDurationMs: 5000 });
  assert.equal(result.statuses.get(200), 40, describeLoad(result));
  assert.equal(c.seen.length, 0, 'the rejected file changed nothing');
  assert.equal(a.seen.length + b.seen.length, 40);
  assert.ok(sibyl.logLines.some((l) => l.includes('config reload rejected')), 'the rejection is logged');
});

test('SIGHUP and POST /api/reload re-read the config file', async (t) => {
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  // the file watcher polls only every 10 minutes here: any reload below comes from the trigger
  const slowWatch = 600_000;
  const sibyl = await serve(t, configWith([a], slowWatch));

  await writeFile(sibyl.configPath, configWith([a, b], slowWatch));
  sibyl.proc.kill('SIGHUP');
  await eventually(async () => (await configView(sibyl.adminUrl)).generation === 2, 5000);
  const both = await runLoad(sibyl.proxyUrl, { concurrency: 2, maxRequests: 20, maxDurationMs: 5000 });
  assert.equal(both.statuses.get(200), 20, describeLoad(both));
  assert.equal(b.seen.length, 10, 'the backend added by the SIGHUP reload takes half of round-robin traffic');
  assert.equal(sibyl.proc.exitCode, null, 'SIGHUP does not stop sibyl');

  await writeFile(sibyl.configPath, configWith([b], slowWatch));
  const applied = await adminJson<ReloadView>(sibyl.adminUrl, '/api/reload', 'POST');
  assert.equal(applied.status, 200);
  assert.equal(applied.body.ok, true);
  assert.equal(applied.body.generation, 3);
  const seenByA = a.seen.length;
  const onlyB = await runLoad(sibyl.proxyUrl, { concurrency: 2, maxRequests: 20, maxDurationMs: 5000 });
  assert.equal(onlyB.statuses.get(200), 20, describeLoad(onlyB));
  assert.equal(a.seen.length, seenByA, 'the backend removed by POST /api/reload gets nothing');

  await writeFile(sibyl.configPath, '[strategy]\nalgorithm = "fastest"\n');
  const rejected = await adminJson<ReloadView>(sibyl.adminUrl, '/api/reload', 'POST');
  assert.equal(rejected.status, 200);
  assert.equal(rejected.body.ok, false);
  assert.equal(rejected.body.generation, 3);
  assert.ok(rejected.body.problems.some((p) => p.includes('strategy.algorithm')), JSON.stringify(rejected.body.problems));
  assert.ok(rejected.body.problems.some((p) => p.includes('backend')), `a file without backends is reported too: ${JSON.stringify(rejected.body.problems)}`);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_config_generation'), 3);
});

test('one change, one generation: the watcher does not apply again what POST /api/reload applied; keys needing a restart are named', async (t) => {
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const sibyl = await serve(t, configWith([a], 100));
  // a plain write (truncate, write): the watcher sees it too, as it sees an operator's edit
  const moved = configWith([a, b], 100).replace('[proxy]\nlisten_address = "127.0.0.1:0"', '[proxy]\nlisten_address = "127.0.0.1:65000"');
  await writeFile(sibyl.configPath, moved);
  const applied = await adminJson<ReloadView & { needsRestart: string[] }>(sibyl.adminUrl, '/api/reload', 'POST');
  assert.equal(applied.body.ok, true);
  assert.equal(applied.body.generation, 2);
  assert.deepEqual(applied.body.needsRestart, ['proxy.listen_address'], 'the answer names the key that waits for a restart');
  // and the log does (its line may arrive after the answer)
  await eventually(() => sibyl.logLines.some((l) => l.includes('need a restart') && l.includes('proxy.listen_address')), 5000);

  // whichever came second (watcher or POST) found the file already applied
  await eventually(() => sibyl.logLines.some((l) => l.includes('config file unchanged since it was applied')), 5000);
  assert.equal((await configView(sibyl.adminUrl)).generation, 2);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_config_reloads_total'), 1);
  const both = await runLoad(sibyl.proxyUrl, { concurrency: 2, maxRequests: 10, maxDurationMs: 5000 });
  assert.equal(both.statuses.get(200), 10, describeLoad(both));
  assert.ok(b.seen.length > 0, 'the added backend serves: the rest of the file applied');
});
