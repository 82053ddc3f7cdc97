// WebSocket (HTTP/1.1 Upgrade) pass-through: pick a backend, replay the handshake on a raw TCP
// connection, then splice the two sockets. Sibyl does not parse frames.
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Errors } from '../core/errors.ts';
import type { Metrics } from '../metrics/catalogue.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { tlsConnectOptions } from '../runtime/upstream-tls.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { clientIpOf } from './pipeline.ts';
import { requestIdFrom } from './request-id.ts';
import { sendRawError } from './respond.ts';

export function createUpgradeHandler(deps: { runtime: Runtime; metrics: Metrics }) {
  return function handleUpgrade(req: IncomingMessage, clientSocket: Duplex, head: Buffer): void {
    const generation = deps.runtime.current;
    const s = generation.settings;
    const requestId = requestIdFrom(req.headers[s.requestIdHeader]);
    const socket = clientSocket as Socket;
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
      sendRawError(socket, Errors.badRequest, requestId, s.requestIdHeader);
      return;
    }
    const backend = generation.pick({ hashKey: clientIpOf(req) });
    if (backend === undefined) {
      deps.metrics.websocketUpgrades.inc({ result: 'error' });
      sendRawError(socket, Errors.noBackend, requestId, s.requestIdHeader);
      return;
    }
    const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, { clientIp: clientIpOf(req), proto: (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http', requestIdHeader: s.requestIdHeader, requestId, via: undefined, isUpgrade: true });
    let lines = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) lines += `${headers[i]}: ${headers[i + 1]}\r\n`;
    // [upstream_tls]: the handshake is replayed over TLS to the backend
    const tls = backend.tls;
    const upstream = tls === undefined ? connect({ host: backend.host, port: backend.port }) : connectTls({ host: backend.host, port: backend.port, ...tlsConnectOptions(tls, backend.host) });
    backend.inFlight++;
    let isOpen = false;
    upstream.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      isOpen = true;
      deps.metrics.websocketUpgrades.inc({ result: 'ok' });
      upstream.write(`${lines}\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    const close = (): void => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.once('error', () => {
      if (!isOpen) {
        deps.metrics.websocketUpgrades.inc({ result: 'error' });
        sendRawError(socket, Errors.upstreamConnect, requestId, s.requestIdHeader);
      } else close();
    });
    upstream.once('close', () => {
      backend.inFlight--;
      socket.destroy();
    });
    socket.once('error', close);
    socket.once('close', () => upstream.destroy());
  };
}
