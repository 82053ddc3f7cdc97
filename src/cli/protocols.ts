// The client listener's protocol options from the config ([tls], [http2]): the composition root's
// translation, so that proxy/ never reads config.
import type { Config } from '../config/schema.ts';
import type { ListenerOptions } from '../proxy/listener.ts';

export function listenerOptionsFrom(config: Config): ListenerOptions {
  const t = config.tls;
  const h = config.http2;
  return {
    tls:
      t.enabled && t.certFile !== undefined && t.keyFile !== undefined
        ? {
            minVersion: t.minVersion,
            ciphers: t.ciphers,
            hsts: t.hstsMaxAgeSeconds === undefined ? undefined : `max-age=${t.hstsMaxAgeSeconds}${t.hstsIncludeSubdomains ? '; includeSubDomains' : ''}`,
            defaultCertificate: { certFile: t.certFile, keyFile: t.keyFile, serverNames: [] },
            certificates: t.certificates.map((c) => ({ certFile: c.certFile, keyFile: c.keyFile, serverNames: c.serverNames })),
            reloadIntervalMs: t.reloadInterval,
            // the handshake is part of what a client must send in time, as its headers are
            handshakeTimeoutMs: config.proxy.clientHeaderTimeout,
          }
        : undefined,
    isHttp2Enabled: h.enabled,
    isH2cEnabled: h.allowH2c,
    prefaceTimeoutMs: config.proxy.clientHeaderTimeout,
    http2: {
      maxConcurrentStreams: h.maxConcurrentStreams,
      initialWindowSize: h.initialWindowSize,
      maxHeaderListBytes: h.maxHeaderListBytes,
      maxResetsPerInterval: h.maxResetsPerInterval,
      resetIntervalMs: h.resetInterval,
      idleTimeoutMs: h.idleTimeout,
    },
  };
}
