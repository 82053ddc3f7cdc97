import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { parseWorkers } from './serve.ts';

test('--workers: a count from 1 to 256, "auto" for one per core, anything else refused', () => {
  assert.equal(parseWorkers(undefined), 1);
  assert.equal(parseWorkers('1'), 1);
  assert.equal(parseWorkers('4'), 4);
  assert.equal(parseWorkers('auto'), availableParallelism());
  for (const bad of ['0', '-1', '1.5', 'two', '257', '']) assert.equal(parseWorkers(bad), undefined, bad);
});
