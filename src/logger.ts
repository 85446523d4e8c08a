import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs for machines; the same logs, one line each, are what operators grep. */
export function createLogger(level: string): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}
