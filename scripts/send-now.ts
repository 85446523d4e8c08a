import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dateArgument, EXIT_FAILED, EXIT_OK, isEntryPoint, onLauncherExit, runCli, UsageError } from '../src/cli.ts';
import { weekdayOf } from '../src/domain/dates.ts';
import type { Cadence } from '../src/model/cadence.ts';
import type { Context } from '../src/context.ts';
import type { SendDigestResult } from '../src/digest/run-types.ts';
import type { SendProgress } from '../src/digest/send-loop.ts';
import type { ChannelPostSummary } from '../src/channels/post-edition.ts';

// The app is imported once the arguments are checked: --help and a usage error answer without
// loading MJML, nodemailer and the database (bench/README.md: start-up).
const app = () =>
  Promise.all([
    import('../src/config.ts'),
    import('../src/logger.ts'),
    import('../src/domain/dates.ts'),
    import('../src/context.ts'),
    import('../src/digest/run.ts'),
    import('../src/digest/preview.ts'),
    import('../src/bounces/rates.ts'),
    import('../src/bounces/refusals.ts'),
    import('../src/mail/identity.ts'),
    import('../src/channels/post-edition.ts'),
    import('../src/jobs/local-morning.ts'),
    import('../src/jobs/scheduler.ts'),
  ]).then(
    ([config, logger, dates, context, run, preview, rates, refusals, identity, channels, morning, schedules]) => ({
      ...config,
      ...logger,
      ...dates,
      ...context,
      ...run,
      ...preview,
      ...rates,
      ...refusals,
      ...identity,
      ...channels,
      ...morning,
      ...schedules,
    }),
  );

const USAGE = `Usage: npm run send-now -- [--weekly] [--date YYYY-MM-DD] [--dry-run] [--to ADDRESS] [--limit N] [--preview FILE.html] [--no-channels]

Sends the daily digest of a date to every confirmed daily subscriber, now, as the scheduled job
does; with --weekly, the weekly edition to every weekly subscriber. With DELIVERY_MODE=local,
readers whose hour has not come yet get it now too (the summary says how many). Then posts it to
each enabled team channel of that cadence that does not have it yet (npm run channels).
Safe to repeat and to interrupt: a run that was cut off (crash, kill, SMTP outage) continues
where it stopped and sends only what was not sent; a finished run sends nothing again.

  --weekly            the weekly edition: the top papers of the week (Monday to Sunday) ending on --date
  --date YYYY-MM-DD   the digest's day (default: the last complete feed day, as the daily job); with
                      --weekly the Sunday that ends the week (default: the last complete week, as
                      the weekly job on WEEKLY_DAY)
  --dry-run           rank and render, report who would get which variant; send nothing
  --to ADDRESS        send one copy to ADDRESS only, outside the run (to check it)
  --limit N           send at most N messages now; the run stays open for the rest
  --preview FILE      write the rendered digest to FILE (HTML) and FILE's .txt twin; send nothing
  --no-channels       send the email only; post to no team channel
  (--dry-run, --to, --preview and --limit post to no channel either)
  -h, --help          show this help

Exit status: 0 done (or nothing left to do), 1 failed, paused or stopped early, 2 usage error.`;

/** How long an orphaned sender may take to record its messages in flight (SMTP's socket timeout). */
const ORPHAN_GRACE_MS = 30_000;

async function main(argv: string[]): Promise<number> {
  const options = await parseOptions(argv);
  const stop = stopOnSignals();
  // Before the app loads: its modules' loading would grow V8's young generation already.
  (await import('../src/heap.ts')).limitHeapGrowth();
  const loaded = await app();
  let ctx: Context | undefined;
  try {
    const config = loaded.loadConfig();
    const tty = process.stderr.isTTY === true;
    // On a terminal the progress bar tells the story; info logs would break it up.
    ctx = loaded.createContext(
      config,
      loaded.createLogger(
        tty && ['info', 'debug', 'trace'].includes(config.LOG_LEVEL) ? 'warn' : config.LOG_LEVEL,
        'stderr',
        { development: config.NODE_ENV !== 'production' },
      ),
    );
    return await sendNow(loaded, ctx, options, stop.signal, tty);
  } catch (err) {
    ctx?.logger.error({ err }, 'send-now failed');
    console.error(`send-now failed: ${(err as Error).message}`);
    return EXIT_FAILED;
  } finally {
    ctx?.close();
  }
}

type App = Awaited<ReturnType<typeof app>>;
type Options = Awaited<ReturnType<typeof parseOptions>>;

/** The arguments, checked: one mode at most, a Sunday for --weekly --date, a positive --limit. */
async function parseOptions(argv: string[]) {
  const args = parseArgs({
    args: argv,
    options: {
      date: { type: 'string' },
      weekly: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      to: { type: 'string' },
      limit: { type: 'string' },
      preview: { type: 'string' },
      'no-channels': { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
  dateArgument(args.date);
  const cadence: Cadence = args.weekly ? 'weekly' : 'daily';
  if (args.weekly && args.date !== undefined && weekdayOf(args.date) !== 0)
    throw new UsageError(`--weekly --date must be a Sunday (the last day of the week), got ${args.date}`);
  const limit = args.limit === undefined ? undefined : Number(args.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1))
    throw new UsageError(`--limit must be a positive whole number, got ${JSON.stringify(args.limit)}`);
  const { emailSchema } = await import('../src/domain/subscriber-input.ts');
  const to = args.to === undefined ? undefined : emailSchema.safeParse(args.to);
  if (to && !to.success) throw new UsageError(`--to must be an email address, got ${JSON.stringify(args.to)}`);
  if (args.preview === '') throw new UsageError('--preview needs a file name');
  const modes = [args['dry-run'], args.to !== undefined, args.preview !== undefined].filter(Boolean).length;
  if (modes > 1) throw new UsageError('--dry-run, --to and --preview are separate modes: give one');
  if (modes && limit !== undefined) throw new UsageError('--limit applies to a real send only');
  return { ...args, cadence, limit, to: to?.success ? to.data : undefined };
}

/**
 * First signal: stop taking work, let in-flight messages finish and be recorded. Second: give up.
 * When the launcher is gone, nobody is left to read the summary or to send a second signal: stop
 * as on the first one, and exit regardless once the messages in flight had their time.
 */
function stopOnSignals(): AbortController {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(EXIT_FAILED);
    console.error(`\nsend-now: ${signal}: finishing the messages in flight, then stopping (again to quit at once)`);
    stop.abort(new Error(signal));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  onLauncherExit(() => {
    console.error(
      'send-now: the process that started this one is gone: finishing the messages in flight, then stopping',
    );
    stop.abort(new Error('launcher gone'));
    setTimeout(() => process.exit(EXIT_FAILED), ORPHAN_GRACE_MS).unref();
  });
  return stop;
}

/** The mode asked for: a preview, a test copy, a dry run, or the send. */
async function sendNow(a: App, ctx: Context, o: Options, signal: AbortSignal, tty: boolean): Promise<number> {
  const { config } = ctx;
  const { cadence, limit } = o;
  const date =
    o.date ??
    (o.weekly
      ? a.defaultWeekEnding(ctx.clock.now(), config.DIGEST_TZ, config.WEEKLY_DAY)
      : a.defaultDigestDate(ctx.clock.now(), config.DIGEST_TZ));
  const edition = o.weekly ? `week ending ${date}` : date;
  // Settings that break real mail for readers: said before anything is sent, and listed by a dry run.
  const warnings = a.identityWarnings(config).map((w) => `warning: ${w}`);
  if (o.preview === undefined && !o['dry-run']) for (const w of warnings) console.error(w);
  const deps = await a.sendDigestDeps(ctx);
  // Someone is waiting at a terminal: a server that cannot be reached at all is reported soon.
  if (config.SEND_CONNECT_GIVE_UP_SECONDS > 0) deps.policy.connectGiveUpMs = config.SEND_CONNECT_GIVE_UP_SECONDS * 1000;

  if (o.preview !== undefined) {
    const rendered = await a.renderDigest(deps, { date, digestSize: config.DIGEST_SIZE, cadence });
    if (!rendered) return report(`${edition}: no papers, nothing to preview`, EXIT_OK);
    const textFile = o.preview.replace(/(\.html?)?$/i, '.txt');
    writeFileSync(o.preview, rendered.html);
    writeFileSync(textFile, rendered.text);
    return report(`${edition}: "${rendered.subject}" written to ${o.preview} and ${textFile}`, EXIT_OK);
  }
  if (o.to !== undefined) {
    const subscriber = ctx.subscribers.byEmail(o.to);
    const sent = await a.sendTestCopy(deps, {
      date,
      to: o.to,
      digestSize: subscriber?.digestSize ?? config.DIGEST_SIZE,
      subscriberId: subscriber?.id,
      cadence,
    });
    if (!sent) return report(`${edition}: no papers, nothing sent`, EXIT_OK);
    return report(`${edition}: one copy sent to ${o.to} (${sent.messageId}): ${sent.response}`, EXIT_OK);
  }

  const progress = progressReporter(tty);
  const early = earlyReaders(a, ctx, date, cadence);
  const result = o['dry-run']
    ? await a.dryRun(deps, date, cadence)
    : await a.sendDigest(deps, { date, cadence, limit, signal, onProgress: progress.update, ...early.slice });
  progress.end();
  // A partial send (--limit) or a dry run leaves the posts to the run that completes the edition.
  const posts =
    o['dry-run'] || o['no-channels'] || limit !== undefined || signal.aborted
      ? undefined
      : await a.postChannels(a.channelPostDeps(ctx, deps), date, cadence);
  const listed = o['dry-run'] ? warnings : [];
  console.log(
    [
      summary(result),
      ...[
        // A list with no team channel hears nothing of them.
        ...(posts && Object.values(posts).some((n) => n > 0) ? [channelsLine(posts)] : []),
        ...listed,
        ...(o['dry-run'] ? [] : early.report()),
        ...a.describeSenderRefusals(result.senderRefusals ?? []),
        ...a.previousRunSummary(ctx.bounces, date),
      ].map((line) => `  ${line}`),
    ].join('\n'),
  );
  return result.outcome === 'done' ||
    result.outcome === 'empty' ||
    result.outcome === 'dry-run' ||
    (result.outcome === 'incomplete' && limit !== undefined && !signal.aborted)
    ? EXIT_OK
    : EXIT_FAILED;
}

/** What the posts to the team channels did. */
function channelsLine(p: ChannelPostSummary): string {
  const parts = [`posted ${p.posted}`, `failed ${p.failed}`];
  if (p.disabled) parts.push(`disabled ${p.disabled} (webhook gone)`);
  if (p.alreadyPosted) parts.push(`already had it ${p.alreadyPosted}`);
  if (p.nothingMatched) parts.push(`no paper matched ${p.nothingMatched}`);
  return `channels: ${parts.join(', ')}`;
}

/**
 * DELIVERY_MODE=local: the operator's override sends everyone still unsent at once (a slice with
 * every group, cut off now) when some group's hour is still ahead or the run went out in slices;
 * and counts how many got it before their hour. Otherwise the run as it is, as in batch.
 */
function earlyReaders(a: App, ctx: Context, date: string, cadence: Cadence) {
  const { config, ledger, clock } = ctx;
  if (config.DELIVERY_MODE !== 'local') return { slice: {}, report: () => [] };
  const now = clock.now();
  const morning = a.morningOf(config, cadence);
  const groups = a.effectiveGroups(ledger.audienceGroups(cadence), morning.defaultHour);
  const ahead = a.groupsAhead(morning, groups, date, now);
  const sentAhead = () => {
    const run = ledger.byDate(date, cadence);
    return run && ahead.length ? ledger.sentInGroups(run.id, ahead) : 0;
  };
  const before = sentAhead();
  const sliced = ahead.length > 0 || (ledger.byDate(date, cadence)?.sliceGroups ?? null) !== null;
  return {
    slice: sliced ? { slice: { at: now, groups: null } } : {},
    report: () => (ahead.length ? [`${sentAhead() - before} of them before their hour (DELIVERY_MODE=local)`] : []),
  };
}

function report(line: string, code: number): number {
  console.log(line);
  return code;
}

/** The closing summary: what happened, how long it took, how fast. */
function summary(r: SendDigestResult): string {
  const seconds = r.durationMs / 1000;
  const edition = r.cadence === 'weekly' ? `week ending ${r.date}` : r.date;
  if (r.outcome === 'dry-run') {
    const variants = (r.variants ?? []).map(
      (v) =>
        `  ${v.recipients} × ${v.papers} papers (size ${v.digestSize}${v.keywords ? `, keywords ${v.keywords}` : ''})`,
    );
    return [
      `${edition}: dry run: ${r.recipients ?? 0} subscribers would get the ${r.cadence === 'weekly' ? 'weekly edition' : 'digest'} now, in ${variants.length} variants`,
      ...variants,
    ].join('\n');
  }
  const rate = seconds > 0 ? (r.sent / seconds).toFixed(1) : '–';
  const lines = [
    `${edition}: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}`,
    `  this time: sent ${r.sent}, skipped ${r.skipped}, failed ${r.failed}, deferred ${r.deferred} in ${seconds.toFixed(1)} s (${rate} msg/s)`,
  ];
  if (r.resumedInFlight)
    lines.push(
      `  resumed a cut-off run: ${r.resumedInFlight} deliveries the previous sender had claimed were queued again`,
    );
  if (r.run)
    lines.push(`  run total: ${r.run.status}, sent ${r.run.sent}, skipped ${r.run.skipped}, failed ${r.run.failed}`);
  return lines.join('\n');
}

/** A bar redrawn in place on a terminal; a plain line at most every two seconds otherwise. */
function progressReporter(tty: boolean) {
  const started = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update(p: SendProgress) {
      const now = Date.now();
      if (now - last < (tty ? 100 : 2000)) return;
      last = now;
      const total = Math.max(p.total, p.done, 1);
      const rate = p.sent / Math.max(0.001, (now - started) / 1000);
      const counts = `${p.done}/${total}  sent ${p.sent} skipped ${p.skipped} failed ${p.failed}  ${rate.toFixed(0)} msg/s`;
      if (tty) {
        const width = 30;
        const filled = Math.round((p.done / total) * width);
        process.stderr.write(
          `\r\x1b[K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor((p.done / total) * 100)}% ${counts}`,
        );
        drawn = true;
      } else {
        console.error(`${p.date}: ${counts}`);
      }
    },
    end() {
      if (drawn) process.stderr.write('\n');
    },
  };
}

/** The whole CLI, --help and usage errors included: the tests run it in their own process. */
export const cli = (argv: string[]) => runCli('send-now', USAGE, argv, main);

if (isEntryPoint(import.meta.url)) process.exitCode = await cli(process.argv.slice(2));
