import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { CompiledDigest } from '../mail/templates.ts';
import type { Cadence } from '../model/cadence.ts';
import { prepareMessage, renderMessage, type MessageSettings, type PreparedMessage } from '../mail/raw-message.ts';
import { classifySmtpError, describeSmtpError, type SmtpError } from '../mail/smtp/replies.ts';
import type { Paper } from '../model/paper.ts';
import type { ClaimedDelivery, DeliveryOutcome, SendRun } from './ledger-records.ts';
import type { LedgerStore } from './ledger-store.ts';
import { openLedgerSession, type LedgerSession } from './ledger-session.ts';
import type { Mailer } from '../mail/mailer.ts';
import {
  connectionRetryWait,
  DOMAIN_BACKOFF_AFTER,
  DomainBackoff,
  FailureWindow,
  openingLimitMs,
  type BackedOffDomain,
  type SendPolicy,
  type SenderRefusalCount,
} from './policy.ts';
import { retryDelayMs } from '../retry.ts';
import { variantCache } from './variants.ts';
import { feedbackIdFor, listIdFor } from '../mail/edition-names.ts';
import type { VerpIdentity } from '../bounces/verp.ts';
import type { MessageIdentity } from '../bounces/message-id.ts';
import { classifyRelayReply } from '../bounces/classify/classify.ts';
import { recipientDomain } from '../bounces/domains.ts';
import type { BounceDecision, FailureDecision } from '../bounces/classify/report-types.ts';

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
  messageSettings: Omit<MessageSettings, 'listId' | 'feedbackId'> & { domain: string; feedbackDomain: string };
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

type SendOptions = { limit?: number | undefined; onProgress?: ((p: SendProgress) => void) | undefined };

/** The send loop: claim a batch, send with a bounded window, record replies in batches. */
export async function deliver(
  deps: SendLoopDeps,
  run: SendRun,
  papers: Paper[],
  opts: SendOptions,
  signal: AbortSignal,
  result: SendCounts,
  log: Logger,
): Promise<Stop> {
  return new SendLoop(deps, run, papers, opts, signal, result, log).deliver();
}

/**
 * Messages handed to the mailer and not answered yet. The loop waits for "one more answered"
 * through a single waker: Promise.race over the window would hang a reaction on every in-flight
 * promise at each wait.
 */
class InFlightWindow {
  size = 0;
  private wake: (() => void) | null = null;
  // A ledger write that failed while handling a reply: the loop rethrows it.
  private failure: unknown = null;

  /** Counts one sending message until its reply has been handled by `onSent` or `onFailed`. */
  track<T>(sending: Promise<T>, onSent: (value: T) => void, onFailed: (err: unknown) => void): void {
    this.size++;
    sending.then(
      (value) => this.answer(() => onSent(value)),
      (err: unknown) => this.answer(() => onFailed(err)),
    );
  }

  /** Resolves once the next reply has been handled. */
  nextReply(): Promise<void> {
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  /** Resolves once every message in flight has been answered. */
  async drain(): Promise<void> {
    while (this.size) await this.nextReply();
  }

  rethrow(): void {
    if (this.failure) throw this.failure;
  }

  /** Handles one reply, then lets the loop know a place in the window is free. */
  private answer(handle: () => void): void {
    try {
      handle();
    } catch (err) {
      this.failure ??= err;
    }
    this.size--;
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

/** Outcomes waiting for their ledger write: written `batch` at a time, or after RECORD_DELAY_MS. */
class OutcomeBatch {
  private session: LedgerSession;
  private clock: Clock;
  private batch: number;
  private written: () => void;
  private outcomes: DeliveryOutcome[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(session: LedgerSession, clock: Clock, batch: number, written: () => void) {
    this.session = session;
    this.clock = clock;
    this.batch = batch;
    this.written = written;
  }

  settle(o: DeliveryOutcome): void {
    this.outcomes.push(o);
    if (this.outcomes.length >= this.batch) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), RECORD_DELAY_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.outcomes.length) return;
    this.session.record(this.outcomes, this.clock.now());
    this.outcomes = [];
    this.written();
  }
}

/** A round of connection failures: the reply recorded, the error's code, what the server did (when known). */
interface ConnectionTrouble {
  reply: string;
  code: string;
  serverDid: string | undefined;
}

/** One invocation of the send loop over one run; each method is one step of it. */
class SendLoop {
  private deps: SendLoopDeps;
  private run: SendRun;
  private opts: SendOptions;
  private signal: AbortSignal;
  private result: SendCounts;
  private log: Logger;
  private session: LedgerSession;
  private variantFor: ReturnType<typeof variantCache>;
  private budget: FailureWindow;
  private backoff = new DomainBackoff();
  private window = new InFlightWindow();
  private outcomes: OutcomeBatch;
  private queue: ClaimedDelivery[] = [];
  private started = 0;
  private stop: Stop | undefined;
  // Connection trouble is handled per round, not per message: the window's worth of failures
  // that one outage produces counts once.
  private connectionError: ConnectionTrouble | undefined;
  private connectionRounds = 0;
  private startedAt = performance.now();
  // Deliveries settled by earlier attempts, and the run's size, for progress reports.
  private before: number;
  private total: number;

  constructor(
    deps: SendLoopDeps,
    run: SendRun,
    papers: Paper[],
    opts: SendOptions,
    signal: AbortSignal,
    result: SendCounts,
    log: Logger,
  ) {
    this.deps = deps;
    this.run = run;
    this.opts = opts;
    this.signal = signal;
    this.result = result;
    this.log = log;
    const { ledger, policy } = deps;
    this.session = openLedgerSession(ledger, run.id, { checksPerReading: policy.maxInFlight });
    this.variantFor = variantCache(papers, variantBuilder(deps, run));
    this.budget = new FailureWindow(policy.errorBudget);
    this.outcomes = new OutcomeBatch(this.session, deps.clock, policy.recordBatch, () => this.report());
    this.before = run.sent + run.failed + run.skipped;
    this.total = this.before + ledger.pendingCount(run.id) + ledger.remainingAudience(run.id);
  }

  async deliver(): Promise<Stop> {
    try {
      await this.loop();
    } finally {
      // Stopping, or an error (a template that fails to compile): finish what is in flight, record
      // it, and hand back what was claimed but never started.
      await this.window.drain();
      for (const d of this.queue) this.outcomes.settle({ subscriberId: d.subscriberId, kind: 'released' });
      this.outcomes.flush();
      Object.assign(this.result, { senderRefusals: this.backoff.refusals(), backedOff: this.backoff.backedOff() });
    }
    this.window.rethrow();
    return this.stop!; // the loop only ends through halt()
  }

  private async loop(): Promise<void> {
    while (!this.stop) {
      this.window.rethrow();
      if (this.stopRequested()) break;
      if (this.connectionError) {
        await this.retryConnection();
        continue;
      }
      if (this.window.size >= this.deps.policy.maxInFlight) {
        await this.window.nextReply();
        continue;
      }
      if (!this.queue.length && !(await this.claim())) continue;
      const compiling = this.send(this.queue.shift()!);
      if (compiling) await compiling;
    }
  }

  private halt(s: Stop): void {
    this.stop ??= s;
  }

  /** Halts for a stopping signal or the invocation's message limit; true when it did. */
  private stopRequested(): boolean {
    if (this.signal.aborted) {
      this.halt({ status: 'incomplete', reason: `stopped: ${(this.signal.reason as Error)?.message ?? 'signal'}` });
      return true;
    }
    const { limit } = this.opts;
    if (limit !== undefined && this.started >= limit) {
      this.halt({ status: 'incomplete', reason: `limit of ${limit} messages reached` });
      return true;
    }
    return false;
  }

  /** Lets the window drain (its messages are failing the same way), then waits to try again, or gives up. */
  private async retryConnection(): Promise<void> {
    const { policy, mailer } = this.deps;
    await this.window.drain();
    this.outcomes.flush();
    // Read after the drain: a later failure of the round may say better what the server did.
    const trouble = this.connectionError!;
    const elapsedMs = performance.now() - this.startedAt;
    const rounds = ++this.connectionRounds;
    const wait = connectionRetryWait(rounds, policy, { elapsedMs, delivered: this.result.sent > 0 });
    const where = mailer.where ? ` ${mailer.where}` : '';
    const what = troubleInWords(trouble);
    if (wait === null) {
      const attempts = `${rounds} attempt${rounds === 1 ? '' : 's'}`;
      const detail = trouble.serverDid ? '' : `: ${trouble.reply}`;
      const seconds = Math.round(elapsedMs / 1000);
      return this.halt({
        status: 'failed',
        reason: `SMTP server${where} ${what}: gave up after ${attempts} in ${seconds} s${detail}`,
      });
    }
    const seconds = wait >= 10_000 ? Math.round(wait / 1000) : Math.round(wait / 100) / 10;
    this.log.warn(
      { smtp: mailer.where, error: trouble.reply, retry: rounds, of: policy.connectionRetries, waitMs: wait },
      `SMTP${where} ${what}; retry ${rounds} of ${policy.connectionRetries} in ${seconds} s`,
    );
    this.connectionError = undefined;
    await sleep(wait, this.signal);
  }

  /**
   * Claims the next batch into the queue. False when there was none: the loop then goes round
   * again after a reply, or after the first deferred delivery falls due, or has halted.
   */
  private async claim(): Promise<boolean> {
    const { ledger, clock, policy } = this.deps;
    this.outcomes.flush();
    const held = this.backoff.domains();
    this.queue = this.session.claim(clock.now(), policy.batchSize, held);
    if (this.queue.length) return true;
    if (this.window.size) {
      await this.window.nextReply();
      return false;
    }
    this.outcomes.flush();
    const id = this.run.id;
    if (ledger.byId(id).enqueueDone && ledger.pendingCount(id, held) === 0) {
      this.halt(held.length ? heldBack(this.backoff, ledger.pendingCount(id)) : { status: 'done' });
      return false;
    }
    // Only deferred deliveries are left: wait until the first falls due.
    const due = ledger.nextDue(id, held);
    const wait = due ? Date.parse(due) - clock.now().getTime() : policy.retryBaseMs;
    await sleep(Math.max(10, wait), this.signal);
    return false;
  }

  /** Hands one claimed delivery to the mailer; a promise only while its variant compiles. */
  private send(d: ClaimedDelivery): Promise<void> | void {
    // Checked right before sending: an unsubscribe that landed after the batch was claimed counts.
    const status = this.session.statusNow(d.subscriberId);
    if (status !== 'confirmed') {
      this.result.skipped++;
      return this.outcomes.settle({
        subscriberId: d.subscriberId,
        kind: 'skipped',
        reply: `subscriber is ${status ?? 'gone'}`,
      });
    }
    if (this.backoff.holds(recipientDomain(d.email)))
      return this.outcomes.settle({
        subscriberId: d.subscriberId,
        kind: 'released',
        reply: 'held back: its domain refused us',
      });
    const variant = this.variantFor(d.digestSize, d.keywords);
    // Compiled already, as for nearly every message: handed over in this same turn. Awaiting it
    // let the connection whose reply had just made room look for a message to pipeline before
    // this one was queued, and a share of messages paid an extra round trip.
    if (!(variant instanceof Promise)) return this.sendVariant(d, variant);
    return variant.then(
      (prepared) => this.sendVariant(d, prepared),
      (err: unknown) => {
        this.outcomes.settle({ subscriberId: d.subscriberId, kind: 'released' });
        throw err;
      },
    );
  }

  private sendVariant(d: ClaimedDelivery, prepared: PreparedMessage | null): void {
    const { deps, run } = this;
    if (!prepared) {
      this.result.skipped++;
      return this.outcomes.settle({
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
      date: deps.clock.now(),
      envelopeFrom,
      ...deps.links(d.subscriberId),
    });
    this.started++;
    const limitMs = openingLimitMs(deps.policy, {
      elapsedMs: performance.now() - this.startedAt,
      delivered: this.result.sent > 0,
    });
    this.window.track(
      deps.mailer.sendPrebuilt(message, limitMs === undefined ? undefined : AbortSignal.timeout(limitMs)),
      (info) => this.onSent(d, messageId, info.response),
      (err) => this.onFailed(d, err),
    );
  }

  private onSent(d: ClaimedDelivery, messageId: string, reply: string): void {
    this.connectionRounds = 0;
    this.result.sent++;
    this.budget.add(false);
    this.backoff.delivered(recipientDomain(d.email));
    this.outcomes.settle({ subscriberId: d.subscriberId, kind: 'sent', reply, messageId });
  }

  private onFailed(d: ClaimedDelivery, err: unknown): void {
    const reply = describeSmtpError(err);
    const kind = classifySmtpError(err);
    if (kind === 'connection') return this.onConnectionTrouble(d, err, reply);
    this.connectionRounds = 0;
    const judged = judgeReply(err);
    // The relay refusing us (at MAIL FROM or AUTH, or refusing to relay at all) refuses everyone.
    if (kind === 'policy' || judged?.reason === 'relay-denied') {
      this.halt({ status: 'paused', reason: `SMTP policy rejection (our sending setup, not the recipient): ${reply}` });
      return this.outcomes.settle({ subscriberId: d.subscriberId, kind: 'released', reply });
    }
    const final = !(kind === 'transient' && d.attempts < this.deps.policy.maxAttempts);
    this.watchDomain(d, judged, reply, final);
    if (final) this.onRefused(d, judged, reply);
    else this.onDeferred(d, reply);
  }

  private onConnectionTrouble(d: ClaimedDelivery, err: unknown, reply: string): void {
    const e = err as Partial<SmtpError>;
    // The round's first error that says what the server did speaks for the round.
    if (!this.connectionError?.serverDid)
      this.connectionError = { reply, code: e.originalCode ?? e.code ?? 'error', serverDid: e.serverDid };
    this.outcomes.settle({ subscriberId: d.subscriberId, kind: 'released', reply });
  }

  /** Counts a refusal about the sender against the recipient's domain, and says when that backs it off. */
  private watchDomain(d: ClaimedDelivery, judged: JudgedReply | undefined, reply: string, final: boolean): void {
    const domain = recipientDomain(d.email);
    if (judged?.decision === 'sender' && this.backoff.refused(domain, judged.reason, final))
      this.log.warn(
        { domain, reason: judged.reason, reply },
        `${domain} refused ${DOMAIN_BACKOFF_AFTER} deliveries in a row for the sender's reasons: backed off, its other deliveries wait for the next attempt`,
      );
  }

  private onDeferred(d: ClaimedDelivery, reply: string): void {
    const { clock, policy } = this.deps;
    this.result.deferred++;
    const nextAttemptAt = new Date(clock.now().getTime() + retryDelayMs(d.attempts, policy.retryBaseMs)).toISOString();
    this.outcomes.settle({ subscriberId: d.subscriberId, kind: 'deferred', reply, nextAttemptAt });
  }

  private onRefused(d: ClaimedDelivery, judged: JudgedReply | undefined, reply: string): void {
    this.result.failed++;
    // A refusal about the sender says nothing about the list: the domain's own row watches those.
    if (judged?.decision !== 'sender') this.budget.add(true);
    const spent = this.budget.exceeded();
    if (spent) this.halt({ status: 'paused', reason: `error budget spent: ${spent}; last reply: ${reply}` });
    if (judged) this.deps.recordRefusal(relayRefusal(this.run, d, judged, reply));
    this.outcomes.settle({ subscriberId: d.subscriberId, kind: 'failed', reply });
  }

  private report(): void {
    const { result } = this;
    this.opts.onProgress?.({
      date: this.run.digestDate,
      done: this.before + result.sent + result.failed + result.skipped,
      total: this.total,
      sent: result.sent,
      failed: result.failed,
      skipped: result.skipped,
    });
  }
}

/** Abortable: a signal ends the wait at once (the loop then sees it and stops). */
const sleep = (ms: number, s: AbortSignal) => delay(ms, undefined, { signal: s }).catch(() => undefined);

/** Builds a variant's message: its digest from the ranked papers, with the edition's List-Id and Feedback-ID. */
function variantBuilder(deps: SendLoopDeps, run: SendRun): (ranked: Paper[]) => Promise<PreparedMessage> {
  const assemble = deps.digestAssembler(run.digestDate, run.cadence);
  const settings = {
    ...deps.messageSettings,
    listId: listIdFor(run.cadence, deps.messageSettings.domain),
    feedbackId: feedbackIdFor(run.cadence, run.digestDate, deps.messageSettings.feedbackDomain),
  };
  return async (ranked) => prepareMessage(await assemble(ranked), settings);
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

/** "refused the connection (ECONNREFUSED)", "accepted the connection but never greeted (ETIMEDOUT)", … */
const troubleInWords = (t: ConnectionTrouble) => `${t.serverDid ?? 'unreachable'} (${t.code})`;

/**
 * The edition a digest's Message-ID names. The id is the same for every attempt at the same
 * delivery, so a re-sent copy is recognisably the same message (see the in-flight policy in run.ts).
 */
const digestEdition = (cadence: Cadence) => (cadence === 'weekly' ? 'weekly' : 'digest');
