// Two sockets joined into one byte stream, both ways. A FIN is passed on (half-close), so
// protocols that end their request with a shutdown work; when either side is gone for good the
// other is ended after its pending bytes are flushed; an idle stream is cut.
import type { Socket } from 'node:net';

export interface SpliceResult {
  /** Bytes read from the client (sent to the backend). */
  readonly bytesIn: number;
  /** Bytes written to the client (received from the backend). */
  readonly bytesOut: number;
  readonly isIdleTimeout: boolean;
}

export function splice(client: Socket, upstream: Socket, idleTimeoutMs: number): Promise<SpliceResult> {
  return new Promise((resolve) => {
    let closed = 0;
    let isIdleTimeout = false;
    const onIdle = (): void => {
      isIdleTimeout = true;
      client.destroy();
      upstream.destroy();
    };
    const onClose = (other: Socket) => (): void => {
      // an error or a full close on one side: let the other flush what it has, then close it
      if (!other.destroyed) other.end(() => other.destroy());
      if (++closed === 2) resolve({ bytesIn: client.bytesRead, bytesOut: client.bytesWritten, isIdleTimeout });
    };
    for (const [socket, other] of [[client, upstream], [upstream, client]] as const) {
      socket.setTimeout(idleTimeoutMs, onIdle);
      // errors end the pair through 'close'; without a listener they would crash the process
      socket.on('error', () => other.destroy());
      socket.once('close', onClose(other));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
}
