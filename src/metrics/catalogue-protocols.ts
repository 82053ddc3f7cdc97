// Metric families of the protocols on the wire (TLS, HTTP/2, gRPC), spread into the catalogue.
import { Counter, Gauge, type Registry } from 'prom-client';

export function createProtocolMetrics(r: Registry[]) {
  return {
    protocolRequests: new Counter({ name: 'sibyl_proxy_protocol_requests_total', help: 'Client requests by protocol (http1, https1, h2, h2c): HTTP/2 and TLS requests go through the same pipeline and count in every other proxy metric too.', labelNames: ['protocol'] as const, registers: r }),
    tlsHandshakes: new Counter({ name: 'sibyl_tls_handshakes_total', help: 'Completed TLS handshakes on the proxy listener, by negotiated ALPN protocol (h2, http/1.1, none) and TLS version.', labelNames: ['alpn', 'version'] as const, registers: r }),
    tlsHandshakeErrors: new Counter({ name: 'sibyl_tls_handshake_errors_total', help: 'Failed TLS handshakes on the proxy listener, by reason (protocol_version, no_shared_cipher, timeout: not finished within [proxy] client_header_timeout, reset, other).', labelNames: ['reason'] as const, registers: r }),
    tlsReloads: new Counter({ name: 'sibyl_tls_certificate_reloads_total', help: 'Certificate reloads after their files changed, by result (ok, failed: the old certificate stays in use).', labelNames: ['result'] as const, registers: r }),
    tlsExpiry: new Gauge({ name: 'sibyl_tls_certificate_expiry_timestamp_seconds', help: 'Expiry (notAfter, Unix seconds) of each certificate in use, by certificate (default, or its first server name); alert on `- time()`.', labelNames: ['certificate'] as const, registers: r }),
    http2Sessions: new Gauge({ name: 'sibyl_proxy_http2_open_sessions', help: 'Open HTTP/2 client connections (sessions).', registers: r }),
    http2Abuse: new Counter({ name: 'sibyl_proxy_http2_abuse_total', help: 'HTTP/2 abuse bounded by the listener, by kind (rapid_reset: connection closed with GOAWAY; too_many_streams: a stream beyond max_concurrent_streams that got past nghttp2, refused; refused: streams nghttp2 refused before Sibyl saw them (beyond max_concurrent_streams, or a header list above twice max_header_list_bytes), counted from the gap in stream ids when the client opens its next stream; header_list_too_large: answered 431).', labelNames: ['kind'] as const, registers: r }),
    grpcResponses: new Counter({ name: 'sibyl_grpc_responses_total', help: 'gRPC calls proxied, by backend and grpc-status (from trailers; a transport failure counts as 14 UNAVAILABLE).', labelNames: ['backend', 'grpc_status'] as const, registers: r }),
  };
}
