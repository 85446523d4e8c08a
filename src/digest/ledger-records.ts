import type { Cadence } from '../model/cadence.ts';

// The ledger's records: a run, a claimed delivery, an outcome, and how a run's row reads
// (ledger-store.ts holds the statements that read and write them).

export type RunStatus = 'running' | 'paused' | 'failed' | 'done' | 'empty';
export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'skipped';

export interface SendRun {
  id: number;
  digestDate: string;
  /** The edition: the daily digest of digestDate, or the weekly one of the week ending on it. */
  cadence: Cadence;
  status: RunStatus;
  /** The cut-off: only subscribers confirmed before it belong to the run (to its slice begun last). */
  startedAt: string;
  /** The reader groups of the slice begun last (DELIVERY_MODE=local); null: every reader of the cadence. */
  sliceGroups: string[] | null;
  finishedAt: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  /** The last subscriber id handed to a sender (claims walk the audience in id order). */
  enqueuedThrough: number;
  enqueueDone: boolean;
  /** Every subscriber of the run up to this id has a delivery row (see `session`). */
  settledThrough: number;
  sent: number;
  failed: number;
  skipped: number;
  lastError: string | null;
}

/** A delivery handed to the sender, with what it needs of the subscriber. */
export interface ClaimedDelivery {
  subscriberId: number;
  email: string;
  digestSize: number;
  keywords: string;
  /** Including this one. */
  attempts: number;
  /** The subscriber's status when claimed ('confirmed' for first attempts). */
  status: string;
}

/** How one delivery ended this time round. */
export type DeliveryOutcome =
  | { subscriberId: number; kind: 'sent'; reply: string; messageId: string }
  | { subscriberId: number; kind: 'skipped'; reply: string }
  | { subscriberId: number; kind: 'failed'; reply: string }
  | { subscriberId: number; kind: 'deferred'; reply: string; nextAttemptAt: string }
  /** Back to pending as if never tried: the run stopped before it went out (shutdown, pause). */
  | { subscriberId: number; kind: 'released'; reply?: string };

/** A slice a sender was asked to send: its cut-off and reader groups (null: everyone). */
export interface RunSlice {
  at: Date;
  groups: readonly string[] | null;
}

/** True when the slice is not yet begun on the run: a later cut-off, or everyone on a run of some groups. */
export function sliceAhead(run: SendRun, slice: RunSlice): boolean {
  return Date.parse(run.startedAt) < slice.at.getTime() || (slice.groups === null && run.sliceGroups !== null);
}

export interface RunRow {
  id: number;
  digest_date: string;
  cadence: Cadence;
  status: RunStatus;
  started_at: string;
  slice_groups: string | null;
  finished_at: string | null;
  lease_owner: string | null;
  lease_expires_at: string | null;
  enqueued_through: number;
  enqueue_done: number;
  settled_through: number;
  sent: number;
  failed: number;
  skipped: number;
  last_error: string | null;
}

export const toRun = (r: RunRow): SendRun => ({
  id: r.id,
  digestDate: r.digest_date,
  cadence: r.cadence,
  status: r.status,
  startedAt: r.started_at,
  sliceGroups: r.slice_groups === null ? null : (JSON.parse(r.slice_groups) as string[]),
  finishedAt: r.finished_at,
  leaseOwner: r.lease_owner,
  leaseExpiresAt: r.lease_expires_at,
  enqueuedThrough: r.enqueued_through,
  enqueueDone: r.enqueue_done === 1,
  settledThrough: r.settled_through,
  sent: r.sent,
  failed: r.failed,
  skipped: r.skipped,
  lastError: r.last_error,
});
