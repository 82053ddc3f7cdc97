// Logger factory: pino JSON to stdout. The access log goes through the same sink.
import pino from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(level: LogLevel, destination: pino.DestinationStream = pino.destination({ sync: false })): Logger {
  return pino({ level, base: { service: 'sibyl' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
