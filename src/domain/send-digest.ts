import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import addressparser from 'nodemailer/lib/addressparser';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Context } from '../context.ts';
import type { Logger } from '../logger.ts';
import type { DigestsStore } from '../db/digests-store.ts';
import type { ClaimedDelivery, DeliveryOutcome, RunsStore, SendRun } from '../db/runs-store.ts';
import type { Mailer } from '../digest/mailer.ts';
import { loadTemplates, personalise, type CompiledDigest, type Rendered, type Templates } from '../mail/templates.ts';
import { prepareMessage, renderMessage, type MessageSettings, type PreparedMessage } from '../mail/raw-message.ts';
import type { Paper } from './paper.ts';
import { ingestDay } from './ingest.ts';
import { parseKeywords, rankPapers } from './ranking.ts';
import { subscriberLinks } from './tokens.ts';
import { defaultErrorBudget, FailureWindow, retryDelayMs, type ErrorBudget } from './send-policy.ts';
import { classifySmtpError, describeSmtpError } from '../mail/smtp/replies.ts';

/**
 * The daily send: every confirmed subscriber gets the digest of a date once.
 *
 * Exactly once, through crashes: a run per date and a delivery row per (run, subscriber) in
 * SQLite. Deliveries are claimed in batches (the run's cursor moves; a retry's row goes to
 * 'sending'), and an outcome is written within 20 ms of the server's reply, in one transaction
 * with the replies around it; a first attempt's row is written then, once (see the runs store).
 *
 * In-flight policy. A claimed delivery without an outcome when its sender died may or may not
 * have reached the SMTP server, and nothing in SMTP can tell us which. On resume it is sent
 * again: a subscriber may get at most one duplicate, and only the messages in the window at the
 * moment of the crash can be duplicated: those awaiting the server's reply (≤ `maxInFlight`,
 * 2 × the SMTP pool) and those whose reply had arrived but was not yet written (≤ `recordBatch`,
 * 4 × the pool) — at most 6 × SMTP_POOL_SIZE messages (30 by default), never a claim batch.
 * Replies are written in batches because a commit costs ~100–150 µs of blocked event loop
 * whatever it holds (WAL frames, page writes): ~7 µs per message in batches of twenty, on top of
 * ~8 µs for the message's own writes and reads; a reply waits at most 20 ms for its batch. A
 * duplicate carries the same Message-ID as the original (it is derived from the date and the
 * subscriber), so mail stores that collapse equal Message-IDs show it once.
 *
 * Unsubscribes mid-run: a subscriber's status is checked right before their message starts,
 * against a counter that moves whenever any confirmed subscriber stops being one (migration 010):
 * only if it moved since the claim is the subscriber looked up. The count is read with every
 * ledger write, and afresh once per `maxInFlight` messages or 20 ms, whichever comes first; so an
 * unsubscribe stops every message that had not started when it landed, but for at most the next
 * window's worth (one read per window instead of one per message).
 *
 * One sender per run: the run row carries a lease (owner, expiry), taken in an immediate
 * transaction and renewed while sending. A second sender finds it held and stops ('busy');
 * a crashed holder's lease lapses after SEND_LEASE_SECONDS and the next sender takes over.
 */

export interface SendPolicy {
  /** Deliveries claimed (and subscribers enqueued) per ledger transaction. */
  batchSize: number;
  /** Messages handed to the mailer and not yet answered; bounds memory and crash duplicates. */
  maxInFlight: number;
  /** Replies written per ledger transaction (at most; a timer flushes a short batch). */
  recordBatch: number;
  /** Attempts per delivery for 4xx replies before it is marked failed. */
  maxAttempts: number;
  /** First retry delay; doubles per attempt (4xx) or per round (connection failures). */
  retryBaseMs: number;
  /** Rounds of "the SMTP server can't be reached" before the run fails. */
  connectionRetries: number;
  errorBudget: ErrorBudget;
  leaseMs: number;
}

export interface SendDigestDeps {
  runs: RunsStore;
  digests: Pick<DigestsStore, 'get' | 'save'>;
  /** Fetches the day from the paper source, stores it, and returns the day's full list. Throws when the source is down. */
  refreshDay(date: string, stop?: AbortSignal): Promise<Paper[]>;
  compileDigest(d: { date: string; papers: Paper[] }): Promise<CompiledDigest>;
  mailer: Pick<Mailer, 'sendPrebuilt'>;
  clock: Clock;
  logger: Logger;
  links(subscriberId: number): { unsubscribeUrl: string; preferencesUrl: string };
  /** From, List-Id, mailto, and the domain our Message-IDs are on. */
  message: MessageSettings & { domain: string };
  policy: SendPolicy;
}

export interface SendProgress {
  date: string;
  /** Deliveries of the run that are settled (sent, failed or skipped), this and earlier attempts. */
  done: number;
  /** Best estimate of the run's size; subscribers who leave mid-run make it shrink. */
  total: number;
  sent: number;
  failed: number;
  skipped: number;
}

export interface SendDigestOptions {
  date: string;
  /** Send at most this many messages now; the run stays open for the rest. */
  limit?: number;
  /** Rank, render and count who would get it; no run, no email. */
  dryRun?: boolean;
  onProgress?: (p: SendProgress) => void;
  /** Aborting stops taking work; in-flight messages finish and are recorded. */
  signal?: AbortSignal;
}

export type SendOutcome =
  | 'done' // everyone settled
  | 'empty' // no papers that day: no email
  | 'incomplete' // stopped early (limit or signal); resume by running again
  | 'paused' // policy rejection or error budget: needs a look, then send-now resumes it
  | 'failed' // source or SMTP server down: the next attempt resumes it
  | 'busy' // another sender holds the run
  | 'dry-run';

export interface SendDigestResult {
  outcome: SendOutcome;
  date: string;
  /** Why it stopped, for paused/failed/busy. */
  reason?: string;
  /** This invocation's counts. */
  sent: number;
  failed: number;
  skipped: number;
  deferred: number;
  /** Deliveries re-opened because a previous sender died with them in flight. */
  resumedInFlight: number;
  /** The run's totals after this invocation. */
  run?: Pick<SendRun, 'status' | 'sent' | 'failed' | 'skipped' | 'startedAt'>;
  /** Dry run: who would get it, per variant. */
  recipients?: number;
  variants?: { digestSize: number; keywords: string; papers: number; recipients: number }[];
  durationMs: number;
}

export async function sendDigest(deps: SendDigestDeps, opts: SendDigestOptions): Promise<SendDigestResult> {
  if (opts.dryRun) return dryRun(deps, opts.date);
  const started = performance.now();
  const { runs, clock, logger } = deps;
  const log = logger.child({ digestDate: opts.date });
  const result: SendDigestResult = { outcome: 'done', date: opts.date, sent: 0, failed: 0, skipped: 0, deferred: 0, resumedInFlight: 0, durationMs: 0 };
  const finishWith = (outcome: SendOutcome, reason?: string) => {
    const run = runs.byDate(opts.date);
    Object.assign(result, { outcome, durationMs: Math.round(performance.now() - started) }, reason ? { reason } : {});
    if (run) result.run = { status: run.status, sent: run.sent, failed: run.failed, skipped: run.skipped, startedAt: run.startedAt };
    return result;
  };

  let run = runs.open(opts.date, clock.now());
  if (run.status === 'done') return finishWith('done', 'already sent');
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  if (!runs.takeLease(run.id, owner, clock.now(), deps.policy.leaseMs)) {
    run = runs.byId(run.id);
    return finishWith('busy', `another sender (${run.leaseOwner}) holds this run until ${run.leaseExpiresAt}`);
  }

  // Losing the lease (this process stalled past its expiry and someone took over) stops the send.
  const lost = new AbortController();
  const renew = setInterval(() => {
    if (!runs.renewLease(run.id, owner, clock.now(), deps.policy.leaseMs)) lost.abort(new Error('lost the lease on this run'));
  }, Math.max(50, deps.policy.leaseMs / 3));
  renew.unref();
  const signal = opts.signal ? AbortSignal.any([opts.signal, lost.signal]) : lost.signal;

  try {
    result.resumedInFlight = runs.resume(run.id, clock.now());
    if (result.resumedInFlight) log.warn({ count: result.resumedInFlight }, 'resuming a run cut off mid-send: deliveries the previous sender had claimed are queued again (those it had in flight may arrive twice)');
    runs.setStatus(run.id, 'running', clock.now());

    let papers: Paper[];
    try {
      papers = await frozenRanking(deps, opts.date, { save: true, stop: signal });
    } catch (err) {
      if (signal.aborted) return finishWith('incomplete', 'stopped while fetching the papers');
      const reason = `papers for ${opts.date} unavailable: ${(err as Error).message}`;
      runs.setStatus(run.id, 'failed', clock.now(), reason);
      log.error({ err }, 'digest run failed: paper source unavailable; the next attempt retries');
      return finishWith('failed', reason);
    }
    if (papers.length === 0) {
      runs.setStatus(run.id, 'empty', clock.now());
      log.info('no papers for this day: nothing sent');
      return finishWith('empty');
    }

    const stop = await deliver(deps, runs.byId(run.id), papers, opts, signal, result, log);
    if (stop.status === 'paused' || stop.status === 'failed') {
      runs.setStatus(run.id, stop.status, clock.now(), stop.reason);
      log.error({ reason: stop.reason }, `digest run ${stop.status}`);
      return finishWith(stop.status, stop.reason);
    }
    if (stop.status === 'done') {
      runs.setStatus(run.id, 'done', clock.now());
      log.info({ sent: result.sent, failed: result.failed, skipped: result.skipped }, 'digest run done');
      return finishWith('done');
    }
    runs.setStatus(run.id, 'running', clock.now(), stop.reason);
    return finishWith('incomplete', stop.reason);
  } catch (err) {
    runs.setStatus(run.id, 'failed', clock.now(), (err as Error).message);
    throw err;
  } finally {
    clearInterval(renew);
    runs.releaseLease(run.id, owner, clock.now());
  }
}

/** The longest a reply waits for its ledger write when fewer than `recordBatch` are pending. */
const RECORD_DELAY_MS = 20;

type Stop = { status: 'done' } | { status: 'incomplete' | 'paused' | 'failed'; reason: string };

/** The send loop: claim a batch, send with a bounded window, record replies in batches. */
async function deliver(
  deps: SendDigestDeps,
  run: SendRun,
  papers: Paper[],
  opts: SendDigestOptions,
  signal: AbortSignal,
  result: SendDigestResult,
  log: Logger,
): Promise<Stop> {
  const { runs, clock, policy } = deps;
  const ledger = runs.session(run.id, { checksPerReading: policy.maxInFlight });
  // Abortable: a signal ends the wait at once (the loop then sees it and stops).
  const sleep = (ms: number, s: AbortSignal) => delay(ms, undefined, { signal: s }).catch(() => undefined);
  const variantFor = variantCache(papers, async (ranked) => prepareMessage(await deps.compileDigest({ date: run.digestDate, papers: ranked }), deps.message));
  const budget = new FailureWindow(policy.errorBudget);
  // Messages handed to the mailer and not answered yet. The loop waits for "one more answered"
  // through a single waker: Promise.race over the window would hang a reaction on every
  // in-flight promise at each wait.
  let inFlight = 0;
  let wake: (() => void) | null = null;
  let replyError: unknown = null;
  const answered = () => new Promise<void>((resolve) => (wake = resolve));
  const drain = async () => {
    while (inFlight) await answered();
  };
  /** Handles one reply, then lets the loop know a place in the window is free. */
  const answer = (handle: () => void) => {
    try {
      handle();
    } catch (err) {
      // A ledger write that failed: the loop rethrows it.
      replyError ??= err;
    }
    inFlight--;
    const w = wake;
    wake = null;
    w?.();
  };
  let queue: ClaimedDelivery[] = [];
  let outcomes: DeliveryOutcome[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let started = 0;
  let stop: Stop | undefined;
  // Connection trouble is handled per round, not per message: the window's worth of failures
  // that one outage produces counts once.
  let connectionError: string | undefined;
  let connectionRounds = 0;

  const before = run.sent + run.failed + run.skipped;
  const total = before + runs.pendingCount(run.id) + runs.remainingAudience(run.id);
  const progress = () =>
    opts.onProgress?.({ date: run.digestDate, done: before + result.sent + result.failed + result.skipped, total, sent: result.sent, failed: result.failed, skipped: result.skipped });

  const flush = () => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (!outcomes.length) return;
    ledger.record(outcomes, clock.now());
    outcomes = [];
    progress();
  };
  const settle = (o: DeliveryOutcome) => {
    outcomes.push(o);
    if (outcomes.length >= policy.recordBatch) flush();
    else flushTimer ??= setTimeout(flush, RECORD_DELAY_MS);
  };
  const halt = (s: Stop) => {
    stop ??= s;
  };

  const onReply = (d: ClaimedDelivery, err: unknown) => {
    const reply = describeSmtpError(err);
    const kind = classifySmtpError(err);
    if (kind === 'connection') {
      connectionError = reply;
      return settle({ subscriberId: d.subscriberId, kind: 'released', reply });
    }
    connectionRounds = 0;
    if (kind === 'policy') {
      halt({ status: 'paused', reason: `SMTP policy rejection (our sending setup, not the recipient): ${reply}` });
      return settle({ subscriberId: d.subscriberId, kind: 'released', reply });
    }
    if (kind === 'transient' && d.attempts < policy.maxAttempts) {
      result.deferred++;
      const nextAttemptAt = new Date(clock.now().getTime() + retryDelayMs(d.attempts, policy.retryBaseMs)).toISOString();
      return settle({ subscriberId: d.subscriberId, kind: 'deferred', reply, nextAttemptAt });
    }
    result.failed++;
    budget.add(true);
    const spent = budget.exceeded();
    if (spent) halt({ status: 'paused', reason: `error budget spent: ${spent}; last reply: ${reply}` });
    settle({ subscriberId: d.subscriberId, kind: 'failed', reply, hardBounce: kind === 'recipient' });
  };

  /** Hands one claimed delivery to the mailer; a promise only while its variant compiles. */
  const send = (d: ClaimedDelivery): Promise<void> | void => {
    // Checked right before sending: an unsubscribe that landed after the batch was claimed counts.
    const status = ledger.statusNow(d.subscriberId);
    if (status !== 'confirmed') {
      result.skipped++;
      return settle({ subscriberId: d.subscriberId, kind: 'skipped', reply: `subscriber is ${status ?? 'gone'}` });
    }
    const variant = variantFor(d.digestSize, d.keywords);
    // Compiled already, as for nearly every message: handed over in this same turn. Awaiting it
    // let the connection whose reply had just made room look for a message to pipeline before
    // this one was queued, and ~5 % of messages paid an extra round trip.
    if (!(variant instanceof Promise)) return sendVariant(d, variant);
    return variant.then(
      (prepared) => sendVariant(d, prepared),
      (err: unknown) => {
        settle({ subscriberId: d.subscriberId, kind: 'released' });
        throw err;
      },
    );
  };

  const sendVariant = (d: ClaimedDelivery, prepared: PreparedMessage | null): void => {
    if (!prepared) {
      result.skipped++;
      return settle({ subscriberId: d.subscriberId, kind: 'skipped', reply: 'no paper of the day matches their keywords' });
    }
    const messageId = digestMessageId(run.digestDate, d.subscriberId, deps.message.domain);
    const message = renderMessage(prepared, { to: d.email, messageId, date: clock.now(), ...deps.links(d.subscriberId) });
    started++;
    inFlight++;
    deps.mailer.sendPrebuilt(message).then(
      (info) =>
        answer(() => {
          connectionRounds = 0;
          result.sent++;
          budget.add(false);
          settle({ subscriberId: d.subscriberId, kind: 'sent', reply: info.response, messageId });
        }),
      (err: unknown) => answer(() => onReply(d, err)),
    );
  };

  try {
    await loop();
  } finally {
    // Stopping, or an error (a template that fails to compile): finish what is in flight, record
    // it, and hand back what was claimed but never started.
    await drain();
    for (const d of queue) settle({ subscriberId: d.subscriberId, kind: 'released' });
    flush();
  }
  if (replyError) throw replyError;
  return stop!; // the loop only ends through halt()

  async function loop(): Promise<void> {
    while (!stop) {
      if (replyError) throw replyError;
      if (signal.aborted) {
        halt({ status: 'incomplete', reason: `stopped: ${(signal.reason as Error)?.message ?? 'signal'}` });
        break;
      }
      if (opts.limit !== undefined && started >= opts.limit) {
        halt({ status: 'incomplete', reason: `limit of ${opts.limit} messages reached` });
        break;
      }
      if (connectionError) {
        // Let the window drain (its messages are failing the same way), then wait and try again.
        await drain();
        flush();
        if (++connectionRounds > policy.connectionRetries) {
          halt({ status: 'failed', reason: `SMTP server unreachable after ${connectionRounds} attempts: ${connectionError}` });
          break;
        }
        log.warn({ error: connectionError, round: connectionRounds }, 'SMTP server unreachable: waiting before trying again');
        connectionError = undefined;
        await sleep(retryDelayMs(connectionRounds, policy.retryBaseMs), signal);
        continue;
      }
      if (inFlight >= policy.maxInFlight) {
        await answered();
        continue;
      }
      if (!queue.length) {
        flush();
        queue = ledger.claim(clock.now(), policy.batchSize);
        if (!queue.length) {
          if (inFlight) {
            await answered();
            continue;
          }
          flush();
          if (runs.byId(run.id).enqueueDone && runs.pendingCount(run.id) === 0) return halt({ status: 'done' });
          // Only deferred deliveries are left: wait until the first falls due.
          const due = runs.nextDue(run.id);
          const wait = due ? Date.parse(due) - clock.now().getTime() : policy.retryBaseMs;
          await sleep(Math.max(10, wait), signal);
          continue;
        }
      }
      const compiling = send(queue.shift()!);
      if (compiling) await compiling;
    }
  }
}

/**
 * The day's full ranking as frozen for the run: the first freeze wins, so a resumed run (or a
 * second sender) sends exactly what the first recipients got. Before the first freeze the day
 * is refreshed from the source (upvotes move all day); a source that is down is an error here.
 * `save: false` (previews, test copies) ranks without freezing.
 */
export async function frozenRanking(deps: Pick<SendDigestDeps, 'digests' | 'refreshDay'>, date: string, o: { save: boolean; stop?: AbortSignal }): Promise<Paper[]> {
  const frozen = deps.digests.get(date);
  if (frozen) return frozen.papers;
  const all = await deps.refreshDay(date, o.stop);
  const ranked = all.length ? rankPapers(all, { size: all.length }) : [];
  // An empty day is not frozen: if the source was merely late, a later run can still send it.
  if (!ranked.length || !o.save) return ranked;
  deps.digests.save(date, ranked);
  return deps.digests.get(date)!.papers;
}

/**
 * One compiled, encoded message per digest variant. A variant is the list of papers a subscriber
 * gets; preferences that rank to the same list share it, so MJML runs once per distinct list.
 * A variant is a promise while it compiles and the message itself once compiled, so a send can
 * go out without waiting a turn. Both maps are bounded (least recently used goes first):
 * keywords are free text, and a million subscribers could in principle hold a million different ones.
 */
export function variantCache(papers: Paper[], build: (ranked: Paper[]) => Promise<PreparedMessage>, capacity = 500) {
  /** Preferences → the ids of the papers they rank to ('' when none matches). */
  const listFor = new Map<string, string>();
  /** Paper ids → the variant's message. */
  const variants = new Map<string, PreparedMessage | Promise<PreparedMessage>>();
  const remember = <V>(map: Map<string, V>, key: string, value: V) => {
    map.delete(key);
    map.set(key, value);
    if (map.size > capacity) map.delete(map.keys().next().value!);
    return value;
  };
  return (digestSize: number, keywords: string): PreparedMessage | null | Promise<PreparedMessage> => {
    const preferences = `${digestSize}|${keywords}`;
    const rank = () => rankPapers(papers, { size: digestSize, keywords: parseKeywords(keywords) });
    let ranked: Paper[] | undefined;
    const ids = remember(listFor, preferences, listFor.get(preferences) ?? (ranked = rank()).map((p) => p.id).join(' '));
    if (!ids) return null;
    const known = variants.get(ids);
    if (known !== undefined) return remember(variants, ids, known);
    const compiling: Promise<PreparedMessage> = build(ranked ?? rank()).then((message) => {
      if (variants.get(ids) === compiling) variants.set(ids, message);
      return message;
    });
    return remember(variants, ids, compiling);
  };
}

/**
 * The same for every attempt at the same delivery, so a re-sent copy is recognisably the same
 * message (see the in-flight policy above).
 */
export const digestMessageId = (date: string, subscriberId: number, domain: string) => `digest.${date}.${subscriberId}@${domain}`;

/**
 * Who would get the digest now, per variant. The subscriber walk stays synchronous (an open
 * better-sqlite3 iterator holds the connection); each distinct list is compiled afterwards, once,
 * so a template problem shows up here too.
 */
async function dryRun(deps: SendDigestDeps, date: string): Promise<SendDigestResult> {
  const started = performance.now();
  const papers = await frozenRanking(deps, date, { save: false });
  const variants = new Map<string, { digestSize: number; keywords: string; papers: number; recipients: number }>();
  const lists = new Map<string, Paper[]>();
  let recipients = 0;
  for (const s of deps.runs.audience()) {
    const key = `${s.digestSize}|${s.keywords}`;
    let v = variants.get(key);
    if (!v) {
      const ranked = papers.length ? rankPapers(papers, { size: s.digestSize, keywords: parseKeywords(s.keywords) }) : [];
      if (ranked.length) lists.set(ranked.map((p) => p.id).join(' '), ranked);
      v = { digestSize: s.digestSize, keywords: s.keywords, papers: ranked.length, recipients: 0 };
      variants.set(key, v);
    }
    if (v.papers) {
      v.recipients++;
      recipients++;
    }
  }
  for (const ranked of lists.values()) await deps.compileDigest({ date, papers: ranked });
  return {
    outcome: papers.length ? 'dry-run' : 'empty',
    date,
    sent: 0,
    failed: 0,
    skipped: 0,
    deferred: 0,
    resumedInFlight: 0,
    recipients,
    variants: [...variants.values()].sort((a, b) => b.recipients - a.recipients),
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * The digest of a date as a subscriber with default preferences gets it, links filled for
 * `subscriberId` (0, a subscriber that doesn't exist, for a preview). Nothing is frozen or sent;
 * null when the day has no papers.
 */
export async function renderDigest(
  deps: Pick<SendDigestDeps, 'digests' | 'refreshDay' | 'compileDigest' | 'links'>,
  o: { date: string; digestSize: number; subscriberId?: number },
): Promise<Rendered | null> {
  const papers = rankPapers(await frozenRanking(deps, o.date, { save: false }), { size: o.digestSize });
  if (!papers.length) return null;
  return personalise(await deps.compileDigest({ date: o.date, papers }), deps.links(o.subscriberId ?? 0));
}

/**
 * One copy to one address, outside any run (for checking what subscribers will get): the same
 * fast-path message, with the links of the subscriber of that address when there is one.
 */
export async function sendTestCopy(
  deps: SendDigestDeps,
  o: { date: string; to: string; digestSize: number; subscriberId?: number | undefined },
): Promise<{ messageId: string; response: string } | null> {
  const papers = rankPapers(await frozenRanking(deps, o.date, { save: false }), { size: o.digestSize });
  if (!papers.length) return null;
  const prepared = prepareMessage(await deps.compileDigest({ date: o.date, papers }), deps.message);
  const messageId = `test.${o.date}.${randomBytes(6).toString('hex')}@${deps.message.domain}`;
  const info = await deps.mailer.sendPrebuilt(renderMessage(prepared, { to: o.to, messageId, date: deps.clock.now(), ...deps.links(o.subscriberId ?? 0) }));
  return { messageId, response: info.response };
}

/** The domain of MAIL_FROM: our Message-IDs and List-Id live on it. */
export function senderDomain(mailFrom: string): string {
  const address = addressparser(mailFrom, { flatten: true })[0]?.address ?? '';
  const domain = address.split('@')[1];
  if (!domain) throw new Error(`MAIL_FROM has no domain: ${JSON.stringify(mailFrom)}`);
  return domain.toLowerCase();
}

export function sendPolicyFromConfig(c: Config): SendPolicy {
  return {
    batchSize: c.SEND_BATCH_SIZE,
    // Two per pooled connection keeps every connection busy (one being answered, one pipelined).
    maxInFlight: c.SMTP_POOL_SIZE * 2,
    // Bounds the crash window (see the header); larger batches cost fewer commits per message.
    recordBatch: c.SMTP_POOL_SIZE * 4,
    maxAttempts: c.SEND_MAX_ATTEMPTS,
    retryBaseMs: c.SEND_RETRY_BASE_MS,
    connectionRetries: 3,
    errorBudget: defaultErrorBudget(c.SEND_ERROR_BUDGET),
    leaseMs: c.SEND_LEASE_SECONDS * 1000,
  };
}

/** The sender wired to the application's context; templates are loaded unless given. */
export async function sendDigestDeps(ctx: Context, loaded?: Templates): Promise<SendDigestDeps> {
  const c = ctx.config;
  const templates = loaded ?? (await loadTemplates({ publicUrl: c.PUBLIC_URL, postalAddress: c.MAIL_POSTAL_ADDRESS }));
  const domain = senderDomain(c.MAIL_FROM);
  return {
    runs: ctx.runs,
    digests: ctx.digests,
    async refreshDay(date, stop) {
      await ingestDay({ source: ctx.paperSource, papers: ctx.papers, logger: ctx.logger }, date, stop);
      return ctx.papers.forDay(date);
    },
    compileDigest: (d) => templates.compileDigest(d),
    mailer: ctx.mailer,
    clock: ctx.clock,
    logger: ctx.logger,
    links: (id) => subscriberLinks(c.PUBLIC_URL, ctx.secret, id),
    message: { from: c.MAIL_FROM, listId: `"Paperboy daily digest" <daily.${domain}>`, unsubscribeMailto: c.MAIL_UNSUBSCRIBE_MAILTO, domain },
    policy: sendPolicyFromConfig(c),
  };
}
