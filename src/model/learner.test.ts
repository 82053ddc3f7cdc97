import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabelledEvent } from '../telemetry/attempt-event.ts';
import { OnlineLearner } from './learner.ts';

const ev = (retried: 0 | 1) => ({ retried }) as LabelledEvent;

test('drains in FIFO order, predicting before learning, and counts drops when full', () => {
  const seen: number[] = [];
  const scored: number[] = [];
  let drops = 0;
  const learner = new OnlineLearner(
    3,
    { learn: (_e, y) => (seen.push(y), 0.5) },
    { onScored: (_e, p) => scored.push(p), onDrop: () => drops++ },
  );
  learner.enqueue(ev(1));
  learner.enqueue(ev(0));
  learner.enqueue(ev(1));
  learner.enqueue(ev(0));
  assert.equal(drops, 1);
  assert.equal(learner.drain(2), 2);
  assert.deepEqual(seen, [1, 0]);
  learner.enqueue(ev(0));
  assert.equal(learner.drain(), 2);
  assert.deepEqual(seen, [1, 0, 1, 0]);
  assert.equal(learner.learned, 4);
  assert.deepEqual(scored, [0.5, 0.5, 0.5, 0.5]);
  assert.equal(learner.backlog, 0);
});
