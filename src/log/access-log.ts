// The access log: one JSON line per request, built from a template and written in batches.
// pino's generic serialisation per request cost ~30 % of proxy throughput (docs/benchmarks.md);
// this writer keeps the same line shape as the other logs (level, time, service, log) for a
// fraction of that. Lines wait in a bounded buffer; a full buffer drops lines and counts them.
/** Anything with write(string): a stream or pino's SonicBoom destination. */
export interface LineSink {
  write(text: string): unknown;
}

export interface AccessRecord {
  readonly requestId: string;
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly backend: string;
  readonly latencyMs: number;
  readonly errorKind: string;
  readonly clientIp: string;
  /** The retry model's P(the client retries this response); undefined without telemetry or model. */
  readonly retryProbability: number | undefined;
  /** The attempt number and repeat flag retry identity gave the request (telemetry/retry-labeller.ts). */
  readonly attempt: number | undefined;
  readonly isRepeat: boolean | undefined;
}

export interface AccessLog {
  write(r: AccessRecord): void;
  flush(): void;
  close(): void;
  /** A new buffer size ([runtime] access_log_buffer, on reload); lines already waiting stay. */
  setMaxBufferedLines(n: number): void;
}

const FLUSH_INTERVAL_MS = 50;

export function createAccessLog(out: LineSink, options: { maxBufferedLines: number; onDrop: () => void }): AccessLog {
  let maxBufferedLines = options.maxBufferedLines;
  let lines: string[] = [];
  let lastSecond = -1;
  let secondIso = '';
  const timeIso = (): string => {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== lastSecond) {
      lastSecond = second;
      secondIso = new Date(second * 1000).toISOString().slice(0, 19);
    }
    return `${secondIso}.${String(now % 1000).padStart(3, '0')}Z`;
  };
  const flush = (): void => {
    if (lines.length === 0) return;
    const text = lines.join('');
    lines = [];
    out.write(text);
  };
  const timer = setInterval(flush, FLUSH_INTERVAL_MS);
  timer.unref();
  return {
    write(r) {
      if (lines.length >= maxBufferedLines) {
        options.onDrop();
        return;
      }
      // retry identity: null when telemetry (or the model) is off, so the line shape never changes
      const p = r.retryProbability === undefined ? 'null' : String(Math.round(r.retryProbability * 1e6) / 1e6);
      const retryFields = `"retryProbability":${p},"attempt":${r.attempt ?? 'null'},"repeat":${r.isRepeat ?? 'null'}`;
      lines.push(
        `{"level":30,"time":"${timeIso()}","service":"sibyl","log":"access","requestId":${JSON.stringify(r.requestId)},"method":${JSON.stringify(r.method)},"url":${JSON.stringify(r.url)},"status":${r.status},"backend":${JSON.stringify(r.backend)},"latencyMs":${Math.round(r.latencyMs * 1000) / 1000},"errorKind":"${r.errorKind}","clientIp":"${r.clientIp}",${retryFields},"msg":"access"}\n`,
      );
    },
    flush,
    setMaxBufferedLines(n) {
      maxBufferedLines = n;
    },
    close() {
      clearInterval(timer);
      flush();
    },
  };
}
