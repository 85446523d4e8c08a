import { isCalendarDate } from './domain/dates.ts';

/** What the operator CLIs (scripts/*.ts) share: exit codes, usage errors, --help. */

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** The command line is wrong: the CLI prints the message and its usage, and exits 2. */
export class UsageError extends Error {}

/**
 * Runs a CLI's main: `-h`/`--help` prints the usage (exit 0); a UsageError, or node's own
 * parseArgs error for an unknown or malformed option, prints the problem and the usage (exit 2).
 */
export async function runCli(name: string, usage: string, argv: string[], main: (argv: string[]) => Promise<number> | number): Promise<number> {
  endQuietlyWhenTheReaderLeaves();
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(usage);
    return EXIT_OK;
  }
  try {
    return await main(argv);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (!(err instanceof UsageError) && !code.startsWith('ERR_PARSE_ARGS_')) throw err;
    console.error(`${name}: ${(err as Error).message}\n\n${usage}`);
    return EXIT_USAGE;
  }
}

/**
 * A reader that closed the pipe (`subscribers export | head -1`) has what it wanted: end with the
 * status so far (0 while the work went well), not with an EPIPE stack.
 */
function endQuietlyWhenTheReaderLeaves(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(process.exitCode ?? EXIT_OK);
    });
  }
}

/** A `--date` value, checked: a real calendar day as YYYY-MM-DD. */
export function dateArgument(value: string | undefined): string | undefined {
  if (value !== undefined && !isCalendarDate(value)) throw new UsageError(`--date must be a real day as YYYY-MM-DD, got ${JSON.stringify(value)}`);
  return value;
}
