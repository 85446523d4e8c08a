import type { SubscriberAdminStore } from '../db/subscriber-admin-store.ts';
import { eraseFromOutbox } from '../mail/outbox-erasure.ts';
import { mailboxWindowKey } from './subscriptions.ts';

export interface ErasureDeps {
  admin: Pick<SubscriberAdminStore, 'erase'>;
  outboxDir: string;
}

export interface Erasure {
  /** Whether the address had a subscriber row. */
  subscriber: boolean;
  /** Anything at all was found: the row, queued mail, a confirmation window, outbox files. */
  found: boolean;
  outboxFiles: number;
  /**
   * False when another connection kept the WAL from being truncated (old copies may remain in it until overwritten).
   */
  checkpointed: boolean;
}

/**
 * Erases an address (the right to erasure): its subscriber row and delivery history, the mail
 * queued to it, its confirmation window, run errors quoting it, and its outbox files. Links
 * emailed to it die with the row: ids are never reused.
 */
export function eraseAddress(deps: ErasureDeps, email: string): Erasure {
  const db = deps.admin.erase(email, mailboxWindowKey(email));
  const outboxFiles = eraseFromOutbox(deps.outboxDir, email);
  return {
    subscriber: db.subscriber,
    found: db.subscriber || db.queuedMail > 0 || db.other > 0 || outboxFiles > 0,
    outboxFiles,
    checkpointed: db.checkpointed,
  };
}
