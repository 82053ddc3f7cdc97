// Logger factory: pino JSON to stdout. The access log goes through the same sink.
import pino from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** stdout, buffered; the logger and the access log share it so their lines never interleave. */
export function createLogDestination() {
  return pino.destination({ sync: false });
}

export function createLogger(level: LogLevel, destination: pino.DestinationStream = createLogDestination()): Logger {
  return pino({ level, base: { service: 'sibyl' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
