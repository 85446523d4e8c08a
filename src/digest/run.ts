import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { Paper } from '../model/paper.ts';
import { droppedPaperLinks } from '../domain/paper-links.ts';
import type { Cadence } from '../model/cadence.ts';
import { deliver, type SendCounts, type SendProgress, type Stop } from './send-loop.ts';
import { frozenRanking } from './variants.ts';
import type { SendDigestDeps, SendDigestResult, SendOutcome } from './run-types.ts';
import { sliceAhead, type RunSlice } from './ledger-records.ts';
import { dryRun } from './preview.ts';
import { emptyDayFinalAt } from './policy.ts';

/**
 * The digest send: every confirmed subscriber of a cadence gets the edition of a date once
 * (the daily digest of a day, or the weekly one of the week ending on it).
 *
 * Exactly once, through crashes: a run per date and a delivery row per (run, subscriber) in
 * SQLite. Deliveries are claimed in batches (the run's cursor moves; a retry's row goes to
 * 'sending'), and an outcome is written within 20 ms of the server's reply, in one transaction
 * with the replies around it; a first attempt's row is written then, once (see ledger-session.ts).
 *
 * In-flight policy. A claimed delivery without an outcome when its sender died may or may not
 * have reached the SMTP server, and nothing in SMTP can tell us which. On resume it is sent
 * again: a subscriber may get at most one duplicate, and only the messages in the window at the
 * moment of the crash can be duplicated: those awaiting the server's reply (≤ `maxInFlight`,
 * 2 × the SMTP pool) and those whose reply had arrived but was not yet written (≤ `recordBatch`,
 * 4 × the pool) — at most 6 × SMTP_POOL_SIZE messages (30 by default), never a claim batch.
 * Replies are written in batches because a commit blocks the event loop for far longer than a
 * message's own writes and reads, whatever it holds (WAL frames, page writes); shared by a batch
 * it costs little per message (docs/architecture.md, what the hot paths cost). A reply waits at
 * most 20 ms for its batch. A
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

export interface SendDigestOptions {
  /** The day of a daily digest, or the last day (a Sunday) of a weekly edition's week. */
  date: string;
  /** Which edition; daily when not given. Each has its own run and its own subscribers. */
  cadence?: Cadence;
  /**
   * A slice of the run (DELIVERY_MODE=local): only readers of its groups confirmed before its
   * cut-off. Begun on the run when it is ahead of the slice begun last; without one, the run's own.
   */
  slice?: RunSlice;
  /** Send at most this many messages now; the run stays open for the rest. */
  limit?: number;
  /** Rank, render and count who would get it; no run, no email. */
  dryRun?: boolean;
  onProgress?: (p: SendProgress) => void;
  /** Aborting stops taking work; in-flight messages finish and are recorded. */
  signal?: AbortSignal;
}

export async function sendDigest(deps: SendDigestDeps, opts: SendDigestOptions): Promise<SendDigestResult> {
  const cadence = opts.cadence ?? 'daily';
  if (opts.dryRun) return dryRun(deps, opts.date, cadence);
  const started = performance.now();
  const { ledger, clock, logger } = deps;
  const log = logger.child({ digestDate: opts.date, cadence });
  const result: SendDigestResult = {
    outcome: 'done',
    date: opts.date,
    cadence,
    sent: 0,
    failed: 0,
    skipped: 0,
    deferred: 0,
    resumedInFlight: 0,
    durationMs: 0,
  };
  const finishWith = ({ outcome, reason }: Ending) => finish(deps, result, started, outcome, reason);

  const { slice } = opts;
  let run = ledger.open(opts.date, slice?.at ?? clock.now(), cadence, slice?.groups ?? null);
  if (run.status === 'done' && !(slice && sliceAhead(run, slice)))
    return finishWith({ outcome: 'done', reason: 'already sent' });
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  if (!ledger.takeLease(run.id, owner, clock.now(), deps.policy.leaseMs)) {
    run = ledger.byId(run.id);
    const reason = `another sender (${run.leaseOwner}) holds this run until ${run.leaseExpiresAt}`;
    return finishWith({ outcome: 'busy', reason });
  }
  if (slice) ledger.moveSlice(run.id, slice.at, slice.groups, clock.now());
  const lease = keepLease(deps, run.id, owner);
  const signal = opts.signal ? AbortSignal.any([opts.signal, lease.lost]) : lease.lost;
  try {
    return finishWith(await sendLeasedRun(deps, run.id, { ...opts, cadence }, signal, result, log));
  } catch (err) {
    ledger.setStatus(run.id, 'failed', clock.now(), (err as Error).message);
    throw err;
  } finally {
    lease.release();
  }
}

/** How an invocation ended, and why when it did not end 'done'. */
interface Ending {
  outcome: SendOutcome;
  reason?: string | undefined;
}

/** Completes the result: the outcome, the time taken, and the run's totals after this invocation. */
function finish(
  deps: SendDigestDeps,
  result: SendDigestResult,
  started: number,
  outcome: SendOutcome,
  reason?: string,
): SendDigestResult {
  const run = deps.ledger.byDate(result.date, result.cadence);
  Object.assign(result, { outcome, durationMs: Math.round(performance.now() - started) }, reason ? { reason } : {});
  if (run)
    result.run = {
      status: run.status,
      sent: run.sent,
      failed: run.failed,
      skipped: run.skipped,
      startedAt: run.startedAt,
    };
  return result;
}

/**
 * Renews the run's lease while sending. Losing it (this process stalled past its expiry and
 * someone took over) aborts `lost`, which stops the send.
 */
function keepLease(deps: SendDigestDeps, runId: number, owner: string) {
  const { ledger, clock, policy } = deps;
  const lost = new AbortController();
  const renew = setInterval(
    () => {
      if (!ledger.renewLease(runId, owner, clock.now(), policy.leaseMs))
        lost.abort(new Error('lost the lease on this run'));
    },
    Math.max(50, policy.leaseMs / 3),
  );
  renew.unref();
  return {
    lost: lost.signal,
    release(): void {
      clearInterval(renew);
      ledger.releaseLease(runId, owner, clock.now());
    },
  };
}

/** Sends a run whose lease this process holds: resumes it, freezes its papers, delivers, records how it stopped. */
async function sendLeasedRun(
  deps: SendDigestDeps,
  runId: number,
  opts: SendDigestOptions & { cadence: Cadence },
  signal: AbortSignal,
  result: SendDigestResult,
  log: Logger,
): Promise<Ending> {
  const { ledger, clock } = deps;
  result.resumedInFlight = ledger.resume(runId, clock.now());
  if (result.resumedInFlight)
    log.warn(
      { count: result.resumedInFlight },
      'resuming a run cut off mid-send: deliveries the previous sender had claimed are queued again (those it had in flight may arrive twice)',
    );
  ledger.setStatus(runId, 'running', clock.now());
  const papers = await papersOfRun(deps, runId, opts.date, opts.cadence, signal, log);
  if (!Array.isArray(papers)) return papers;
  logDroppedLinks(papers, log);
  const stop = await deliver(deps, ledger.byId(runId), papers, opts, signal, result, log);
  return recordStop(deps, runId, stop, result, log);
}

/** The run's frozen ranking; or how the run ends when there is none to send (source down, an empty day). */
async function papersOfRun(
  deps: SendDigestDeps,
  runId: number,
  date: string,
  cadence: Cadence,
  signal: AbortSignal,
  log: Logger,
): Promise<Paper[] | Ending> {
  const { ledger, clock } = deps;
  let papers: Paper[];
  try {
    papers = await frozenRanking(deps, date, { save: true, stop: signal, cadence });
  } catch (err) {
    if (signal.aborted) return { outcome: 'incomplete', reason: 'stopped while fetching the papers' };
    const reason = `papers for ${date} unavailable: ${(err as Error).message}`;
    ledger.setStatus(runId, 'failed', clock.now(), reason);
    log.error({ err }, 'digest run failed: paper source unavailable; the next attempt retries');
    return { outcome: 'failed', reason };
  }
  return papers.length ? papers : endEmptyDay(deps, runId, date, log);
}

/** No papers: final for a weekend or a weekday long over; a recent weekday's feed may still fill. */
function endEmptyDay(deps: SendDigestDeps, runId: number, date: string, log: Logger): Ending {
  const { ledger, clock } = deps;
  const finalAt = emptyDayFinalAt(date);
  if (finalAt && clock.now() < finalAt) {
    const reason = `no papers for ${date} yet: a weekday the feed may not have filled; not taken as empty before ${finalAt.toISOString()}`;
    ledger.setStatus(runId, 'failed', clock.now(), reason);
    log.warn(
      { until: finalAt.toISOString() },
      'no papers yet for this weekday: the run is failed and will be tried again',
    );
    return { outcome: 'failed', reason };
  }
  ledger.setStatus(runId, 'empty', clock.now());
  log.info('no papers for this edition: nothing sent');
  return { outcome: 'empty' };
}

/** Records on the run why the send loop stopped. */
function recordStop(deps: SendDigestDeps, runId: number, stop: Stop, result: SendCounts, log: Logger): Ending {
  const { ledger, clock } = deps;
  if (stop.status === 'paused' || stop.status === 'failed') {
    ledger.setStatus(runId, stop.status, clock.now(), stop.reason);
    log.error({ reason: stop.reason }, `digest run ${stop.status}`);
    return { outcome: stop.status, reason: stop.reason };
  }
  if (stop.status === 'done') {
    ledger.setStatus(runId, 'done', clock.now());
    log.info({ sent: result.sent, failed: result.failed, skipped: result.skipped }, 'digest run done');
    return { outcome: 'done' };
  }
  ledger.setStatus(runId, 'running', clock.now(), stop.reason);
  return { outcome: 'incomplete', reason: stop.reason };
}

/** Each link the emails of this edition leave out (domain/paper-links.ts): the paper itself is sent without it. */
function logDroppedLinks(papers: Paper[], log: Logger): void {
  for (const p of papers)
    for (const d of droppedPaperLinks(p))
      log.warn(
        { paper: p.id, title: p.title, link: d.field, url: d.url, reason: d.reason },
        'a link from the paper data is left out of the digest',
      );
}
