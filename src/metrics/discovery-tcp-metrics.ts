// Metric families of service discovery and the TCP (L4) mode, spread into the catalogue.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const CONNECTION_DURATION_BUCKETS_SECONDS = [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];

export function createDiscoveryMetrics(r: Registry[]) {
  return {
    discoveryRefreshes: new Counter({ name: 'sibyl_discovery_refreshes_total', help: 'Discovery refreshes by result: changed (a new backend set applied), unchanged, failed (read or resolution error) or empty (no backend found); failed and empty keep the last good set.', labelNames: ['result'] as const, registers: r }),
    discoveryBackends: new Gauge({ name: 'sibyl_discovery_backends', help: 'Backends in the last good set found by discovery.', registers: r }),
    discoveryConsecutiveFailures: new Gauge({ name: 'sibyl_discovery_consecutive_failures', help: 'Failed or empty refreshes since the last good one (0 = the set in service is fresh).', registers: r }),
    discoveryLastSuccess: new Gauge({ name: 'sibyl_discovery_last_success_timestamp_seconds', help: 'Unix time of the last successful discovery refresh.', registers: r }),
  };
}

export function createTcpMetrics(r: Registry[]) {
  return {
    tcpConnections: new Counter({ name: 'sibyl_tcp_connections_total', help: 'TCP mode: client connections proxied to each backend (the backend connection was opened).', labelNames: ['backend'] as const, registers: r }),
    tcpUnserved: new Counter({ name: 'sibyl_tcp_unserved_connections_total', help: 'TCP mode: client connections closed without a backend, by reason (no_backend: none eligible; connect_failed: every backend tried failed to connect).', labelNames: ['reason'] as const, registers: r }),
    tcpConnectFailures: new Counter({ name: 'sibyl_tcp_connect_failures_total', help: 'TCP mode: failed connects to a backend, by error kind (refused, connect_timeout, reset); each one feeds outlier detection.', labelNames: ['backend', 'error_kind'] as const, registers: r }),
    tcpBytes: new Counter({ name: 'sibyl_tcp_transferred_bytes_total', help: 'TCP mode: bytes proxied, by backend and direction (in: client to backend; out: backend to client).', labelNames: ['backend', 'direction'] as const, registers: r }),
    tcpDuration: new Histogram({ name: 'sibyl_tcp_connection_duration_seconds', help: 'TCP mode: lifetime of proxied connections, from accept to close, by backend.', labelNames: ['backend'] as const, buckets: CONNECTION_DURATION_BUCKETS_SECONDS, registers: r }),
  };
}
