// A real authoritative DNS server on loopback UDP for discovery tests (dns-packet + node:dgram).
// The zone is a mutable map: tests add and remove records while Sibyl resolves against it.
import { createSocket, type Socket } from 'node:dgram';
import * as packet from 'dns-packet';

export interface SrvRecord {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

export interface Zone {
  a: Map<string, string[]>;
  aaaa: Map<string, string[]>;
  srv: Map<string, SrvRecord[]>;
}

export interface TestDnsServer {
  readonly address: string;
  readonly zone: Zone;
  /** TTL of every answer, in seconds. */
  ttlSeconds: number;
  /** When true every query is answered SERVFAIL (a broken resolver). */
  isFailing: boolean;
  /** Queries answered so far, by "name type". */
  readonly queries: string[];
  close(): Promise<void>;
}

const NXDOMAIN = 3;
const SERVFAIL = 2;

function answersFor(zone: Zone, q: packet.Question, ttl: number): packet.Answer[] | undefined {
  const name = q.name.toLowerCase();
  const known = zone.a.has(name) || zone.aaaa.has(name) || zone.srv.has(name);
  if (!known) return undefined;
  if (q.type === 'A') return (zone.a.get(name) ?? []).map((data) => ({ type: 'A', name: q.name, ttl, data }));
  if (q.type === 'AAAA') return (zone.aaaa.get(name) ?? []).map((data) => ({ type: 'AAAA', name: q.name, ttl, data }));
  if (q.type === 'SRV') return (zone.srv.get(name) ?? []).map((data) => ({ type: 'SRV', name: q.name, ttl, data }));
  return [];
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const socket: Socket = createSocket('udp4');
  const server: TestDnsServer = {
    address: '',
    zone: { a: new Map(), aaaa: new Map(), srv: new Map() },
    ttlSeconds: 1,
    isFailing: false,
    queries: [],
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
  socket.on('message', (message, remote) => {
    let query: packet.DecodedPacket;
    try {
      query = packet.decode(message);
    } catch {
      return;
    }
    const q = query.questions?.[0];
    if (q === undefined) return;
    server.queries.push(`${q.name} ${q.type}`);
    const answers = server.isFailing ? undefined : answersFor(server.zone, q, server.ttlSeconds);
    const rcode = server.isFailing ? SERVFAIL : answers === undefined ? NXDOMAIN : 0;
    const response = packet.encode({
      type: 'response',
      id: query.id,
      flags: packet.AUTHORITATIVE_ANSWER | packet.RECURSION_DESIRED | rcode,
      questions: [q],
      answers: answers ?? [],
    });
    socket.send(response, remote.port, remote.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  Object.assign(server, { address: `127.0.0.1:${socket.address().port}` });
  return server;
}
