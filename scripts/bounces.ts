import { parseArgs } from 'node:util';
import { loadConfig, SOFT_WINDOW_DAYS } from '../src/config.ts';
import { createContext, handleReportDeps, type Context } from '../src/context.ts';
import { createLogger } from '../src/logger.ts';
import { EXIT_FAILED, EXIT_OK, isEntryPoint, runCli, UsageError } from '../src/cli.ts';
import { isCalendarDate } from '../src/domain/dates.ts';
import {
  handleReport,
  type HandledRecipient,
  type HandledReport,
  type HandleReportDeps,
} from '../src/bounces/handle-report.ts';
import { readMailPath } from '../src/bounces/sources/mail-files.ts';
import { percent, runRates } from '../src/bounces/rates.ts';
import { refusedReaders } from '../src/bounces/refusals.ts';
import { addDays } from '../src/domain/dates.ts';

const USAGE = `Usage: npm run bounces -- COMMAND

  import [--trust-addresses] PATH...
                        read bounce reports, complaints and auto-replies and act on them, each
                        message as if it had just arrived. PATH: an .eml file, a Maildir folder
                        (new/ and cur/), a folder of .eml files, or an mbox file. Prints one line
                        per message (what it is, whom it concerns, the decision, what changed) and
                        a summary. Reading the same message again changes nothing.
                        A report acts only through what Paperboy signed (the VERP envelope sender,
                        the signed Message-ID or unsubscribe link of the returned original);
                        anything else is recorded as unverified. --trust-addresses: you vouch for
                        these files (your provider's export), so reports also act by address or
                        by an unsigned Message-ID, and reports recorded as unverified before are
                        looked at again.
  list [--since DATE]   the recorded events (tab-separated), oldest first; DATE is YYYY-MM-DD
  stats                 per send run: sent, hard bounces, soft bounces, complaints, and their rates,
                        failed and refused for the sender's reasons; then the refusals about the
                        sender of the last 30 days per receiving domain and reason, and the readers
                        refused for the same such reason on every digest for 30 days (listed for
                        you to judge; nothing is done to them)
  quarantine list       reports set aside (unreadable, over a cap, too slow to parse), tab-separated
  quarantine show ID    the message as it was received (kept here for 30 days)
  quarantine delete ID  remove one
  -h, --help            show this help

Policy: a hard bounce suppresses the subscriber at once; a complaint unsubscribes them; soft
bounces about the mailbox (full, disabled, greylisting given up) suppress after
BOUNCE_SOFT_LIMIT digests in a row bounced within 30 days; refusals about the sender (spam,
reputation, blocklists, policy, authentication, rate limits) and delay warnings are recorded and
never held against the reader; auto-replies are logged only. Suppressed addresses stay off
imports until their owner signs up again (or npm run subscribers -- unsuppress ADDRESS).

Exit status: 0 ok (unrecognised messages are reported, not fatal), 1 failed (a path or message
could not be read), 2 usage error.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { since: { type: 'string' }, 'trust-addresses': { type: 'boolean' } },
    strict: true,
    allowPositionals: true,
  });
  const [command, ...rest] = positionals;
  if (!command) throw new UsageError('a command is needed');
  if (!['import', 'list', 'stats', 'quarantine'].includes(command))
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (command === 'import' && !rest.length) throw new UsageError('import takes one or more paths');
  if (command === 'quarantine') quarantineArgs(rest);
  else if (command !== 'import' && rest.length) throw new UsageError(`${command} takes no arguments`);
  if (values['trust-addresses'] && command !== 'import')
    throw new UsageError('--trust-addresses applies to import only');
  if (values.since !== undefined && command !== 'list') throw new UsageError('--since applies to list only');
  if (values.since !== undefined && !isCalendarDate(values.since))
    throw new UsageError(`--since must be a real day as YYYY-MM-DD, got ${JSON.stringify(values.since)}`);

  let ctx: Context | undefined;
  try {
    const config = loadConfig();
    // Each message gets its line on stdout; the per-event info log would only repeat it.
    ctx = createContext(config, createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, 'stderr'));
    if (command === 'import') return await importPaths(handleReportDeps(ctx), rest, values['trust-addresses'] === true);
    if (command === 'list') return listEvents(ctx, values.since ?? '');
    if (command === 'quarantine') return quarantine(ctx, rest);
    return stats(ctx);
  } catch (err) {
    ctx?.logger.error({ err }, `bounces ${command} failed`);
    console.error(`bounces ${command} failed: ${(err as Error).message}`);
    return EXIT_FAILED;
  } finally {
    ctx?.close();
  }
}

async function importPaths(deps: HandleReportDeps, paths: string[], trustAddresses: boolean): Promise<number> {
  const tally = {
    messages: 0,
    unreadable: 0,
    unrecognised: 0,
    quarantined: 0,
    hard: 0,
    soft: 0,
    complaint: 0,
    ignore: 0,
    sender: 0,
    delayed: 0,
    suppressed: 0,
    unsubscribed: 0,
    repeat: 0,
    nobody: 0,
    unverified: 0,
  };
  for (const path of paths) {
    try {
      for (const message of readMailPath(path)) {
        tally.messages++;
        const handled = await handleReport(deps, message.raw, { kind: 'import', name: message.name, trustAddresses });
        console.log(`${message.name}: ${describeReport(handled, deps.softLimit)}`);
        if (handled.quarantined) tally.quarantined++;
        if (handled.unsubscribed?.changed) tally.unsubscribed++;
        else if (!handled.recipients.length) tally.unrecognised++;
        for (const r of handled.recipients) {
          tally[r.decision]++;
          const e = r.applied.effect;
          if (e === 'suppressed' || e === 'unsubscribed' || e === 'repeat' || e === 'nobody' || e === 'unverified')
            tally[e]++;
        }
      }
    } catch (err) {
      tally.unreadable++;
      console.error(`${path}: ${(err as Error).message}`);
    }
  }
  console.log(importSummary(tally));
  return tally.unreadable ? EXIT_FAILED : EXIT_OK;
}

function importSummary(t: Record<string, number>): string {
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return (
    `${plural(t.messages!, 'message', 'messages')}: ${t.hard} hard, ${t.soft} soft, ${t.complaint} complaints, ${t.sender} refused for the sender's reasons, ${t.delayed} delayed, ${t.ignore} ignored, ${t.unrecognised} unrecognised; ` +
    `${t.suppressed} suppressed, ${t.unsubscribed} unsubscribed, ${t.repeat} already handled, ${t.nobody} matched nobody, ` +
    `${t.unverified} unverified (matched by address only: --trust-addresses acts on them)` +
    (t.quarantined ? `; ${t.quarantined} quarantined (npm run bounces -- quarantine list)` : '') +
    (t.unreadable ? `; ${t.unreadable} could not be read` : '')
  );
}

/** What the message was, whom each recipient concerns, the decision and what it changed. */
function describeReport(h: HandledReport, softLimit: number): string {
  if (h.unsubscribed)
    return `unsubscribe request to #${h.unsubscribed.subscriberId}'s address: ${h.unsubscribed.changed ? 'unsubscribed' : 'already off the list'}`;
  if (h.refused) return `not taken: ${h.refused}`;
  if (h.quarantined)
    return h.quarantined.fresh
      ? `quarantined: ${h.quarantined.reason}`
      : `quarantined before (${h.quarantined.reason}), nothing changed`;
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
  const dropped = h.droppedRecipients ? `; ${h.droppedRecipients} more recipients not acted on` : '';
  return `${kind}: ${parts.join('; ')}${dropped}`;
}

function effectText(r: HandledRecipient, softLimit: number): string {
  switch (r.applied.effect) {
    case 'repeat':
      return 'already handled, nothing changed';
    case 'nobody':
      return 'nothing changed';
    case 'unverified':
      return 'unverified (nothing Paperboy signed names them), recorded, nothing changed';
    case 'counted':
      return `counted (latest digests bounced in a row: ${r.applied.softStreak} of ${softLimit})`;
    case 'recorded':
      return r.decision === 'sender'
        ? "recorded against the receiving domain, not the reader (the sender's reputation or setup)"
        : r.decision === 'delayed'
          ? 'recorded, not counted (delivery goes on)'
          : 'recorded, not counted (not about the mailbox)';
    case 'unchanged':
      return r.decision === 'ignore' ? 'logged, nothing changed' : 'already off the list';
    default:
      return r.applied.effect;
  }
}

const cell = (v: string | number | null | undefined) =>
  v === null || v === undefined || v === '' ? '-' : String(v).replace(/\s+/g, ' ');

function listEvents(ctx: Context, since: string): number {
  const columns = [
    'created_at',
    'kind',
    'email',
    'status',
    'reason',
    'digest_date',
    'source',
    'diagnostic',
    'verified',
  ];
  console.log(columns.join('\t'));
  for (const e of ctx.bounces.list(since))
    console.log(
      [
        e.createdAt,
        e.kind,
        e.email,
        e.status,
        e.reason,
        e.digestDate,
        e.source,
        e.diagnostic,
        e.verified ? 'yes' : 'no',
      ]
        .map(cell)
        .join('\t'),
    );
  return EXIT_OK;
}

function quarantineArgs(rest: string[]): void {
  const [action, id, ...more] = rest;
  if (action === 'list' && !id) return;
  if ((action === 'show' || action === 'delete') && id && !more.length) {
    if (!/^\d{1,15}$/.test(id))
      throw new UsageError(`quarantine ${action} takes an ID from quarantine list, got ${JSON.stringify(id)}`);
    return;
  }
  throw new UsageError('quarantine takes list, show ID or delete ID');
}

function quarantine(ctx: Context, [action, id]: string[]): number {
  if (action === 'list') {
    console.log(['id', 'created_at', 'source', 'reason', 'location', 'size'].join('\t'));
    for (const q of ctx.quarantine.list())
      console.log([q.id, q.createdAt, q.source, q.reason, q.location, q.size].map(cell).join('\t'));
    return EXIT_OK;
  }
  const n = Number(id);
  if (action === 'show') {
    const raw = ctx.quarantine.raw(n);
    if (raw === undefined) return notQuarantined(n);
    if (raw === null) {
      console.error(
        `quarantine entry ${n} is not kept here (too big to keep, or moved to the mailbox's quarantine folder)`,
      );
      return EXIT_FAILED;
    }
    process.stdout.write(raw);
    return EXIT_OK;
  }
  if (!ctx.quarantine.remove(n)) return notQuarantined(n);
  console.log(`quarantine entry ${n} deleted`);
  return EXIT_OK;
}

function notQuarantined(id: number): number {
  console.error(`no quarantine entry ${id} (see npm run bounces -- quarantine list)`);
  return EXIT_FAILED;
}

function stats(ctx: Context): number {
  // New columns go last: scripts that cut the columns by position keep working.
  const columns = ['run', 'sent', 'hard', 'soft', 'complaints', 'hard_rate', 'soft_rate', 'complaint_rate', 'alarm'];
  console.log([...columns, 'failed', 'sender'].join('\t'));
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
        r.failed,
        r.sender,
      ]
        .map(cell)
        .join('\t'),
    );
  }
  const loose = ctx.bounces.unattributed();
  if (Object.keys(loose).length)
    console.log(
      [
        '(no run)',
        '-',
        loose.hard ?? 0,
        loose.soft ?? 0,
        loose.complaint ?? 0,
        '-',
        '-',
        '-',
        '-',
        '-',
        loose.sender ?? 0,
      ].join('\t'),
    );
  senderStats(ctx);
  return EXIT_OK;
}

/** The refusals about the sender per receiving domain, and the readers refused on every digest for 30 days. */
function senderStats(ctx: Context): void {
  const today = ctx.clock.now().toISOString().slice(0, 10);
  const refusals = ctx.bounces.senderRefusals(`${addDays(today, -SOFT_WINDOW_DAYS)}T00:00:00.000Z`);
  if (refusals.length) {
    console.log(['', ['refused_by', 'reason', 'refusals', 'readers', 'last_digest'].join('\t')].join('\n'));
    for (const r of refusals)
      console.log([r.domain || '(unknown)', r.reason, r.refusals, r.readers, r.last].map(cell).join('\t'));
  }
  const readers = refusedReaders(ctx.bounces, today);
  if (readers.length) {
    console.log(['', ['refused_reader', 'domain', 'reason', 'digests', 'since'].join('\t')].join('\n'));
    for (const r of readers) console.log([r.email, r.domain, r.reason, r.digests, r.since].map(cell).join('\t'));
  }
}

/** The whole CLI, --help and usage errors included: the tests run it in their own process. */
export const cli = (argv: string[]) => runCli('bounces', USAGE, argv, main);

if (isEntryPoint(import.meta.url)) process.exitCode = await cli(process.argv.slice(2));
