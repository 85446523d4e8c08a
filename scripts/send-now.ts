import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { limitHeapGrowth } from '../src/heap.ts';
import { dateArgument, EXIT_FAILED, EXIT_OK, isEntryPoint, onLauncherExit, runCli, UsageError } from '../src/cli.ts';
import { emailSchema } from '../src/domain/subscriber-input.ts';
import { defaultDigestDate } from '../src/domain/dates.ts';
import { createContext, sendDigestDeps, type Context } from '../src/context.ts';
import { sendDigest, type SendDigestResult } from '../src/digest/run.ts';
import { dryRun, renderDigest, sendTestCopy } from '../src/digest/preview.ts';
import type { SendProgress } from '../src/digest/send-loop.ts';
import { previousRunSummary } from '../src/bounces/rates.ts';

const USAGE = `Usage: npm run send-now -- [--date YYYY-MM-DD] [--dry-run] [--to ADDRESS] [--limit N] [--preview FILE.html]

Sends the daily digest of a date to every confirmed subscriber, now, as the scheduled job does.
Safe to repeat and to interrupt: a run that was cut off (crash, kill, SMTP outage) continues
where it stopped and sends only what was not sent; a finished run sends nothing again.

  --date YYYY-MM-DD   the digest's day (default: yesterday in DIGEST_TZ, as the daily job)
  --dry-run           rank and render, report who would get which variant; send nothing
  --to ADDRESS        send one copy to ADDRESS only, outside the run (to check it)
  --limit N           send at most N messages now; the run stays open for the rest
  --preview FILE      write the rendered digest to FILE (HTML) and FILE's .txt twin; send nothing
  -h, --help          show this help

Exit status: 0 done (or nothing left to do), 1 failed, paused or stopped early, 2 usage error.`;

/** How long an orphaned sender may take to record its messages in flight (SMTP's socket timeout). */
const ORPHAN_GRACE_MS = 30_000;

async function main(argv: string[]): Promise<number> {
  const args = parseArgs({
    args: argv,
    options: {
      date: { type: 'string' },
      'dry-run': { type: 'boolean' },
      to: { type: 'string' },
      limit: { type: 'string' },
      preview: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
  dateArgument(args.date);
  const limit = args.limit === undefined ? undefined : Number(args.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) throw new UsageError(`--limit must be a positive whole number, got ${JSON.stringify(args.limit)}`);
  const to = args.to === undefined ? undefined : emailSchema.safeParse(args.to);
  if (to && !to.success) throw new UsageError(`--to must be an email address, got ${JSON.stringify(args.to)}`);
  if (args.preview === '') throw new UsageError('--preview needs a file name');
  const modes = [args['dry-run'], args.to !== undefined, args.preview !== undefined].filter(Boolean).length;
  if (modes > 1) throw new UsageError('--dry-run, --to and --preview are separate modes: give one');
  if (modes && limit !== undefined) throw new UsageError('--limit applies to a real send only');

  let ctx: Context | undefined;
  const stop = new AbortController();
  // First signal: stop taking work, let in-flight messages finish and be recorded. Second: give up.
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(EXIT_FAILED);
    console.error(`\nsend-now: ${signal}: finishing the messages in flight, then stopping (again to quit at once)`);
    stop.abort(new Error(signal));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Nobody is left to read the summary or to send a second signal: stop as on the first one, and
  // exit regardless once the messages in flight had their time.
  onLauncherExit(() => {
    console.error('send-now: the process that started this one is gone: finishing the messages in flight, then stopping');
    stop.abort(new Error('launcher gone'));
    setTimeout(() => process.exit(EXIT_FAILED), ORPHAN_GRACE_MS).unref();
  });

  try {
    const config = loadConfig();
    limitHeapGrowth();
    const tty = process.stderr.isTTY === true;
    // On a terminal the progress bar tells the story; info logs would break it up.
    ctx = createContext(config, createLogger(tty && ['info', 'debug', 'trace'].includes(config.LOG_LEVEL) ? 'warn' : config.LOG_LEVEL, 'stderr', { development: config.NODE_ENV !== 'production' }));
    const date = args.date ?? defaultDigestDate(ctx.clock.now(), config.DIGEST_TZ);
    const deps = await sendDigestDeps(ctx);

    if (args.preview !== undefined) {
      const rendered = await renderDigest(deps, { date, digestSize: config.DIGEST_SIZE });
      if (!rendered) return report(`${date}: no papers, nothing to preview`, EXIT_OK);
      const textFile = args.preview.replace(/(\.html?)?$/i, '.txt');
      writeFileSync(args.preview, rendered.html);
      writeFileSync(textFile, rendered.text);
      return report(`${date}: "${rendered.subject}" written to ${args.preview} and ${textFile}`, EXIT_OK);
    }
    if (to?.success) {
      const subscriber = ctx.subscribers.byEmail(to.data);
      const sent = await sendTestCopy(deps, { date, to: to.data, digestSize: subscriber?.digestSize ?? config.DIGEST_SIZE, subscriberId: subscriber?.id });
      if (!sent) return report(`${date}: no papers, nothing sent`, EXIT_OK);
      return report(`${date}: one copy sent to ${to.data} (${sent.messageId}): ${sent.response}`, EXIT_OK);
    }

    const progress = progressReporter(tty);
    const result = args['dry-run'] ? await dryRun(deps, date) : await sendDigest(deps, { date, limit, signal: stop.signal, onProgress: progress.update });
    progress.end();
    console.log([summary(result), ...previousRunSummary(ctx.bounces, date).map((line) => `  ${line}`)].join('\n'));
    return result.outcome === 'done' || result.outcome === 'empty' || result.outcome === 'dry-run' || (result.outcome === 'incomplete' && limit !== undefined && !stop.signal.aborted)
      ? EXIT_OK
      : EXIT_FAILED;
  } catch (err) {
    ctx?.logger.error({ err }, 'send-now failed');
    console.error(`send-now failed: ${(err as Error).message}`);
    return EXIT_FAILED;
  } finally {
    ctx?.close();
  }
}

function report(line: string, code: number): number {
  console.log(line);
  return code;
}

/** The closing summary: what happened, how long it took, how fast. */
function summary(r: SendDigestResult): string {
  const seconds = r.durationMs / 1000;
  if (r.outcome === 'dry-run') {
    const variants = (r.variants ?? []).map((v) => `  ${v.recipients} × ${v.papers} papers (size ${v.digestSize}${v.keywords ? `, keywords ${v.keywords}` : ''})`);
    return [`${r.date}: dry run: ${r.recipients ?? 0} subscribers would get the digest now, in ${variants.length} variants`, ...variants].join('\n');
  }
  const rate = seconds > 0 ? (r.sent / seconds).toFixed(1) : '–';
  const lines = [
    `${r.date}: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}`,
    `  this time: sent ${r.sent}, skipped ${r.skipped}, failed ${r.failed}, deferred ${r.deferred} in ${seconds.toFixed(1)} s (${rate} msg/s)`,
  ];
  if (r.resumedInFlight) lines.push(`  resumed a cut-off run: ${r.resumedInFlight} deliveries the previous sender had claimed were queued again`);
  if (r.run) lines.push(`  run total: ${r.run.status}, sent ${r.run.sent}, skipped ${r.run.skipped}, failed ${r.run.failed}`);
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
        process.stderr.write(`\r\x1b[K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor((p.done / total) * 100)}% ${counts}`);
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
