// White-box checks of the protocol helpers: SNI matching, the grpc-status mapping, gRPC detection,
// HPACK header-list accounting and the h2 -> HTTP/1.1 header translation.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { httpStatusOfGrpc, isGrpcRequest } from './forward-grpc.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { headerListBytes } from './http2-guard.ts';
import { matchesServerName } from './tls-certificates.ts';

test('SNI names match exactly or by a one-label wildcard, case-insensitively', () => {
  assert.equal(matchesServerName('api.example.com', 'API.example.com'), true);
  assert.equal(matchesServerName('*.example.com', 'a.example.com'), true);
  assert.equal(matchesServerName('*.example.com', 'a.b.example.com'), false);
  assert.equal(matchesServerName('*.example.com', 'example.com'), false);
  assert.equal(matchesServerName('api.example.com', 'www.example.com'), false);
});

test('grpc-status maps onto the HTTP status the outcome records', () => {
  assert.equal(httpStatusOfGrpc(0), 200);
  assert.equal(httpStatusOfGrpc(14), 503); // UNAVAILABLE: a gateway failure for outlier detection
  assert.equal(httpStatusOfGrpc(4), 504); // DEADLINE_EXCEEDED
  assert.equal(httpStatusOfGrpc(13), 500);
  assert.equal(httpStatusOfGrpc(5), 404); // NOT_FOUND is the caller's problem, not the backend's
  assert.equal(httpStatusOfGrpc(8), 429);
  assert.equal(httpStatusOfGrpc(99), 500);
});

test('only HTTP/2 requests with a gRPC content type take the gRPC path', () => {
  const req = (major: number, type: string | undefined) => ({ httpVersionMajor: major, headers: type === undefined ? {} : { 'content-type': type } }) as unknown as IncomingMessage;
  assert.equal(isGrpcRequest(req(2, 'application/grpc')), true);
  assert.equal(isGrpcRequest(req(2, 'application/grpc+proto')), true);
  assert.equal(isGrpcRequest(req(2, 'application/grpc-web')), false);
  assert.equal(isGrpcRequest(req(1, 'application/grpc')), false);
  assert.equal(isGrpcRequest(req(2, undefined)), false);
});

test('a header list is measured as HPACK does: name + value + 32 per field', () => {
  assert.equal(headerListBytes([':path', '/', 'x-a', 'bc']), 5 + 1 + 32 + 3 + 2 + 32);
});

test('h2 pseudo-headers never reach an HTTP/1.1 backend; :authority becomes Host', () => {
  const info = { clientIp: '10.0.0.1', proto: 'https', requestIdHeader: 'x-request-id', requestId: 'r1', via: undefined, isUpgrade: false };
  const out = upstreamRequestHeaders([':method', 'GET', ':path', '/x', ':scheme', 'https', ':authority', 'example.com', 'accept', '*/*'], undefined, info);
  assert.deepEqual(out.filter((_, i) => i % 2 === 0), ['accept', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id']);
  assert.equal(out[out.indexOf('host') + 1], 'example.com');
  const withHost = upstreamRequestHeaders([':authority', 'a.test', 'host', 'b.test'], undefined, info);
  assert.equal(withHost.filter((v) => v === 'host').length, 1, 'an explicit Host wins and is not doubled');
});
