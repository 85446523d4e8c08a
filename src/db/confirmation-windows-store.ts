import type { Db } from './connection.ts';

/**
 * The confirmation emails sent to one mailbox or domain in the hour since `start`; or, for a
 * warning's key, the warnings logged about a cap in that hour.
 */
export interface ConfirmWindow {
  start: string;
  count: number;
}

/** Which cap held a confirmation back: the one per mailbox (CONFIRMATIONS_PER_ADDRESS_PER_HOUR) or per domain. */
export type CapScope = 'address' | 'domain';

export type ConfirmationWindowsStore = ReturnType<typeof createConfirmationWindowsStore>;

/** Every SQL statement on confirmation_windows and confirmations_capped (the confirmation caps), prepared once. */
export function createConfirmationWindowsStore(db: Db) {
  const statements = {
    get: db.prepare('SELECT start, count FROM confirmation_windows WHERE key = ?'),
    save: db.prepare(
      `INSERT INTO confirmation_windows (key, start, count) VALUES (@key, @start, @count)
       ON CONFLICT (key) DO UPDATE SET start = excluded.start, count = excluded.count`,
    ),
    remove: db.prepare('DELETE FROM confirmation_windows WHERE key = ?'),
    pruneBefore: db.prepare('DELETE FROM confirmation_windows WHERE start < ?'),
    countCapped: db.prepare('UPDATE confirmations_capped SET n = n + 1 WHERE scope = ?'),
  };
  return {
    get: (key: string) => statements.get.get(key) as ConfirmWindow | undefined,
    save: (key: string, w: ConfirmWindow) => {
      statements.save.run({ key, ...w });
    },
    remove: (key: string) => statements.remove.run(key).changes,
    /** Windows that started before `iso` count for nothing any more. */
    pruneBefore: (iso: string) => statements.pruneBefore.run(iso).changes,
    /** One more confirmation email held back by the cap of this scope. */
    countCapped: (scope: CapScope) => {
      statements.countCapped.run(scope);
    },
  };
}
