/**
 * The send's policies: how hard to push, how to back off, when to stop. Pure decisions and the
 * numbers they use, tested on their own; what an SMTP failure means is src/mail/smtp/replies.ts.
 */

import { retryDelayMs } from '../retry.ts';

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
  /** Rounds of "the SMTP server can't be reached" before the run fails (SEND_CONNECT_RETRIES). */
  connectionRetries: number;
  /**
   * An interactive send (send-now) gives up on a server it has not got a message through to in
   * this many ms (SEND_CONNECT_GIVE_UP_SECONDS): the waits are shortened to fit, and an attempt
   * still opening its session then is cut off (`openingLimitMs`); unset, the retries above decide.
   */
  connectGiveUpMs?: number | undefined;
  errorBudget: ErrorBudget;
  leaseMs: number;
}

/**
 * The feed answers `[]` for a day it has not populated yet, the same as for a day without papers.
 * Weekends have none, so an empty Saturday or Sunday (UTC, the feed's days) is final at once; an
 * empty weekday is taken as "not out yet" until this many hours after it ended, and its run is
 * failed (and retried) instead of recorded empty.
 */
const EMPTY_WEEKDAY_WAIT_HOURS = 12;

/** When an empty feed day may be accepted as empty: null for a weekend day (at once). */
export function emptyDayFinalAt(date: string, waitHours = EMPTY_WEEKDAY_WAIT_HOURS): Date | null {
  const start = Date.parse(`${date}T00:00:00Z`);
  const weekday = new Date(start).getUTCDay();
  if (weekday === 0 || weekday === 6) return null;
  return new Date(start + (24 + waitHours) * 3600_000);
}

/**
 * After `failures` rounds in a row of an unreachable SMTP server: the wait before the next try,
 * or null to fail the run. `elapsedMs` is the time since this send started; `delivered` whether
 * any message has gone through in it (then the server is there, and an outage gets the patient rule).
 */
export function connectionRetryWait(
  failures: number,
  policy: Pick<SendPolicy, 'connectionRetries' | 'retryBaseMs' | 'connectGiveUpMs'>,
  o: { elapsedMs: number; delivered: boolean },
): number | null {
  if (failures > policy.connectionRetries) return null;
  const wait = retryDelayMs(failures, policy.retryBaseMs);
  if (policy.connectGiveUpMs === undefined || o.delivered) return wait;
  const left = policy.connectGiveUpMs - o.elapsedMs;
  return left > 0 ? Math.min(wait, Math.ceil(left)) : null;
}

/**
 * The last retry may start at the give-up deadline (its wait shortened to fit): it still gets
 * this long to open its session, or the whole give-up time when that is shorter.
 */
export const LAST_ATTEMPT_MS = 5_000;

/**
 * How long a message handed to the mailer now may wait for its SMTP session (connect, greeting,
 * EHLO, STARTTLS, AUTH) before it is given up on; undefined leaves it to the connection's own
 * timeouts. Under a give-up time, before anything has gone through, the deadline bounds the
 * attempts themselves, not only the waits between them: a server that accepts connections and
 * then never answers would otherwise hold each one for its full timeouts.
 */
export function openingLimitMs(
  policy: Pick<SendPolicy, 'connectGiveUpMs'>,
  o: { elapsedMs: number; delivered: boolean },
): number | undefined {
  if (policy.connectGiveUpMs === undefined || o.delivered) return undefined;
  // Whole milliseconds: AbortSignal.timeout takes nothing else.
  return Math.max(Math.ceil(policy.connectGiveUpMs - o.elapsedMs), Math.min(LAST_ATTEMPT_MS, policy.connectGiveUpMs));
}

export interface ErrorBudget {
  /** This many final failures in a row pause the run. */
  maxConsecutive: number;
  /** More than this share of failures among the last `window` outcomes pauses the run. */
  maxRatio: number;
  window: number;
}

export const defaultErrorBudget = (percent: number): ErrorBudget => ({
  maxConsecutive: 25,
  maxRatio: percent / 100,
  window: 200,
});

/**
 * The last `window` outcomes (delivered or finally failed) of this run, to tell a few dead
 * addresses from a broken send: a run that is failing wholesale pauses instead of burning
 * through the list and the sender's reputation with it.
 */
export class FailureWindow {
  private readonly ring: boolean[] = [];
  private next = 0;
  private failures = 0;
  private consecutive = 0;

  constructor(private readonly budget: ErrorBudget) {}

  add(failed: boolean): void {
    this.consecutive = failed ? this.consecutive + 1 : 0;
    if (this.ring.length < this.budget.window) this.ring.push(failed);
    else {
      if (this.ring[this.next]) this.failures--;
      this.ring[this.next] = failed;
      this.next = (this.next + 1) % this.budget.window;
    }
    if (failed) this.failures++;
  }

  /** Why the budget is spent, or null while it is not. The ratio is judged on a full window only. */
  exceeded(): string | null {
    if (this.consecutive >= this.budget.maxConsecutive) return `${this.consecutive} deliveries in a row failed`;
    if (this.ring.length === this.budget.window && this.failures / this.budget.window > this.budget.maxRatio) {
      return `${this.failures} of the last ${this.budget.window} deliveries failed (budget ${Math.round(this.budget.maxRatio * 100)}%)`;
    }
    return null;
  }
}

/** A receiving domain that refuses this many deliveries in a row for the sender's reasons is backed off. */
export const DOMAIN_BACKOFF_AFTER = 25;

/** Final refusals about the sender from one receiving domain, for one reason. */
export interface SenderRefusalCount {
  domain: string;
  reason: string;
  refusals: number;
}

/** A domain backed off in this send: how many of its deliveries were held back for the next attempt. */
export interface BackedOffDomain {
  domain: string;
  /** The reason of the refusal that backed it off. */
  reason: string;
  held: number;
}

/**
 * Refusals about the sender (spam, reputation, policy, rate limits) per receiving domain, in this
 * send. They fail the recipient refused, never count in the error budget (they say nothing about
 * the list) and never count against a reader; but a domain that refuses `limit` deliveries in a
 * row is blocking us, and sending it the rest would only hammer the block: it is backed off, and
 * its remaining deliveries wait for the next attempt. A delivery it accepts ends the row.
 */
export class DomainBackoff {
  private readonly rows = new Map<string, number>();
  private readonly tally = new Map<string, SenderRefusalCount>();
  private readonly off = new Map<string, BackedOffDomain>();

  constructor(private readonly limit = DOMAIN_BACKOFF_AFTER) {}

  /**
   * A refusal about the sender (`final`: the delivery failed, rather than being deferred); true
   * when it backs the domain off.
   */
  refused(domain: string, reason: string, final: boolean): boolean {
    if (final) {
      const key = `${domain} ${reason}`;
      const t = this.tally.get(key) ?? { domain, reason, refusals: 0 };
      t.refusals++;
      this.tally.set(key, t);
    }
    const row = (this.rows.get(domain) ?? 0) + 1;
    this.rows.set(domain, row);
    if (row < this.limit || this.off.has(domain)) return false;
    this.off.set(domain, { domain, reason, held: 0 });
    return true;
  }

  delivered(domain: string): void {
    this.rows.delete(domain);
  }

  /** True (and counted) when a delivery to `domain` is to be held back. */
  holds(domain: string): boolean {
    const off = this.off.get(domain);
    if (off) off.held++;
    return off !== undefined;
  }

  /** The domains backed off so far. */
  domains(): string[] {
    return [...this.off.keys()];
  }

  backedOff(): BackedOffDomain[] {
    return [...this.off.values()];
  }

  /** Final refusals per domain and reason, most first. */
  refusals(): SenderRefusalCount[] {
    return [...this.tally.values()].sort((a, b) => b.refusals - a.refusals);
  }
}
