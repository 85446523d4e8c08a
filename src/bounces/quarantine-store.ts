import type { Db } from '../db/connection.ts';

/** Days a quarantined report is kept on this machine before housekeeping removes it. */
export const QUARANTINE_DAYS = 30;

export interface QuarantineEntry {
  /** `<kind>:<name>` of the way it came in, e.g. `smtp:receiver`, `import:bounces.mbox#3`. */
  source: string;
  /** Why it was not handled: `too big`, `too many MIME parts`, `parse timed out`, `unreadable: …`. */
  reason: string;
  /** `local` (kept here, `raw` set) or the mailbox folder it was moved to (`imap:<Folder>`). */
  location: string;
  reportKey: string;
  size: number;
  /** The message as received; null when it is not kept here (too big, or moved to a folder). */
  raw: Buffer | null;
  createdAt: string;
}

type QuarantineListing = Omit<QuarantineEntry, 'raw' | 'reportKey'> & { id: number };

export type QuarantineStore = ReturnType<typeof createQuarantineStore>;

/** Reports the intake set aside (src/bounces/handle-report.ts), and the operator's view of them. */
export function createQuarantineStore(db: Db) {
  const statements = {
    add: db.prepare(
      `INSERT INTO bounce_quarantine (source, reason, location, report_key, size, raw, created_at)
       VALUES (@source, @reason, @location, @reportKey, @size, @raw, @createdAt)
       ON CONFLICT (report_key) DO NOTHING`,
    ),
    list: db.prepare(
      `SELECT id, source, reason, location, size, created_at AS createdAt FROM bounce_quarantine ORDER BY id`,
    ),
    raw: db.prepare('SELECT raw FROM bounce_quarantine WHERE id = ?').pluck(),
    remove: db.prepare('DELETE FROM bounce_quarantine WHERE id = ?'),
    purge: db.prepare('DELETE FROM bounce_quarantine WHERE created_at < ?'),
  };
  return {
    /** False when this report was quarantined before (the same message read again). */
    add: (e: QuarantineEntry): boolean => statements.add.run(e).changes === 1,
    list: () => statements.list.all() as QuarantineListing[],
    /** The kept message, undefined when there is no such entry, null when its bytes are not kept here. */
    raw: (id: number) => statements.raw.get(id) as Buffer | null | undefined,
    remove: (id: number): boolean => statements.remove.run(id).changes === 1,
    purgeBefore: (before: string): number => statements.purge.run(before).changes,
  };
}
