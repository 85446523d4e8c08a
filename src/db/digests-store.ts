import type { Paper } from '../domain/paper.ts';
import type { Db } from './connection.ts';

export interface StoredDigest { date: string; papers: Paper[]; createdAt: string }
export interface DigestSummary { date: string; count: number; createdAt: string; topTitle: string }

export interface DigestsStore {
  /** Freezes the day's ranking; returns false (and keeps the first one) if the day was already frozen. */
  save(date: string, papers: Paper[]): boolean;
  get(date: string): StoredDigest | undefined;
  /** Days that had papers, newest first. */
  list(limit: number): DigestSummary[];
}

export function createDigestsStore(db: Db): DigestsStore {
  // DO NOTHING, not REPLACE: a re-run of a send must not rewrite what earlier recipients got.
  const insert = db.prepare('INSERT INTO digests (date, papers) VALUES (?, ?) ON CONFLICT (date) DO NOTHING');
  const byDate = db.prepare<[string], { date: string; papers: string; createdAt: string }>(
    'SELECT date, papers, created_at AS createdAt FROM digests WHERE date = ?',
  );
  // Count and top title come from the JSON in SQL, so listing never parses whole rankings.
  const recent = db.prepare<[number], DigestSummary>(
    `SELECT date, json_array_length(papers) AS count, created_at AS createdAt, papers ->> '$[0].title' AS topTitle
       FROM digests
      WHERE json_array_length(papers) > 0
      ORDER BY date DESC
      LIMIT ?`,
  );

  return {
    save(date, papers) {
      return insert.run(date, JSON.stringify(papers)).changes === 1;
    },
    get(date) {
      const row = byDate.get(date);
      return row && { date: row.date, papers: JSON.parse(row.papers) as Paper[], createdAt: row.createdAt };
    },
    list(limit) {
      return recent.all(limit);
    },
  };
}
