import type { Paper } from '../model/paper.ts';
import type { Cadence } from '../model/cadence.ts';
import type { Db } from './connection.ts';

interface StoredDigest {
  date: string;
  cadence: Cadence;
  papers: Paper[];
  createdAt: string;
}
interface DigestSummary {
  date: string;
  cadence: Cadence;
  count: number;
  createdAt: string;
  topTitle: string;
}

/** Daily digests are keyed by their day, weekly ones by the last day (a Sunday) of their week. */
export interface DigestsStore {
  /** Freezes the ranking; returns false (and keeps the first one) if it was already frozen. */
  save(date: string, papers: Paper[], cadence?: Cadence): boolean;
  get(date: string, cadence?: Cadence): StoredDigest | undefined;
  /** Editions that had papers, newest first; both cadences when none is given. */
  list(limit: number, cadence?: Cadence): DigestSummary[];
}

export function createDigestsStore(db: Db): DigestsStore {
  // DO NOTHING, not REPLACE: a re-run of a send must not rewrite what earlier recipients got.
  const insert = db.prepare(
    'INSERT INTO digests (date, cadence, papers) VALUES (?, ?, ?) ON CONFLICT (cadence, date) DO NOTHING',
  );
  const byDate = db.prepare<[string, Cadence], { date: string; cadence: Cadence; papers: string; createdAt: string }>(
    'SELECT date, cadence, papers, created_at AS createdAt FROM digests WHERE date = ? AND cadence = ?',
  );
  // Count and top title come from the JSON in SQL, so listing never parses whole rankings.
  // A NULL cadence lists both (the feed).
  const recent = db.prepare<[Cadence | null, Cadence | null, number], DigestSummary>(
    `SELECT date, cadence, json_array_length(papers) AS count, created_at AS createdAt, papers ->> '$[0].title' AS topTitle
       FROM digests
      WHERE json_array_length(papers) > 0 AND (? IS NULL OR cadence = ?)
      ORDER BY date DESC, cadence DESC
      LIMIT ?`,
  );

  return {
    save(date, papers, cadence = 'daily') {
      return insert.run(date, cadence, JSON.stringify(papers)).changes === 1;
    },
    get(date, cadence = 'daily') {
      const row = byDate.get(date, cadence);
      return (
        row && {
          date: row.date,
          cadence: row.cadence,
          papers: JSON.parse(row.papers) as Paper[],
          createdAt: row.createdAt,
        }
      );
    },
    list(limit, cadence) {
      return recent.all(cadence ?? null, cadence ?? null, limit);
    },
  };
}
