import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from '../metrics/catalogue.ts';
import { counterBy, counterTotal, histogramBuckets } from './dashboard-snapshot.ts';

test('counters are summed over the labels the dashboard does not split by', async () => {
  const m = createMetrics({ collectProcessMetrics: false });
  m.requests.inc({ backend: 'a', status_class: '2xx' }, 3);
  m.requests.inc({ backend: 'b', status_class: '2xx' }, 4);
  m.requests.inc({ backend: 'b', status_class: '5xx' });
  assert.deepEqual(await counterBy(m.registry, 'sibyl_proxy_requests_total', 'status_class'), { '2xx': 7, '5xx': 1 });
  assert.deepEqual(await counterBy(m.registry, 'sibyl_proxy_requests_total', 'backend'), { a: 3, b: 5 });
  assert.equal(await counterTotal(m.registry, 'sibyl_proxy_requests_total'), 8);
  assert.equal(await counterTotal(m.registry, 'sibyl_retry_paced_total'), 0);
  assert.deepEqual(await counterBy(m.registry, 'sibyl_no_such_metric', 'x'), {});
});

test('histogram buckets are cumulative, summed over backends, +Inf sent as null', async () => {
  const m = createMetrics({ collectProcessMetrics: false });
  m.requestDuration.observe({ backend: 'a' }, 0.004);
  m.requestDuration.observe({ backend: 'b' }, 0.2);
  m.requestDuration.observe({ backend: 'b' }, 60);
  const h = await histogramBuckets(m.registry, 'sibyl_proxy_request_duration_seconds');
  assert.equal(h.le.length, h.counts.length);
  assert.equal(h.le.at(-1), null);
  assert.equal(h.counts[h.le.indexOf(0.005)], 1);
  assert.equal(h.counts[h.le.indexOf(0.25)], 2);
  assert.equal(h.counts[h.le.indexOf(30)], 2);
  assert.equal(h.counts.at(-1), 3);
  assert.deepEqual(h.counts, [...h.counts].sort((x, y) => x - y), 'cumulative');
});
