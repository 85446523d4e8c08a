import type { BounceErasureStore } from '../db/bounce-erasure-store.ts';
import { addressHash } from '../db/suppressions-store.ts';
import type { SubscriberAdminStore } from '../db/subscriber-admin-store.ts';
import { mailboxWindowKey } from './subscriptions.ts';

export interface ErasureDeps {
  admin: Pick<SubscriberAdminStore, 'erase'>;
  bounces: Pick<BounceErasureStore, 'erase'>;
  /** SECRET: the bounce events know an address by its keyed hash. */
  secret: string;
  /** Deletes the outbox files that hold the address; how many. */
  eraseFromOutbox(email: string): number;
}

export interface Erasure {
  /** Whether the address had a subscriber row. */
  subscriber: boolean;
  /** Anything at all was found: the row, queued mail, a confirmation window, bounces, outbox files. */
  found: boolean;
  outboxFiles: number;
  /** Bounce events about the address or quoting it. */
  bounceEvents: number;
  /** Messages of the local bounce quarantine that held it. */
  quarantined: number;
  /**
   * False when another connection kept the WAL from being truncated (old copies may remain in it until overwritten).
   */
  checkpointed: boolean;
}

/**
 * Erases an address (the right to erasure): its subscriber row and delivery history, the mail
 * queued to it, its confirmation window, run errors quoting it, the bounce events and
 * quarantined reports about it or quoting it, and its outbox files. Links emailed to it die with
 * the row: ids are never reused.
 */
export function eraseAddress(deps: ErasureDeps, email: string): Erasure {
  // The bounce tables first: the subscriber erasure ends with the WAL checkpoint, which must come
  // after every deletion to leave no old copy of a row behind.
  const bounces = deps.bounces.erase(addressHash(deps.secret, email), email);
  const db = deps.admin.erase(email, mailboxWindowKey(email));
  const outboxFiles = deps.eraseFromOutbox(email);
  return {
    subscriber: db.subscriber,
    found:
      db.subscriber ||
      db.queuedMail > 0 ||
      db.other > 0 ||
      bounces.events > 0 ||
      bounces.quarantined > 0 ||
      outboxFiles > 0,
    outboxFiles,
    bounceEvents: bounces.events,
    quarantined: bounces.quarantined,
    checkpointed: db.checkpointed,
  };
}
