import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createContext, type Context } from '../src/context.ts';
import { createLogger } from '../src/logger.ts';
import { EXIT_FAILED, EXIT_OK, isEntryPoint, runCli, UsageError } from '../src/cli.ts';
import { isCalendarDate } from '../src/domain/dates.ts';
import { parseReport } from '../src/bounces/parse-report.ts';
import {
  handleReport,
  handleReportDeps,
  type HandledRecipient,
  type HandledReport,
  type HandleReportDeps,
} from '../src/bounces/handle-report.ts';
import { readMailPath } from '../src/bounces/mail-files.ts';
import { percent, runRates } from '../src/bounces/rates.ts';

const USAGE = `Usage: npm run bounces -- COMMAND

  import PATH...        read bounce reports, complaints and auto-replies and act on them, each
                        message as if it had just arrived. PATH: an .eml file, a Maildir folder
                        (new/ and cur/), a folder of .eml files, or an mbox file. Prints one line
                        per message (what it is, whom it concerns, the decision, what changed) and
                        a summary. Reading the same message again changes nothing.
  list [--since DATE]   the recorded events (tab-separated), oldest first; DATE is YYYY-MM-DD
  stats                 per send run: sent, hard bounces, soft bounces, complaints, and their rates
  -h, --help            show this help

Policy: a hard bounce suppresses the subscriber at once; a complaint unsubscribes them; soft
bounces suppress after BOUNCE_SOFT_LIMIT digests in a row bounced within 30 days; auto-replies
are logged only. Suppressed addresses stay off imports until their owner signs up again.

Exit status: 0 ok (unrecognised messages are reported, not fatal), 1 failed (a path or message
could not be read), 2 usage error.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { since: { type: 'string' } },
    strict: true,
    allowPositionals: true,
  });
  const [command, ...rest] = positionals;
  if (!command) throw new UsageError('a command is needed');
  if (!['import', 'list', 'stats'].includes(command))
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (command === 'import' && !rest.length) throw new UsageError('import takes one or more paths');
  if (command !== 'import' && rest.length) throw new UsageError(`${command} takes no arguments`);
  if (values.since !== undefined && command !== 'list') throw new UsageError('--since applies to list only');
  if (values.since !== undefined && !isCalendarDate(values.since))
    throw new UsageError(`--since must be a real day as YYYY-MM-DD, got ${JSON.stringify(values.since)}`);

  let ctx: Context | undefined;
  try {
    const config = loadConfig();
    // Each message gets its line on stdout; the per-event info log would only repeat it.
    ctx = createContext(config, createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, 'stderr'));
    if (command === 'import') return await importPaths(handleReportDeps(ctx, parseReport), rest);
    if (command === 'list') return listEvents(ctx, values.since ?? '');
    return stats(ctx);
  } catch (err) {
    ctx?.logger.error({ err }, `bounces ${command} failed`);
    console.error(`bounces ${command} failed: ${(err as Error).message}`);
    return EXIT_FAILED;
  } finally {
    ctx?.close();
  }
}

async function importPaths(deps: HandleReportDeps, paths: string[]): Promise<number> {
  const tally = {
    messages: 0,
    unreadable: 0,
    unrecognised: 0,
    hard: 0,
    soft: 0,
    complaint: 0,
    ignore: 0,
    suppressed: 0,
    unsubscribed: 0,
    repeat: 0,
    nobody: 0,
  };
  for (const path of paths) {
    try {
      for (const message of readMailPath(path)) {
        tally.messages++;
        try {
          const handled = await handleReport(deps, message.raw, { kind: 'import', name: message.name });
          console.log(`${message.name}: ${describeReport(handled, deps.softLimit)}`);
          if (!handled.recipients.length) tally.unrecognised++;
          for (const r of handled.recipients) {
            tally[r.decision]++;
            const e = r.applied.effect;
            if (e === 'suppressed' || e === 'unsubscribed' || e === 'repeat' || e === 'nobody') tally[e]++;
          }
        } catch (err) {
          tally.unreadable++;
          console.error(`${message.name}: could not be read: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      tally.unreadable++;
      console.error(`${path}: ${(err as Error).message}`);
    }
  }
  const t = tally;
  console.log(
    `${t.messages} ${t.messages === 1 ? 'message' : 'messages'}: ${t.hard} hard, ${t.soft} soft, ${t.complaint} complaints, ${t.ignore} ignored, ${t.unrecognised} unrecognised; ` +
      `${t.suppressed} suppressed, ${t.unsubscribed} unsubscribed, ${t.repeat} already handled, ${t.nobody} matched nobody` +
      (t.unreadable ? `; ${t.unreadable} could not be read` : ''),
  );
  return t.unreadable ? EXIT_FAILED : EXIT_OK;
}

/** What the message was, whom each recipient concerns, the decision and what it changed. */
function describeReport(h: HandledReport, softLimit: number): string {
  const kind = [h.kind, h.feedbackType].filter(Boolean).join(' ');
  if (!h.recipients.length)
    return h.kind === 'unknown'
      ? 'unrecognised: no bounce, complaint or auto-reply found, nothing changed'
      : `${kind}: names no recipient, nothing changed`;
  const parts = h.recipients.map((r) => {
    const s = r.applied.subscriber;
    const whom =
      s && r.matchedBy
        ? `#${s.id} ${s.email} (by ${r.matchedBy})`
        : h.verp === 'forged'
          ? 'nobody (forged VERP address)'
          : 'nobody';
    const why = [r.status, r.reason].filter(Boolean).join(' ');
    return `${r.address || '?'} → ${whom}: ${r.decision}${why ? ` (${why})` : ''}, ${effectText(r, softLimit)}`;
  });
  return `${kind}: ${parts.join('; ')}`;
}

function effectText(r: HandledRecipient, softLimit: number): string {
  switch (r.applied.effect) {
    case 'repeat':
      return 'already handled, nothing changed';
    case 'nobody':
      return 'nothing changed';
    case 'counted':
      return `counted (latest digests bounced in a row: ${r.applied.softStreak} of ${softLimit})`;
    case 'unchanged':
      return r.decision === 'ignore' ? 'logged, nothing changed' : 'already off the list';
    default:
      return r.applied.effect;
  }
}

const cell = (v: string | number | null | undefined) =>
  v === null || v === undefined || v === '' ? '-' : String(v).replace(/\s+/g, ' ');

function listEvents(ctx: Context, since: string): number {
  console.log(['created_at', 'kind', 'email', 'status', 'reason', 'digest_date', 'source', 'diagnostic'].join('\t'));
  for (const e of ctx.bounces.list(since))
    console.log(
      [e.createdAt, e.kind, e.email, e.status, e.reason, e.digestDate, e.source, e.diagnostic].map(cell).join('\t'),
    );
  return EXIT_OK;
}

function stats(ctx: Context): number {
  console.log(
    ['run', 'sent', 'hard', 'soft', 'complaints', 'hard_rate', 'soft_rate', 'complaint_rate', 'alarm'].join('\t'),
  );
  for (const run of ctx.bounces.runs()) {
    const r = runRates(run);
    const alarm = r.alarms.map((a) => (a === 'hard' ? 'HARD BOUNCES' : 'COMPLAINTS')).join(', ');
    console.log(
      [
        r.date,
        r.sent,
        r.hard,
        r.soft,
        r.complaints,
        percent(r.hardRate),
        percent(r.softRate),
        percent(r.complaintRate, 2),
        alarm,
      ]
        .map(cell)
        .join('\t'),
    );
  }
  const loose = ctx.bounces.unattributed();
  if (Object.keys(loose).length)
    console.log(
      ['(no run)', '-', loose.hard ?? 0, loose.soft ?? 0, loose.complaint ?? 0, '-', '-', '-', '-'].join('\t'),
    );
  return EXIT_OK;
}

/** The whole CLI, --help and usage errors included: the tests run it in their own process. */
export const cli = (argv: string[]) => runCli('bounces', USAGE, argv, main);

if (isEntryPoint(import.meta.url)) process.exitCode = await cli(process.argv.slice(2));
