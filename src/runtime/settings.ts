// What the data path reads, computed once per generation so that proxy/ never reads config.
import type { Config } from '../config/schema.ts';

export interface ProxySettings {
  readonly maxConnections: number;
  readonly maxHeaderBytes: number;
  readonly maxUrlBytes: number;
  readonly maxBodyBytes: number;
  readonly clientHeaderTimeoutMs: number;
  readonly clientRequestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly requestIdHeader: string;
  readonly addViaHeader: boolean;
  /** Undefined: hash by client IP; else the lower-case header whose value is the hash key. */
  readonly hashHeader: string | undefined;
  readonly needsHashKey: boolean;
  readonly accessLog: boolean;
  readonly accessLogSampleRate: number;
}

export function proxySettingsFrom(config: Config): ProxySettings {
  const hashKey = config.strategy.hashKey;
  return Object.freeze({
    maxConnections: config.proxy.maxConnections,
    maxHeaderBytes: config.proxy.maxHeaderBytes,
    maxUrlBytes: config.proxy.maxUrlBytes,
    maxBodyBytes: config.proxy.maxBodyBytes,
    clientHeaderTimeoutMs: config.proxy.clientHeaderTimeout,
    clientRequestTimeoutMs: config.proxy.clientRequestTimeout,
    keepAliveTimeoutMs: config.proxy.keepAliveTimeout,
    requestIdHeader: config.proxy.requestIdHeader.toLowerCase(),
    addViaHeader: config.proxy.addViaHeader,
    hashHeader: hashKey.startsWith('header:') ? hashKey.slice('header:'.length).toLowerCase() : undefined,
    needsHashKey: config.strategy.algorithm === 'ip_hash',
    accessLog: config.log.accessLog,
    accessLogSampleRate: config.log.accessLogSampleRate,
  });
}
