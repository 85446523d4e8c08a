import { createHmac } from 'node:crypto';
import { systemClock, type Clock } from '../clock.ts';
import type { Db } from './connection.ts';
import { createSubscribersStore, type SubscribersStore } from './subscribers-store.ts';

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
export function createSuppressionList(deps: { db: Db; subscribers: SubscribersStore; secret: string; clock: Clock }) {
  const statements = {
    suppression: deps.db.prepare('SELECT reason, created_at AS createdAt FROM suppressions WHERE address_hash = ?'),
    suppress: deps.db.prepare(
      'INSERT INTO suppressions (address_hash, reason, created_at) VALUES (?, ?, ?) ON CONFLICT (address_hash) DO NOTHING',
    ),
    lift: deps.db.prepare('DELETE FROM suppressions WHERE address_hash = ?'),
  };
  const hash = (address: string) => addressHash(deps.secret, address);
  return {
    /** Why the address is suppressed, or undefined when it is not. */
    reasonFor: (address: string) =>
      statements.suppression.get(hash(address)) as { reason: string; createdAt: string } | undefined,
    /** Keeps the first reason when the address is already on the list. */
    add: (address: string, reason: string) => {
      statements.suppress.run(hash(address), reason, deps.clock.now().toISOString());
    },
    /** A confirmed double opt-in through the form: the owner of the address asked for mail again. */
    lift: (address: string) => statements.lift.run(hash(address)).changes === 1,
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
    db,
    subscribers: createSubscribersStore(db),
    secret,
    clock: systemClock,
  });
