import { createHmac } from 'node:crypto';
import { systemClock, type Clock } from '../clock.ts';
import type { Db } from '../db/connection.ts';
import { createSubscribersStore, type SubscribersStore } from '../db/subscribers-store.ts';
import { createBounceStore, type BounceStore } from './events-store.ts';

/**
 * An address as a keyed hash: the suppression list and the bounce events can recognise an
 * address again without holding it. Addresses compare case-insensitively, as the subscribers
 * table does.
 */
export const addressHash = (secret: string, address: string) =>
  createHmac('sha256', secret).update(`address:${address.trim().toLowerCase()}`).digest('hex');

export type SuppressionList = ReturnType<typeof createSuppressionList>;

/**
 * The addresses an import must not add back (hard bounces, complaints, soft-bounce suppressions),
 * whatever happens to their subscriber row. Only a confirmed double opt-in lifts one.
 */
export function createSuppressionList(deps: {
  store: BounceStore;
  subscribers: SubscribersStore;
  secret: string;
  clock: Clock;
}) {
  const hash = (address: string) => addressHash(deps.secret, address);
  return {
    /** Why the address is suppressed, or undefined when it is not. */
    reasonFor: (address: string) => deps.store.suppression(hash(address)),
    add: (address: string, reason: string) =>
      deps.store.suppress(hash(address), reason, deps.clock.now().toISOString()),
    /** A confirmed double opt-in through the form: the owner of the address asked for mail again. */
    lift: (address: string) => deps.store.lift(hash(address)),
    /**
     * Before a subscriber row is erased: a suppressed status (for instance from the sender's own
     * hard-bounce count) goes onto the list, so the erasure does not make the address importable.
     */
    keepBeforeRemoval(address: string): void {
      if (deps.subscribers.byEmail(address)?.status === 'suppressed') this.add(address, 'suppressed, then removed');
    },
  };
}

/** For a CLI that opens the database without a whole context (scripts/subscribers.ts). */
export const openSuppressionList = (db: Db, secret: string) =>
  createSuppressionList({
    store: createBounceStore(db),
    subscribers: createSubscribersStore(db),
    secret,
    clock: systemClock,
  });
