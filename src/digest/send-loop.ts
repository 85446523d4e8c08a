import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { CompiledDigest } from '../mail/templates.ts';
import type { Cadence } from '../domain/subscriber-input.ts';
import { prepareMessage, renderMessage, type MessageSettings, type PreparedMessage } from '../mail/raw-message.ts';
import { classifySmtpError, describeSmtpError, type SmtpError } from '../mail/smtp/replies.ts';
import type { Paper } from '../domain/paper.ts';
import type { ClaimedDelivery, DeliveryOutcome, SendRun } from './ledger-records.ts';
import type { LedgerStore } from './ledger-store.ts';
import { openLedgerSession } from './ledger-session.ts';
import type { Mailer } from './mailer.ts';
import {
  connectionRetryWait,
  DOMAIN_BACKOFF_AFTER,
  DomainBackoff,
  FailureWindow,
  openingLimitMs,
  retryDelayMs,
  type BackedOffDomain,
  type SendPolicy,
  type SenderRefusalCount,
} from './policy.ts';
import { variantCache } from './variants.ts';
import { feedbackIdFor, listIdFor } from '../mail/edition-names.ts';
import type { VerpIdentity } from '../bounces/verp.ts';
import type { MessageIdentity } from '../bounces/message-id.ts';
import { classifyRelayReply } from '../bounces/classify.ts';
import { recipientDomain } from '../bounces/domains.ts';
import type { BounceDecision, FailureDecision } from '../bounces/report-types.ts';

/**
 * The send loop: claim a batch from the ledger, hand each message to the mailer within a bounded
 * window, record the replies in batches. It owns two small interfaces: the ledger (store and
 * session) and the Mailer (mailer.ts). Why the window and the batches are what they are: run.ts.
 */

export interface SendLoopDeps {
  ledger: LedgerStore;
  /** The run's digests: each paper's card filled once, every variant assembled (templates.ts). */
  digestAssembler(date: string, cadence: Cadence): (papers: Paper[]) => Promise<CompiledDigest>;
  mailer: Pick<Mailer, 'sendPrebuilt'> & Partial<Pick<Mailer, 'where'>>;
  clock: Clock;
  /** A reader's personal links, and their own unsubscribe address when Paperboy reads one. */
  links(subscriberId: number): { unsubscribeUrl: string; preferencesUrl: string; unsubscribeMailto?: string };
  /** The signed VERP envelope sender naming one subscriber (and run): a bounce to it names them. */
  bounceAddress(who: VerpIdentity): string;
  /** The signed Message-ID of one message (src/bounces/message-id.ts): a complaint quoting it names its reader. */
  messageId(who: MessageIdentity): string;
  /** From, mailto, the domain our Message-IDs and List-Ids are on, and the one Feedback-IDs name (the DKIM domain). */
  message: Omit<MessageSettings, 'listId' | 'feedbackId'> & { domain: string; feedbackDomain: string };
  policy: SendPolicy;
  /**
   * Records the relay's final answer refusing one recipient as a bounce event (source `smtp:send`),
   * through the same policy as a report: a 5.1.1 suppresses, a refusal about the sender does not.
   */
  recordRefusal(r: RelayRefusal): void;
}

/** The relay refused one recipient of a run for good (at RCPT TO or after DATA), as the bounce classifier reads it. */
export interface RelayRefusal {
  subscriberId: number;
  email: string;
  digestDate: string;
  /** The same for every reading of this delivery's refusal: one event per delivery. */
  reportKey: string;
  decision: BounceDecision;
  reason: string;
  status?: string | undefined;
  /** The relay's reply, on one line. */
  reply: string;
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

/** This invocation's counts, as the loop moves them. */
export interface SendCounts {
  sent: number;
  failed: number;
  skipped: number;
  deferred: number;
  /** Set when the send ends: final refusals about the sender, per receiving domain and reason. */
  senderRefusals?: SenderRefusalCount[];
  /** Set when the send ends: the domains backed off, whose deliveries wait for the next attempt. */
  backedOff?: BackedOffDomain[];
}

/** The longest a reply waits for its ledger write when fewer than `recordBatch` are pending. */
const RECORD_DELAY_MS = 20;

export type Stop = { status: 'done' } | { status: 'incomplete' | 'paused' | 'failed'; reason: string };

/** The send loop: claim a batch, send with a bounded window, record replies in batches. */
export async function deliver(
  deps: SendLoopDeps,
  run: SendRun,
  papers: Paper[],
  opts: { limit?: number | undefined; onProgress?: ((p: SendProgress) => void) | undefined },
  signal: AbortSignal,
  result: SendCounts,
  log: Logger,
): Promise<Stop> {
  const { ledger, clock, policy } = deps;
  const session = openLedgerSession(ledger, run.id, { checksPerReading: policy.maxInFlight });
  // Abortable: a signal ends the wait at once (the loop then sees it and stops).
  const sleep = (ms: number, s: AbortSignal) => delay(ms, undefined, { signal: s }).catch(() => undefined);
  const assemble = deps.digestAssembler(run.digestDate, run.cadence);
  const settings = {
    ...deps.message,
    listId: listIdFor(run.cadence, deps.message.domain),
    feedbackId: feedbackIdFor(run.cadence, run.digestDate, deps.message.feedbackDomain),
  };
  const variantFor = variantCache(papers, async (ranked) => prepareMessage(await assemble(ranked), settings));
  const budget = new FailureWindow(policy.errorBudget);
  const backoff = new DomainBackoff();
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
  let connectionError: ConnectionTrouble | undefined;
  let connectionRounds = 0;
  const startedAt = performance.now();

  const before = run.sent + run.failed + run.skipped;
  const total = before + ledger.pendingCount(run.id) + ledger.remainingAudience(run.id);
  const progress = () =>
    opts.onProgress?.({
      date: run.digestDate,
      done: before + result.sent + result.failed + result.skipped,
      total,
      sent: result.sent,
      failed: result.failed,
      skipped: result.skipped,
    });

  const flush = () => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (!outcomes.length) return;
    session.record(outcomes, clock.now());
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
      const e = err as Partial<SmtpError>;
      // The round's first error that says what the server did speaks for the round.
      if (!connectionError?.serverDid)
        connectionError = { reply, code: e.originalCode ?? e.code ?? 'error', serverDid: e.serverDid };
      return settle({ subscriberId: d.subscriberId, kind: 'released', reply });
    }
    connectionRounds = 0;
    const judged = judgeReply(err);
    // The relay refusing us (at MAIL FROM or AUTH, or refusing to relay at all) refuses everyone.
    if (kind === 'policy' || judged?.reason === 'relay-denied') {
      halt({ status: 'paused', reason: `SMTP policy rejection (our sending setup, not the recipient): ${reply}` });
      return settle({ subscriberId: d.subscriberId, kind: 'released', reply });
    }
    const final = !(kind === 'transient' && d.attempts < policy.maxAttempts);
    const domain = recipientDomain(d.email);
    if (judged?.decision === 'sender' && backoff.refused(domain, judged.reason, final))
      log.warn(
        { domain, reason: judged.reason, reply },
        `${domain} refused ${DOMAIN_BACKOFF_AFTER} deliveries in a row for the sender's reasons: backed off, its other deliveries wait for the next attempt`,
      );
    if (!final) {
      result.deferred++;
      const nextAttemptAt = new Date(
        clock.now().getTime() + retryDelayMs(d.attempts, policy.retryBaseMs),
      ).toISOString();
      return settle({ subscriberId: d.subscriberId, kind: 'deferred', reply, nextAttemptAt });
    }
    result.failed++;
    // A refusal about the sender says nothing about the list: the domain's own row watches those.
    if (judged?.decision !== 'sender') budget.add(true);
    const spent = budget.exceeded();
    if (spent) halt({ status: 'paused', reason: `error budget spent: ${spent}; last reply: ${reply}` });
    if (judged) deps.recordRefusal(relayRefusal(run, d, judged, reply));
    settle({ subscriberId: d.subscriberId, kind: 'failed', reply });
  };

  /** Hands one claimed delivery to the mailer; a promise only while its variant compiles. */
  const send = (d: ClaimedDelivery): Promise<void> | void => {
    // Checked right before sending: an unsubscribe that landed after the batch was claimed counts.
    const status = session.statusNow(d.subscriberId);
    if (status !== 'confirmed') {
      result.skipped++;
      return settle({ subscriberId: d.subscriberId, kind: 'skipped', reply: `subscriber is ${status ?? 'gone'}` });
    }
    if (backoff.holds(recipientDomain(d.email)))
      return settle({ subscriberId: d.subscriberId, kind: 'released', reply: 'held back: its domain refused us' });
    const variant = variantFor(d.digestSize, d.keywords);
    // Compiled already, as for nearly every message: handed over in this same turn. Awaiting it
    // let the connection whose reply had just made room look for a message to pipeline before
    // this one was queued, and a share of messages paid an extra round trip.
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
      return settle({
        subscriberId: d.subscriberId,
        kind: 'skipped',
        reply: `no paper of the ${run.cadence === 'weekly' ? 'week' : 'day'} matches their keywords`,
      });
    }
    const messageId = deps.messageId({ edition: digestEdition(run.cadence), date: run.digestDate, id: d.subscriberId });
    const envelopeFrom = deps.bounceAddress({ subscriberId: d.subscriberId, runDate: run.digestDate });
    const message = renderMessage(prepared, {
      to: d.email,
      messageId,
      date: clock.now(),
      envelopeFrom,
      ...deps.links(d.subscriberId),
    });
    started++;
    inFlight++;
    const limitMs = openingLimitMs(policy, { elapsedMs: performance.now() - startedAt, delivered: result.sent > 0 });
    deps.mailer.sendPrebuilt(message, limitMs === undefined ? undefined : AbortSignal.timeout(limitMs)).then(
      (info) =>
        answer(() => {
          connectionRounds = 0;
          result.sent++;
          budget.add(false);
          backoff.delivered(recipientDomain(d.email));
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
    Object.assign(result, { senderRefusals: backoff.refusals(), backedOff: backoff.backedOff() });
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
        const elapsedMs = performance.now() - startedAt;
        const wait = connectionRetryWait(++connectionRounds, policy, { elapsedMs, delivered: result.sent > 0 });
        const where = deps.mailer.where ? ` ${deps.mailer.where}` : '';
        const what = troubleInWords(connectionError);
        if (wait === null) {
          const attempts = `${connectionRounds} attempt${connectionRounds === 1 ? '' : 's'}`;
          const detail = connectionError.serverDid ? '' : `: ${connectionError.reply}`;
          halt({
            status: 'failed',
            reason: `SMTP server${where} ${what}: gave up after ${attempts} in ${Math.round(elapsedMs / 1000)} s${detail}`,
          });
          break;
        }
        const seconds = wait >= 10_000 ? Math.round(wait / 1000) : Math.round(wait / 100) / 10;
        log.warn(
          {
            smtp: deps.mailer.where,
            error: connectionError.reply,
            retry: connectionRounds,
            of: policy.connectionRetries,
            waitMs: wait,
          },
          `SMTP${where} ${what}; retry ${connectionRounds} of ${policy.connectionRetries} in ${seconds} s`,
        );
        connectionError = undefined;
        await sleep(wait, signal);
        continue;
      }
      if (inFlight >= policy.maxInFlight) {
        await answered();
        continue;
      }
      if (!queue.length) {
        flush();
        const held = backoff.domains();
        queue = session.claim(clock.now(), policy.batchSize, held);
        if (!queue.length) {
          if (inFlight) {
            await answered();
            continue;
          }
          flush();
          if (ledger.byId(run.id).enqueueDone && ledger.pendingCount(run.id, held) === 0)
            return halt(held.length ? heldBack(backoff, ledger.pendingCount(run.id)) : { status: 'done' });
          // Only deferred deliveries are left: wait until the first falls due.
          const due = ledger.nextDue(run.id, held);
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

type JudgedReply = FailureDecision & { status?: string };

/** What the relay's reply to one message says, when it said anything: read by the bounce classifier. */
function judgeReply(err: unknown): JudgedReply | undefined {
  const e = err as Partial<SmtpError>;
  return typeof e.responseCode === 'number' && e.response ? classifyRelayReply(e.response, e.command) : undefined;
}

/** A delivery's final refusal, for the bounce policy: one event per delivery of the run. */
const relayRefusal = (run: SendRun, d: ClaimedDelivery, judged: JudgedReply, reply: string): RelayRefusal => ({
  subscriberId: d.subscriberId,
  email: d.email,
  digestDate: run.digestDate,
  reportKey: `smtp:send:${run.id}:${d.subscriberId}`,
  decision: judged.decision,
  reason: judged.reason,
  status: judged.status,
  reply,
});

/**
 * Everything else went out; what is left is for domains that refused us too often in a row. The run
 * is failed, so the next attempt (the scheduler's retry, or send-now) tries them again, later.
 */
function heldBack(backoff: DomainBackoff, waiting: number): Stop {
  const domains = backoff.backedOff().map((o) => `${o.domain} (${o.reason})`);
  return {
    status: 'failed',
    reason: `${domains.join(', ')} refused ${DOMAIN_BACKOFF_AFTER} deliveries in a row for the sender's reasons: backed off; ${waiting} of their deliveries wait for the next attempt`,
  };
}

/** A round of connection failures: the reply recorded, the error's code, what the server did (when known). */
interface ConnectionTrouble {
  reply: string;
  code: string;
  serverDid: string | undefined;
}

/** "refused the connection (ECONNREFUSED)", "accepted the connection but never greeted (ETIMEDOUT)", … */
const troubleInWords = (t: ConnectionTrouble) => `${t.serverDid ?? 'unreachable'} (${t.code})`;

/**
 * The edition a digest's Message-ID names. The id is the same for every attempt at the same
 * delivery, so a re-sent copy is recognisably the same message (see the in-flight policy in run.ts).
 */
export const digestEdition = (cadence: Cadence) => (cadence === 'weekly' ? 'weekly' : 'digest');
