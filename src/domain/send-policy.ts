/**
 * What the sender does about each kind of SMTP failure: pure decisions, tested on their own.
 *
 * - connection: the server could not be reached or dropped us. Nothing is wrong with the message
 *   or the recipient, so the delivery goes back untouched and the whole run waits and tries
 *   again, a bounded number of times, then fails (to be resumed later).
 * - transient: a 4xx reply (greylisting, throttling, mailbox busy). Deferred with backoff, up to
 *   a bounded number of attempts, then failed.
 * - recipient: a 5xx reply about this recipient (no such user, mailbox disabled). Failed at once,
 *   counted as a hard bounce; repeated hard bounces suppress the address.
 * - policy: a 5.7.x rejection or failed authentication: our problem (relay denied, DKIM/SPF,
 *   blocked sender), not the recipient's, and it will hit everyone. The run pauses.
 */
export type SmtpFailure = 'connection' | 'transient' | 'recipient' | 'policy';

interface SmtpErrorLike {
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
}

// nodemailer's codes for "never got a usable SMTP conversation" (plus the raw socket errnos).
const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROTOCOL', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/** A 5yz reply will not change on retry, except 503 ("bad sequence of commands": a client/server hiccup). */
export const isPermanentReply = (code: number) => code >= 500 && code !== 503;

export function classifySmtpError(err: unknown): SmtpFailure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SmtpErrorLike;
  const code = typeof e.code === 'string' ? e.code : '';
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const text = typeof e.response === 'string' ? e.response : '';
  if (code === 'EAUTH') return 'policy';
  if (reply !== undefined && isPermanentReply(reply)) {
    // RFC 3463 enhanced status 5.7.x is "security or policy status"; 530/535 are auth required/failed.
    if (/(^|\s)5\.7\.\d{1,3}\b/.test(text) || reply === 530 || reply === 535) return 'policy';
    return 'recipient';
  }
  if (reply !== undefined && reply >= 400) return 'transient';
  if (CONNECTION_CODES.has(code)) return 'connection';
  return 'transient';
}

/** The SMTP reply as recorded in the ledger: the server's own words when there are any. */
export function describeSmtpError(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SmtpErrorLike & { message?: unknown };
  const text = typeof e.response === 'string' && e.response ? e.response : typeof e.message === 'string' ? e.message : String(err);
  return text.replace(/\s+/g, ' ').slice(0, 500);
}

/** Exponential backoff: base, 2×base, 4×base … capped; attempt counts from 1. */
export function retryDelayMs(attempt: number, baseMs: number, capMs = 30 * 60_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

export interface ErrorBudget {
  /** This many final failures in a row pause the run. */
  maxConsecutive: number;
  /** More than this share of failures among the last `window` outcomes pauses the run. */
  maxRatio: number;
  window: number;
}

export const defaultErrorBudget = (percent: number): ErrorBudget => ({ maxConsecutive: 25, maxRatio: percent / 100, window: 200 });

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
