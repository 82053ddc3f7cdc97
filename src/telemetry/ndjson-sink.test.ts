import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NdjsonSink } from './ndjson-sink.ts';

test('writes one JSON object per line and rotates by size, keeping max_files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-ndjson-'));
  const path = join(dir, 'events.ndjson');
  const sink = new NdjsonSink({ path, maxFileBytes: 1000, maxFiles: 3, queueCapacity: 10_000 }, { onDrop: () => assert.fail('drop'), onError: (e) => assert.fail(String(e)) });
  for (let i = 0; i < 100; i++) {
    sink.write({ requestId: `r${i}`, prediction: 0.5, pad: 'x'.repeat(60) });
    if (i % 10 === 9) await sink.flush();
  }
  sink.write({ requestId: 'last', prediction: 0.1 });
  await sink.close();
  const files = (await readdir(dir)).sort();
  assert.deepEqual(files, ['events.ndjson', 'events.ndjson.1', 'events.ndjson.2']);
  const newest = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { requestId: string });
  assert.equal(newest.at(-1)?.requestId, 'last');
  const previous = (await readFile(`${path}.1`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { requestId: string });
  assert.equal(previous.at(-1)?.requestId, 'r99');
});

test('a full queue drops and counts instead of growing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-ndjson-'));
  let drops = 0;
  const sink = new NdjsonSink({ path: join(dir, 'e.ndjson'), maxFileBytes: 1e9, maxFiles: 2, queueCapacity: 5 }, { onDrop: () => drops++, onError: () => {} });
  for (let i = 0; i < 8; i++) sink.write({ i });
  assert.equal(drops, 3);
  await sink.close();
  assert.equal(sink.linesWritten, 5);
});
