// A candidate retry model beside the live one, with the real binary: it scores every response, its
// disagreements and state reach GET /api/model and the metrics.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { writeSnapshotFile } from '../../src/model/model-store.ts';
import { createRetryModel } from '../../src/model/retry-model.ts';
import { backendsToml, startTestBackend } from '../helpers/backends.ts';
import { adminJson, metricValue, testConfig } from '../helpers/sibyl-control.ts';
import { startSibyl } from '../helpers/sibyl-process.ts';

interface ModelView {
  readonly candidate?: { state: string; scored: number; disagreements: number; version: string };
}

test('a shadow candidate model scores every response beside the live one', async (t) => {
  const backend = await startTestBackend('a');
  t.after(() => backend.close());
  const path = join(await mkdtemp(join(tmpdir(), 'sibyl-candidate-')), 'candidate.json');
  const candidate = createRetryModel();
  await writeSnapshotFile(path, candidate.snapshot({ createdAtMs: Date.now(), trainingWindow: { fromMs: 0, toMs: 0, events: 0 }, quality: {} }));
  const sibyl = await startSibyl(testConfig(`[health]\nenabled = false\n${backendsToml([backend])}\n[model_rollout]\ncandidate_path = "${path}"\nmode = "shadow"\n`));
  t.after(() => sibyl.stop());
  await sibyl.waitForLog((l) => l.msg === 'candidate retry model loaded');
  for (let i = 0; i < 30; i++) {
    const res = await request(`${sibyl.proxyUrl}/x/${i}`);
    await res.body.text();
  }
  const view = (await adminJson<ModelView>(sibyl.adminUrl, '/api/model')).body;
  assert.equal(view.candidate?.state, 'shadow');
  assert.equal(view.candidate?.scored, 30);
  // the candidate learns from live labels too (a success is labelled at once): its version moves on
  assert.match(view.candidate?.version ?? '', /^m-\d+-[0-9a-f]+$/);
  assert.notEqual(view.candidate?.version, undefined);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_model_candidate_scored_total'), 30);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_model_candidate_state', { state: 'shadow' }), 1);
  const promoted = await adminJson<{ state: string }>(sibyl.adminUrl, '/api/model/candidate/promote', 'POST');
  assert.equal(promoted.body.state, 'promoted');
  const after = (await adminJson<{ modelVersion: string; candidate?: { version: string } }>(sibyl.adminUrl, '/api/model')).body;
  assert.equal(after.modelVersion, after.candidate?.version, 'the candidate is the live model now');
  assert.equal((await adminJson<unknown>(sibyl.adminUrl, '/api/model/candidate/abort', 'POST')).status, 409);
});

test('a promoted candidate survives a restart: the promoted model loads, the candidate file is not run again', async (t) => {
  const backend = await startTestBackend('a');
  t.after(() => backend.close());
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-candidate-restart-'));
  const candidatePath = join(dir, 'candidate.json');
  const modelPath = join(dir, 'live.json');
  const candidate = createRetryModel();
  await writeSnapshotFile(candidatePath, candidate.snapshot({ createdAtMs: Date.now(), trainingWindow: { fromMs: 0, toMs: 0, events: 0 }, quality: {} }));
  const toml = testConfig(`[health]\nenabled = false\n${backendsToml([backend])}\n[model]\npath = "${modelPath}"\n[model_rollout]\ncandidate_path = "${candidatePath}"\nmode = "canary"\n`);
  const first = await startSibyl(toml);
  t.after(() => first.stop());
  await first.waitForLog((l) => l.msg === 'candidate retry model loaded');
  assert.equal((await adminJson<{ state: string }>(first.adminUrl, '/api/model/candidate/promote', 'POST')).body.state, 'promoted');
  const promoted = (await adminJson<{ modelVersion: string }>(first.adminUrl, '/api/model')).body.modelVersion;
  await first.stop();

  const second = await startSibyl(toml);
  t.after(() => second.stop());
  await second.waitForLog((l) => l.msg === 'candidate retry model was promoted earlier: it is the live model; not run again');
  const view = (await adminJson<{ modelVersion: string; candidate?: unknown }>(second.adminUrl, '/api/model')).body;
  assert.equal(view.candidate, undefined, 'no candidate runs after the restart');
  assert.equal(view.modelVersion, promoted, 'the live model is the promoted one, as saved at shutdown');
});
