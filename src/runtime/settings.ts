// What the data path reads, computed once per generation so that proxy/ never reads config.
import type { Config } from '../config/schema.ts';
import type { ErrorKind } from '../core/outcome.ts';
import type { RetryPolicyOptions } from '../retry/retry-policy.ts';
import { tcpSettingsFrom, type TcpSettings } from './tcp-settings.ts';

export interface ProxySettings {
  readonly maxConnections: number;
  /** 0: no per-IP limit. */
  readonly maxConnectionsPerIp: number;
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
  /** Sibyl's own retries; undefined when [retry] enabled = false or max_retries = 0. */
  readonly retry: RetrySettings | undefined;
  /** Load shedding; undefined when [load_shedding] enabled = false. */
  readonly shedding: { readonly maxQueueWaitMs: number } | undefined;
  /**
   * Coalescing of identical in-flight requests; undefined when off (or without telemetry). Only
   * requests carrying the lower-case `idempotencyKeyHeader` coalesce beyond GET and HEAD.
   */
  readonly coalescing: { readonly maxWaiters: number; readonly maxBodyBytes: number; readonly idempotencyKeyHeader: string } | undefined;
  /** The TCP (L4) mode's settings (read only when [proxy] kind = "tcp"). */
  readonly tcp: TcpSettings;
}

export interface RetrySettings {
  readonly policy: RetryPolicyOptions;
  readonly idempotencyKeyHeader: string;
  readonly replayBufferBytes: number;
  readonly perTryTimeoutMs: number | undefined;
}

function retrySettingsFrom(config: Config): RetrySettings | undefined {
  const r = config.retry;
  if (!r.enabled || r.maxRetries === 0) return undefined;
  return Object.freeze({
    policy: {
      maxRetries: r.maxRetries,
      retryOnStatuses: new Set(r.retryOnStatuses),
      retryOnErrorKinds: new Set<ErrorKind>(r.retryOnErrors),
      backoff: { baseMs: r.backoffBase, maxMs: r.backoffMax },
    },
    idempotencyKeyHeader: r.idempotencyKeyHeader.toLowerCase(),
    replayBufferBytes: r.replayBufferBytes,
    perTryTimeoutMs: r.perTryTimeout,
  });
}

export function proxySettingsFrom(config: Config): ProxySettings {
  const hashKey = config.strategy.hashKey;
  return Object.freeze({
    maxConnections: config.proxy.maxConnections,
    maxConnectionsPerIp: config.proxy.maxConnectionsPerIp,
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
    retry: retrySettingsFrom(config),
    shedding: config.loadShedding.enabled ? { maxQueueWaitMs: config.loadShedding.maxQueueWait } : undefined,
    coalescing: config.coalescing.enabled && config.telemetry.enabled ? { maxWaiters: config.coalescing.maxWaiters, maxBodyBytes: config.coalescing.maxBodyBytes, idempotencyKeyHeader: config.retry.idempotencyKeyHeader.toLowerCase() } : undefined,
    tcp: tcpSettingsFrom(config),
  });
}
