import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../core/clock.ts';
import { createSeededRng } from '../core/rng.ts';
import { validateDocument } from '../config/load.ts';
import { createMetrics } from '../metrics/catalogue.ts';
import { ExperimentController } from './experiment-controller.ts';
import { createMemoryStore, type StateStore } from './state-file.ts';

function experiments(weights: [number, number]) {
  const result = validateDocument(
    {
      backends: [{ name: 'a', address: '127.0.0.1:9001' }],
      pools: [{ name: 'v2', backends: [{ name: 'b', address: '127.0.0.1:9002' }] }],
      experiments: [{ name: 'e', pool: 'default', key: 'header:x-user', variants: [{ name: 'control', pool: 'default', weight: weights[0] }, { name: 'new', pool: 'v2', weight: weights[1] }] }],
    },
    {},
  );
  if (!result.ok) assert.fail(JSON.stringify(result.problems));
  return result.config.experiments;
}

const controller = (store: StateStore) => new ExperimentController({ clock: new ManualClock(), rng: createSeededRng(1), metrics: createMetrics({ collectProcessMetrics: false }), logger: pino({ level: 'silent' }) }, store);
const req = (user: string) => ({ headers: { 'x-user': user } }) as unknown as IncomingMessage;

test('tallies survive a restart through the state store, and only for the same variants', () => {
  const store = createMemoryStore();
  const first = controller(store);
  first.configure(experiments([1, 1]));
  for (let i = 0; i < 100; i++) first.assign('default', req(`u${i}`), '')?.record({ status: i % 10 === 0 ? 500 : 200, errorKind: 'none', latencyMs: 10 + i });
  assert.equal(first.assign('v2', req('u1'), ''), undefined, 'only the experiment\'s pool takes part');
  first.save();
  const before = first.find('e');

  const second = controller(createMemoryStore(store.data));
  second.configure(experiments([1, 1]));
  assert.deepEqual(second.find('e'), before, 'the same report after the restart');

  const changed = controller(createMemoryStore(store.data));
  changed.configure(experiments([3, 1]));
  assert.deepEqual(changed.find('e')?.variants.map((v) => v.requests), [0, 0], 'other weights: a new experiment');
});
