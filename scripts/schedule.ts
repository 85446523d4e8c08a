import { parseArgs } from 'node:util';
import type { Context } from '../src/context.ts';
import { dateArgument, EXIT_FAILED, EXIT_OK, isEntryPoint, runCli } from '../src/cli.ts';
import type { PlanRow } from '../src/jobs/local-morning.ts';
import type { Cadence } from '../src/model/cadence.ts';

const USAGE = `Usage: npm run schedule -- [--on YYYY-MM-DD] [--weekly]

Prints the plan of a day as TSV: a header, then one row per (time zone, local time) with readers,
sorted by utc_time: the sends whose local date is that day in each zone. Readers with no zone are
counted under DIGEST_TZ at DIGEST_CRON's time. With DELIVERY_MODE=batch, one row per DIGEST_CRON
time. Nothing to send that day: the header alone.

  --on YYYY-MM-DD   the local date (default: today in DIGEST_TZ)
  --weekly          the weekly edition: the zones where that date is WEEKLY_DAY
  -h, --help        show this help

Columns: timezone, local_time (YYYY-MM-DDTHH:MM), utc_time (YYYY-MM-DDTHH:MMZ), digest_date
(the day, or with --weekly the Sunday ending the week), readers.

Exit status: 0 printed, 1 failed, 2 usage error.`;

const HEADER = ['timezone', 'local_time', 'utc_time', 'digest_date', 'readers'];

async function main(argv: string[]): Promise<number> {
  const args = parseArgs({
    args: argv,
    options: { on: { type: 'string' }, weekly: { type: 'boolean' } },
    strict: true,
    allowPositionals: false,
  }).values;
  dateArgument(args.on);
  const cadence: Cadence = args.weekly ? 'weekly' : 'daily';
  // Imported once the arguments are checked: --help and a usage error load no package.
  const [{ loadConfig }, { createContext }, { createLogger }, { todayIn }, morning, { morningOf }] = await Promise.all([
    import('../src/config.ts'),
    import('../src/context.ts'),
    import('../src/logger.ts'),
    import('../src/domain/dates.ts'),
    import('../src/jobs/local-morning.ts'),
    import('../src/jobs/scheduler.ts'),
  ]);
  let ctx: Context | undefined;
  try {
    const config = loadConfig();
    ctx = createContext(
      config,
      createLogger(config.LOG_LEVEL, 'stderr', { development: config.NODE_ENV !== 'production' }),
    );
    const day = args.on ?? todayIn(config.DIGEST_TZ, ctx.clock.now());
    // The plan of that day for the cadence's readers as they are now.
    const readers = morningOf(config, cadence);
    const groups = morning.effectiveGroups(ctx.ledger.audienceGroups(cadence), readers.defaultHour);
    const rows = morning.planOfDay(readers, groups, day, config.DELIVERY_MODE === 'batch');
    console.log([HEADER, ...rows.map(columns)].map((r) => r.join('\t')).join('\n'));
    return EXIT_OK;
  } catch (err) {
    ctx?.logger.error({ err, on: args.on, cadence }, 'schedule failed');
    console.error(`schedule failed: ${(err as Error).message}`);
    return EXIT_FAILED;
  } finally {
    ctx?.close();
  }
}

const minutes = (iso: string) => iso.slice(0, 16);

function columns(r: PlanRow): string[] {
  return [
    r.timeZone,
    minutes(new Date(r.localTime).toISOString()),
    `${minutes(r.at.toISOString())}Z`,
    r.date,
    String(r.readers),
  ];
}

/** The whole CLI, --help and usage errors included: the tests run it in their own process. */
export const cli = (argv: string[]) => runCli('schedule', USAGE, argv, main);

if (isEntryPoint(import.meta.url)) process.exitCode = await cli(process.argv.slice(2));
