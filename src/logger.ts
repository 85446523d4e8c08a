import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** Not production (NODE_ENV): pretty lines when the output is a terminal and pino-pretty is installed. */
  development?: boolean;
  /** Where the lines go instead of stdout/stderr (tests capture them). */
  destination?: DestinationStream;
}

/**
 * JSON lines (pino), or pretty ones on a developer's terminal. The service logs to stdout; the
 * operator CLIs log to stderr, so that what they print for people (summaries, exports) stays alone
 * on stdout. Outside debug and trace, every email address in a line is masked (`a***@example.org`):
 * messages, fields and error texts alike, so SMTP replies that quote a recipient are covered too.
 */
export function createLogger(level: string, to: 'stdout' | 'stderr' = 'stdout', options: LoggerOptions = {}): Logger {
  const fd = to === 'stdout' ? 1 : 2;
  let out = options.destination ?? ((options.development && isatty(fd) && prettyStream(fd)) || pino.destination(fd));
  if (!revealsAddresses(level)) out = maskingStream(out);
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, out);
}

/** Debug and trace are for looking at one case closely: addresses stay readable there. */
export const revealsAddresses = (level: string) => level === 'debug' || level === 'trace';

// The local part keeps its first character; the domain stays whole (which provider is failing
// matters to an operator, who the person is does not). JSON escaping leaves these characters alone.
const ADDRESS = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;

export function maskAddresses(text: string): string {
  return text.replace(ADDRESS, '$1***@$2');
}

function maskingStream(out: DestinationStream): DestinationStream {
  return { write: (line: string) => out.write(maskAddresses(line)) };
}

/**
 * pino-pretty is a development dependency: the image has none, so a missing package means JSON.
 * Loaded synchronously (loggers are made before anything is awaited) and written synchronously, so
 * a CLI's last lines are out before it exits.
 */
function prettyStream(fd: number): DestinationStream | undefined {
  try {
    const build = createRequire(import.meta.url)('pino-pretty') as (o: object) => DestinationStream;
    return build({ destination: fd, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l' });
  } catch {
    return undefined;
  }
}
