// Open client connections per client IP, so that one client cannot take all of max_connections
// (NGINX limit_conn, HAProxy src_conn_cur). Only IPs with an open connection are remembered, so
// memory is bounded by max_connections.

export class ConnectionsPerIp {
  readonly #open = new Map<string, number>();

  /** Counts a new connection from `ip`; false (and not counted) when it would exceed `max`. */
  tryOpen(ip: string, max: number): boolean {
    const count = this.#open.get(ip) ?? 0;
    if (count >= max) return false;
    this.#open.set(ip, count + 1);
    return true;
  }

  close(ip: string): void {
    const count = this.#open.get(ip) ?? 0;
    if (count <= 1) this.#open.delete(ip);
    else this.#open.set(ip, count - 1);
  }

  /** Distinct client IPs with an open connection. */
  get ipCount(): number {
    return this.#open.size;
  }
}
