// What the TCP (L4) data path reads, computed once per generation ([proxy] kind = "tcp").
import type { Config } from '../config/schema.ts';

export interface TcpSettings {
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly connectAttempts: number;
}

export function tcpSettingsFrom(config: Config): TcpSettings {
  return Object.freeze({
    connectTimeoutMs: config.proxy.connectTimeout,
    idleTimeoutMs: config.tcp.idleTimeout,
    connectAttempts: config.tcp.connectAttempts,
  });
}
