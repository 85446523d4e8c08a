import type { Db } from './connection.ts';

export const CHANNEL_KINDS = ['slack', 'discord', 'json'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
type Cadence = 'daily' | 'weekly';

export interface Channel {
  id: number;
  kind: ChannelKind;
  /** The webhook: a secret (whoever has it can post to the channel). */
  url: string;
  cadence: Cadence;
  digestSize: number;
  keywords: string;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
}

export interface NewChannel {
  kind: ChannelKind;
  url: string;
  cadence: Cadence;
  digestSize: number;
  keywords: string;
}

/** An edition one channel may still be owed. */
export interface OwedPost {
  digestDate: string;
  cadence: Cadence;
}

export type ChannelsStore = ReturnType<typeof createChannelsStore>;

const COLUMNS = `id, kind, url, cadence, digest_size AS digestSize, keywords, enabled, disabled_reason AS disabledReason,
  created_at AS createdAt`;
type Row = Omit<Channel, 'enabled'> & { enabled: number };
const channel = (r: Row): Channel => ({ ...r, enabled: r.enabled === 1 });

/** The channels and the ledger of what each was posted. */
export function createChannelsStore(db: Db) {
  const statements = {
    add: db.prepare<[string, string, string, number, string, string], { id: number }>(
      'INSERT INTO channels (kind, url, cadence, digest_size, keywords, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
    ),
    idOfUrl: db.prepare<[string], number>('SELECT id FROM channels WHERE url = ?').pluck(),
    all: db.prepare<[], Row>(`SELECT ${COLUMNS} FROM channels ORDER BY id`),
    byId: db.prepare<[number], Row>(`SELECT ${COLUMNS} FROM channels WHERE id = ?`),
    enabled: db.prepare<[Cadence], Row>(
      `SELECT ${COLUMNS} FROM channels WHERE enabled = 1 AND cadence = ? ORDER BY id`,
    ),
    remove: db.prepare<[number]>('DELETE FROM channels WHERE id = ?'),
    disable: db.prepare<[string, number]>('UPDATE channels SET enabled = 0, disabled_reason = ? WHERE id = ?'),
    // A row is taken when it is new, when its last try failed, or when the process that claimed
    // it stopped before recording an answer (claimed before `staleBefore`): that post may have
    // arrived, and is made again once.
    claim: db.prepare<[{ id: number; date: string; cadence: Cadence; now: string; staleBefore: string }]>(
      `INSERT INTO channel_posts (channel_id, digest_date, cadence, state, attempts, claimed_at)
         VALUES (@id, @date, @cadence, 'posting', 1, @now)
       ON CONFLICT (channel_id, digest_date, cadence) DO UPDATE SET state = 'posting', attempts = attempts + 1, claimed_at = @now
       WHERE state = 'failed' OR (state = 'posting' AND claimed_at < @staleBefore)`,
    ),
    posted: db.prepare<[string, number, string, Cadence]>(
      `UPDATE channel_posts SET state = 'posted', posted_at = ?, last_error = NULL
       WHERE channel_id = ? AND digest_date = ? AND cadence = ?`,
    ),
    failed: db.prepare<[string, number, string, Cadence]>(
      `UPDATE channel_posts SET state = 'failed', last_error = ? WHERE channel_id = ? AND digest_date = ? AND cadence = ?`,
    ),
    owed: db.prepare<[string, string], OwedPost>(
      `SELECT DISTINCT p.digest_date AS digestDate, p.cadence FROM channel_posts p JOIN channels c ON c.id = p.channel_id
       WHERE c.enabled = 1 AND (p.state = 'failed' OR (p.state = 'posting' AND p.claimed_at < ?)) AND p.digest_date >= ?
       ORDER BY p.digest_date, p.cadence`,
    ),
  };
  return {
    /** The new channel's id; undefined when the URL is already one (asked first: a refused insert uses up an id). */
    add: db.transaction((c: NewChannel, now: Date): number | undefined => {
      if (statements.idOfUrl.get(c.url) !== undefined) return undefined;
      return statements.add.get(c.kind, c.url, c.cadence, c.digestSize, c.keywords, now.toISOString())!.id;
    }),
    idOfUrl: (url: string): number | undefined => statements.idOfUrl.get(url),
    list: (): Channel[] => statements.all.all().map(channel),
    byId(id: number): Channel | undefined {
      const row = statements.byId.get(id);
      return row && channel(row);
    },
    /** The channels that get the editions of `cadence`. */
    enabled: (cadence: Cadence): Channel[] => statements.enabled.all(cadence).map(channel),
    /** False when there was no such channel. Its posting record goes with it. */
    remove: (id: number): boolean => statements.remove.run(id).changes === 1,
    disable(id: number, reason: string): void {
      statements.disable.run(reason, id);
    },
    /** True when this process may post the edition to the channel now (see the statement). */
    claim(id: number, post: OwedPost, now: Date, staleBefore: Date): boolean {
      return (
        statements.claim.run({
          id,
          date: post.digestDate,
          cadence: post.cadence,
          now: now.toISOString(),
          staleBefore: staleBefore.toISOString(),
        }).changes === 1
      );
    },
    markPosted(id: number, post: OwedPost, now: Date): void {
      statements.posted.run(now.toISOString(), id, post.digestDate, post.cadence);
    },
    markFailed(id: number, post: OwedPost, error: string): void {
      statements.failed.run(error, id, post.digestDate, post.cadence);
    },
    /** Editions since `since` that an enabled channel has not had yet: a failed post, or one cut off. */
    owed: (staleBefore: Date, since: string): OwedPost[] => statements.owed.all(staleBefore.toISOString(), since),
  };
}
