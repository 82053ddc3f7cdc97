// The library API as an application uses it: built to JavaScript, imported by plain Node,
// predicting with the shipped prior or a model given by SIBYL_MODEL_PATH.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;

test('the built library loads a model and predicts with the seed README fields', async (t) => {
  // inside the repository, so that the build resolves its dependencies from node_modules as an installed package would
  await mkdir(join(ROOT, '.tmp'), { recursive: true });
  const out = await mkdtemp(join(ROOT, '.tmp', 'lib-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.ts'), out], { stdio: 'pipe' });
  const script = `
    import { RetryPredictor } from ${JSON.stringify(join(out, 'src/lib.js'))};
    const predictor = await RetryPredictor.load();
    const p = predictor.predict({ response_time_ms: 750, status_code: 500, bytes_sent: 1024, anomaly_score: 2.5 });
    const advice = predictor.advise({ status: 503, attempt: 1, userAgentFamily: 'okhttp' });
    let error = '';
    try { predictor.predict({ status_code: 'oops' }); } catch (e) { error = e.message; }
    console.log(JSON.stringify({ p, advice, error, version: predictor.modelVersion }));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { p: number; advice: { retry_probability: number; recommended_action: string; model_version: string }; error: string; version: string };
  assert.ok(result.p > 0 && result.p < 1);
  assert.match(result.version, /^m-\d+-[0-9a-f]{8}$/);
  assert.equal(result.advice.model_version, result.version);
  assert.ok(['ALLOW', 'ROUTE_BACKUP', 'CIRCUIT_BREAK'].includes(result.advice.recommended_action));
  assert.match(result.error, /^status_code:/);

  const missing = spawnSync(process.execPath, ['--input-type=module', '-e', `import { RetryPredictor } from ${JSON.stringify(join(out, 'src/lib.js'))}; await RetryPredictor.load();`], {
    encoding: 'utf8',
    env: { ...process.env, SIBYL_MODEL_PATH: join(out, 'no-such-model.json') },
  });
  assert.notEqual(missing.status, 0, 'SIBYL_MODEL_PATH is honoured');
  assert.match(missing.stderr, /no-such-model\.json/);
});
