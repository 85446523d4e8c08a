import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines (pino). The service logs to stdout; the operator CLIs log to stderr, so that what
 * they print for people (summaries, exports) stays alone on stdout.
 */
export function createLogger(level: string, to: 'stdout' | 'stderr' = 'stdout'): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(to === 'stdout' ? 1 : 2));
}
