import { parseArgs } from 'node:util';
import type { Context } from '../src/context.ts';
import { defaultDigestDate } from '../src/domain/dates.ts';
import { dateArgument, EXIT_FAILED, EXIT_OK, isEntryPoint, runCli, UsageError } from '../src/cli.ts';

const USAGE = `Usage: npm run ingest -- [--date YYYY-MM-DD] [--file path.json]

Stores the papers featured on Hugging Face Daily Papers on one day (PAPERS_API_URL).
Safe to repeat: papers already stored get their upvotes refreshed.

  --date YYYY-MM-DD  the day to fetch (default: the last complete day of the feed)
  --file path.json   import a saved API response instead of fetching; with --date every
                     paper is filed under that day, otherwise under the day it was added
  -h, --help         show this help

Exit status: 0 stored, 1 failed, 2 usage error.`;

async function main(argv: string[]): Promise<number> {
  const args = parseArgs({
    args: argv,
    options: { date: { type: 'string' }, file: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  }).values;
  dateArgument(args.date);
  if (args.file === '') throw new UsageError('--file needs a path');
  // Imported once the arguments are checked: --help and a usage error load no package.
  const [{ loadConfig }, { createContext }, { createLogger }, { importDailyPapersFile, ingestDay }] = await Promise.all(
    [
      import('../src/config.ts'),
      import('../src/context.ts'),
      import('../src/logger.ts'),
      import('../src/domain/ingest.ts'),
    ],
  );

  let ctx: Context | undefined;
  let date = args.date;
  try {
    const config = loadConfig();
    ctx = createContext(
      config,
      createLogger(config.LOG_LEVEL, 'stderr', { development: config.NODE_ENV !== 'production' }),
    );
    if (args.file !== undefined) {
      const r = importDailyPapersFile(
        { source: ctx.paperSource, papers: ctx.papers, logger: ctx.logger },
        args.file,
        args.date,
      );
      console.log(
        `${r.file} (${r.dates.join(', ') || 'no papers'}): ${r.inserted} new, ${r.updated} updated, ${r.skipped} skipped`,
      );
    } else {
      date ??= defaultDigestDate(ctx.clock.now(), config.DIGEST_TZ);
      const r = await ingestDay({ source: ctx.paperSource, papers: ctx.papers, logger: ctx.logger }, date);
      console.log(`${r.date}: ${r.inserted} new, ${r.updated} updated, ${r.skipped} skipped`);
    }
    return EXIT_OK;
  } catch (err) {
    // The one place this failure is reported: a log line for cron, a plain line for a person.
    ctx?.logger.error({ err, date, file: args.file }, 'ingest failed');
    console.error(`ingest failed: ${(err as Error).message}`);
    return EXIT_FAILED;
  } finally {
    ctx?.close();
  }
}

/** The whole CLI, --help and usage errors included: the tests run it in their own process. */
export const cli = (argv: string[]) => runCli('ingest', USAGE, argv, main);

if (isEntryPoint(import.meta.url)) process.exitCode = await cli(process.argv.slice(2));
