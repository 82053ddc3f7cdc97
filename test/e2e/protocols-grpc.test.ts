// gRPC pass-through with the real `sibyl` binary and @grpc/grpc-js on both sides: unary,
// server-streaming and bidirectional calls pass with their trailers, over h2c and over TLS, and a backend whose calls
// fail with UNAVAILABLE is ejected by the outlier detector although every HTTP status was 200.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createTestCa, issueCertificate, OPENSSL } from '../helpers/certificates.ts';
import { metricValue, testConfig } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';
import { skipUnlessTool } from '../helpers/requires-tool.ts';

interface EchoRequest {
  text: string;
  count?: number;
}
interface EchoReply {
  text: string;
  servedBy: string;
  index?: number;
}

const json = {
  serialize: (value: unknown): Buffer => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer): unknown => JSON.parse(bytes.toString()),
};

// a service without .proto files: JSON messages through grpc-js's generic definitions
const echoService = {
  unary: { path: '/sibyl.test.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  serverStream: { path: '/sibyl.test.Echo/ServerStream', requestStream: false, responseStream: true, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  chat: { path: '/sibyl.test.Echo/Chat', requestStream: true, responseStream: true, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
} as const satisfies grpc.ServiceDefinition;

const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');

interface GrpcBackend {
  readonly name: string;
  readonly address: string;
  calls: number;
  isFailing: boolean;
}

async function startGrpcBackend(t: TestContext, name: string, isFailing = false, credentials = grpc.ServerCredentials.createInsecure()): Promise<GrpcBackend> {
  const server = new grpc.Server();
  const backend: GrpcBackend = { name, address: '', calls: 0, isFailing };
  const trailer = (): grpc.Metadata => {
    const m = new grpc.Metadata();
    m.set('x-served-by', name);
    return m;
  };
  server.addService(echoService, {
    unary(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
      backend.calls++;
      if (backend.isFailing) return callback({ code: grpc.status.UNAVAILABLE, details: `${name} is down` });
      const answer = (): void => callback(null, { text: call.request.text, servedBy: name }, trailer());
      if (call.request.text === 'slow') setTimeout(answer, 1500);
      else answer();
    },
    serverStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
      backend.calls++;
      for (let i = 0; i < (call.request.count ?? 1); i++) call.write({ text: call.request.text, servedBy: name, index: i });
      call.end(trailer());
    },
    chat(call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) {
      backend.calls++;
      let index = 0;
      call.on('data', (r: EchoRequest) => call.write({ text: r.text, servedBy: name, index: index++ }));
      call.on('end', () => call.end(trailer()));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));
  t.after(() => new Promise<void>((r) => server.tryShutdown(() => r())));
  return Object.assign(backend, { address: `127.0.0.1:${port}` });
}

function grpcToml(backends: readonly GrpcBackend[], extra = ''): string {
  const list = backends.map((b) => `[[backends]]\nname = "${b.name}"\naddress = "${b.address}"\n`).join('\n');
  return testConfig(`[health]\nenabled = false\n[http2]\nallow_h2c = true\n${extra}\n${list}`);
}

function unary(client: grpc.Client, text: string): Promise<{ reply?: EchoReply; error?: grpc.ServiceError; trailers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | undefined;
    const call = (client as unknown as Record<string, (r: EchoRequest, cb: (e: grpc.ServiceError | null, v?: EchoReply) => void) => grpc.ClientUnaryCall>).unary!(
      { text },
      (error, reply) => setImmediate(() => resolve(error ? { error, trailers } : { reply, trailers })),
    );
    call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
  });
}

function serverStream(client: grpc.Client, text: string, count: number): Promise<{ replies: EchoReply[]; status: grpc.StatusObject }> {
  return new Promise((resolve, reject) => {
    const replies: EchoReply[] = [];
    const call = (client as unknown as Record<string, (r: EchoRequest) => grpc.ClientReadableStream<EchoReply>>).serverStream!({ text, count });
    call.on('data', (r: EchoReply) => replies.push(r));
    call.on('error', reject);
    call.on('status', (status: grpc.StatusObject) => setImmediate(() => resolve({ replies, status })));
  });
}

async function serve(t: TestContext, text: string): Promise<SibylProcess> {
  const sibyl = await startSibyl(text);
  t.after(() => sibyl.stop());
  return sibyl;
}

test('gRPC unary, server-streaming and bidirectional calls pass through Sibyl over h2c, trailers included', async (t) => {
  const a = await startGrpcBackend(t, 'a');
  const b = await startGrpcBackend(t, 'b');
  const sibyl = await serve(t, grpcToml([a, b]));
  const client = new EchoClient(new URL(sibyl.proxyUrl).host, grpc.credentials.createInsecure());
  t.after(() => client.close());

  for (let i = 0; i < 6; i++) {
    const { reply, error, trailers } = await unary(client, `hello ${i}`);
    assert.equal(error, undefined, error?.message);
    assert.equal(reply?.text, `hello ${i}`);
    assert.equal(trailers?.get('x-served-by')[0], reply?.servedBy, 'trailing metadata crosses the proxy');
  }
  assert.equal(a.calls, 3, 'round_robin spreads the calls');
  assert.equal(b.calls, 3);

  const { replies, status } = await serverStream(client, 'many', 50);
  assert.equal(replies.length, 50);
  assert.deepEqual(replies.map((r) => r.index), Array.from({ length: 50 }, (_, i) => i));
  assert.equal(status.code, grpc.status.OK);
  assert.equal(status.metadata.get('x-served-by')[0], replies[0]?.servedBy);

  const ok = ((await metricValue(sibyl.adminUrl, 'sibyl_grpc_responses_total', { backend: 'a', grpc_status: '0' })) ?? 0) + ((await metricValue(sibyl.adminUrl, 'sibyl_grpc_responses_total', { backend: 'b', grpc_status: '0' })) ?? 0);
  assert.equal(ok, 7);

  // bidirectional streaming: each message answered while the request stream is still open
  const chat = (client as unknown as Record<string, () => grpc.ClientDuplexStream<EchoRequest, EchoReply>>).chat!();
  const echoes: string[] = [];
  const chatDone = new Promise<grpc.StatusObject>((resolve) => chat.on('status', resolve));
  for (const text of ['one', 'two', 'three']) {
    const echoed = new Promise<void>((resolve) => chat.once('data', (r: EchoReply) => (echoes.push(r.text), resolve())));
    chat.write({ text });
    await echoed;
  }
  chat.end();
  assert.equal((await chatDone).code, grpc.status.OK);
  assert.deepEqual(echoes, ['one', 'two', 'three']);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_protocol_requests_total', { protocol: 'h2c' }), 8);
});

test('gRPC over TLS to Sibyl (ALPN h2) reaches an h2c backend', { skip: skipUnlessTool('openssl', OPENSSL) }, async (t) => {
  const ca = await createTestCa();
  const cert = await issueCertificate(ca, 'server', ['localhost']);
  const a = await startGrpcBackend(t, 'a');
  const sibyl = await serve(t, grpcToml([a], `[tls]\nenabled = true\ncert_file = "${cert.certFile}"\nkey_file = "${cert.keyFile}"`));
  const client = new EchoClient(`localhost:${new URL(sibyl.proxyUrl).port}`, grpc.credentials.createSsl(Buffer.from(ca.certPem)));
  t.after(() => client.close());
  const { reply, error } = await unary(client, 'secure');
  assert.equal(error, undefined, error?.message);
  assert.deepEqual(reply, { text: 'secure', servedBy: 'a' });
  const { replies } = await serverStream(client, 'secure', 5);
  assert.equal(replies.length, 5);
});

test('a gRPC backend failing with UNAVAILABLE is ejected though its HTTP status is 200', async (t) => {
  const good = await startGrpcBackend(t, 'good');
  const other = await startGrpcBackend(t, 'other');
  const bad = await startGrpcBackend(t, 'bad', true);
  const sibyl = await serve(t, grpcToml([good, other, bad], '[outlier_detection]\nconsecutive_5xx = 3\nconsecutive_gateway_failure = 3\nbase_ejection_time = "60s"\ntighten_by_predicted_retries = false'));
  const client = new EchoClient(new URL(sibyl.proxyUrl).host, grpc.credentials.createInsecure());
  t.after(() => client.close());

  let failures = 0;
  for (let i = 0; i < 12; i++) {
    const { error } = await unary(client, `call ${i}`);
    if (error !== undefined) {
      assert.equal(error.code, grpc.status.UNAVAILABLE, `the client sees the backend's own status: ${error.details}`);
      failures++;
    }
  }
  assert.equal(failures, 3, 'three failed calls eject the backend');
  await eventually(async () => (await metricValue(sibyl.adminUrl, 'sibyl_backend_ejected', { backend: 'bad' })) === 1, 5000);
  const callsAtEjection = bad.calls;
  for (let i = 0; i < 10; i++) assert.equal((await unary(client, `after ${i}`)).error, undefined);
  assert.equal(bad.calls, callsAtEjection, 'no call reaches the ejected backend');
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_grpc_responses_total', { backend: 'bad', grpc_status: '14' }), 3);
  // the outcome carries the mapped status: UNAVAILABLE counts as a 503 in the request metrics
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_requests_total', { backend: 'bad', status_class: '5xx' }), 3);
});

test('gRPC to a TLS backend under [upstream_tls] (ALPN h2, verified against the CA file)', { skip: skipUnlessTool('openssl', OPENSSL) }, async (t) => {
  const ca = await createTestCa();
  const backendCert = await issueCertificate(ca, 'grpc-backend', ['grpc.backend.test']);
  const { readFile } = await import('node:fs/promises');
  const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(backendCert.certPem), private_key: await readFile(backendCert.keyFile) }]);
  const a = await startGrpcBackend(t, 'a', false, credentials);
  const sibyl = await serve(t, grpcToml([a], `[upstream_tls]\nenabled = true\nca_file = "${ca.certFile}"\nserver_name = "grpc.backend.test"`));
  const client = new EchoClient(new URL(sibyl.proxyUrl).host, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const { reply, error } = await unary(client, 'to tls');
  assert.equal(error, undefined, error?.message);
  assert.deepEqual(reply, { text: 'to tls', servedBy: 'a' });
  const { replies, status } = await serverStream(client, 'to tls', 3);
  assert.equal(replies.length, 3);
  assert.equal(status.code, grpc.status.OK);
});

test('a gRPC backend slower than [retry] per_try_timeout gives a timeout outcome, not a hang', async (t) => {
  const a = await startGrpcBackend(t, 'a');
  const sibyl = await serve(t, grpcToml([a], '[retry]\nper_try_timeout = "200ms"'));
  const client = new EchoClient(new URL(sibyl.proxyUrl).host, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const startedMs = Date.now();
  const { error } = await unary(client, 'slow');
  assert.ok(error !== undefined, 'the call fails');
  assert.ok(Date.now() - startedMs < 1400, `failed after ${Date.now() - startedMs} ms, before the backend answered`);
  await eventually(async () => (await metricValue(sibyl.adminUrl, 'sibyl_proxy_upstream_errors_total', { backend: 'a', error_kind: 'timeout' })) === 1, 5000);
  assert.equal((await unary(client, 'fast')).error, undefined, 'the next call passes');
});
