import type { Db } from './connection.ts';
import type { Paper } from '../model/paper.ts';

export interface PapersStore {
  /**
   * Stores each paper and the day it was featured, in one transaction. A paper already stored
   * has every field refreshed (upvotes rise through the day). `inserted` counts papers new to
   * their featured day, `updated` those already there, so re-running a day gives `inserted: 0`.
   */
  upsertMany(papers: readonly Paper[]): { inserted: number; updated: number };
  /** The papers featured on `date` (YYYY-MM-DD), in id order; ranking is the caller's job. */
  forDay(date: string): Paper[];
  /**
   * The papers of the last `days` days that have papers stored, each paper once (with the latest
   * day it was featured), and those days, newest first.
   */
  recentDays(days: number): { days: string[]; papers: Paper[] };
}

interface PaperRow {
  id: string;
  title: string;
  abstract: string;
  authors: string;
  published_at: string;
  featured_date: string;
  upvotes: number;
  num_comments: number;
  ai_summary: string | null;
  keywords: string;
  github_repo: string | null;
  project_page: string | null;
  withdrawn: 0 | 1;
}

/** Prepares every statement now, so a schema mismatch fails at start-up, not mid-ingest. */
export function createPapersStore(db: Db): PapersStore {
  const upsertPaper = db.prepare(`
    INSERT INTO papers (id, title, abstract, authors, published_at, upvotes, num_comments, ai_summary,
                        keywords, github_repo, project_page, withdrawn, created_at, updated_at)
    VALUES (@id, @title, @abstract, @authors, @publishedAt, @upvotes, @numComments, @aiSummary,
            @keywords, @githubRepo, @projectPage, @withdrawn,
            strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    ON CONFLICT (id) DO UPDATE SET
      title = excluded.title, abstract = excluded.abstract, authors = excluded.authors,
      published_at = excluded.published_at, upvotes = excluded.upvotes,
      num_comments = excluded.num_comments, ai_summary = excluded.ai_summary,
      keywords = excluded.keywords, github_repo = excluded.github_repo,
      project_page = excluded.project_page, withdrawn = excluded.withdrawn,
      updated_at = excluded.updated_at`);
  // DO NOTHING on a known (day, paper) pair: its changes() of 0 is what tells "updated" from "new".
  const addFeature = db.prepare(`
    INSERT INTO paper_features (featured_date, paper_id) VALUES (?, ?)
    ON CONFLICT DO NOTHING`);
  const selectDay = db.prepare<[string], PaperRow>(`
    SELECT p.*, f.featured_date
    FROM paper_features f JOIN papers p ON p.id = f.paper_id
    WHERE f.featured_date = ?
    ORDER BY p.id`);

  // Days with papers, not calendar days: weekends and gaps in ingestion are skipped.
  const selectRecentDays = db
    .prepare<[number], string>(
      `
    SELECT DISTINCT featured_date FROM paper_features ORDER BY featured_date DESC LIMIT ?`,
    )
    .pluck();
  const selectSince = db.prepare<[string], PaperRow>(`
    SELECT p.*, MAX(f.featured_date) AS featured_date
    FROM paper_features f JOIN papers p ON p.id = f.paper_id
    WHERE f.featured_date >= ?
    GROUP BY p.id
    ORDER BY p.id`);

  const upsertAll = db.transaction((papers: readonly Paper[]) => {
    let inserted = 0;
    for (const p of papers) {
      upsertPaper.run({
        id: p.id,
        title: p.title,
        abstract: p.abstract,
        authors: JSON.stringify(p.authors),
        publishedAt: p.publishedAt,
        upvotes: p.upvotes,
        numComments: p.numComments,
        aiSummary: p.aiSummary,
        keywords: JSON.stringify(p.keywords),
        githubRepo: p.githubRepo,
        projectPage: p.projectPage,
        withdrawn: p.withdrawn ? 1 : 0,
      });
      inserted += addFeature.run(p.featuredDate, p.id).changes;
    }
    return { inserted, updated: papers.length - inserted };
  });

  return {
    upsertMany: (papers) => upsertAll.immediate(papers),
    forDay: (date) => selectDay.all(date).map(toPaper),
    recentDays: (n) => {
      const days = selectRecentDays.all(n);
      return { days, papers: days.length ? selectSince.all(days.at(-1)!).map(toPaper) : [] };
    },
  };
}

function toPaper(r: PaperRow): Paper {
  return {
    id: r.id,
    title: r.title,
    abstract: r.abstract,
    authors: JSON.parse(r.authors) as string[],
    publishedAt: r.published_at,
    featuredDate: r.featured_date,
    upvotes: r.upvotes,
    numComments: r.num_comments,
    aiSummary: r.ai_summary,
    keywords: JSON.parse(r.keywords) as string[],
    githubRepo: r.github_repo,
    projectPage: r.project_page,
    withdrawn: r.withdrawn === 1,
  };
}
