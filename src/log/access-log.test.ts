import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createAccessLog } from './access-log.ts';

function sink() {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { out, text: () => chunks.join('') };
}

const record = { requestId: 'r-1', method: 'GET', url: '/a?q="x"\n', status: 200, backend: 'b1', latencyMs: 1.23456, errorKind: 'none', clientIp: '127.0.0.1', retryProbability: 0.0123456789, attempt: 2, isRepeat: false };

test('access log lines are valid JSON with the request fields, escaped', () => {
  const s = sink();
  const log = createAccessLog(s.out, { maxBufferedLines: 10, onDrop: () => {} });
  log.write(record);
  log.close();
  const line = JSON.parse(s.text().trim()) as Record<string, unknown>;
  assert.equal(line.url, '/a?q="x"\n');
  assert.equal(line.status, 200);
  assert.equal(line.latencyMs, 1.235);
  assert.equal(line.log, 'access');
  assert.equal(line.retryProbability, 0.012346, 'the prediction, to 6 places, for auditing any request by its id');
  assert.equal(line.attempt, 2);
  assert.equal(line.repeat, false);
  assert.ok(!Number.isNaN(Date.parse(line.time as string)));
});

test('a full buffer drops lines and counts each drop', () => {
  const s = sink();
  let drops = 0;
  const log = createAccessLog(s.out, { maxBufferedLines: 2, onDrop: () => drops++ });
  for (let i = 0; i < 5; i++) log.write(record);
  log.close();
  assert.equal(drops, 3);
  assert.equal(s.text().trim().split('\n').length, 2);
});

test('without telemetry the retry fields are null, so the line shape never changes', () => {
  const s = sink();
  const log = createAccessLog(s.out, { maxBufferedLines: 10, onDrop: () => {} });
  log.write({ ...record, retryProbability: undefined, attempt: undefined, isRepeat: undefined });
  log.close();
  const line = JSON.parse(s.text().trim()) as Record<string, unknown>;
  assert.deepEqual([line.retryProbability, line.attempt, line.repeat], [null, null, null]);
});

test('a new buffer size (a reload of access_log_buffer) applies to the next lines', () => {
  const s = sink();
  let drops = 0;
  const log = createAccessLog(s.out, { maxBufferedLines: 2, onDrop: () => drops++ });
  log.setMaxBufferedLines(4);
  for (let i = 0; i < 5; i++) log.write(record);
  log.close();
  assert.equal(drops, 1);
  assert.equal(s.text().trim().split('\n').length, 4);
});
