import { readFileSync } from 'node:fs';
import type { Paper } from '../../src/model/paper.ts';
import { fixturesDir } from './fixtures-dir.ts';

interface FixtureItem {
  publishedAt: string;
  numComments: number;
  paper: {
    id: string;
    title: string;
    summary: string;
    authors: { name: string }[];
    publishedAt: string;
    upvotes: number;
    ai_summary?: string;
    ai_keywords?: string[];
    githubRepo?: string;
    projectPage?: string;
    withdrawnAt?: string;
  };
}

/**
 * The papers of one fixture day as `Paper`s, most upvoted first. A test-only mapper: the
 * production client (src/papers) validates and maps the live API on its own.
 */
export function fixturePapers(date: string): Paper[] {
  const items = JSON.parse(readFileSync(`${fixturesDir}${date}.json`, 'utf8')) as FixtureItem[];
  return items
    .map(({ paper, publishedAt, numComments }) => ({
      id: paper.id,
      title: paper.title,
      abstract: paper.summary,
      authors: paper.authors.map((a) => a.name),
      publishedAt: paper.publishedAt,
      featuredDate: publishedAt.slice(0, 10),
      upvotes: paper.upvotes,
      numComments,
      aiSummary: paper.ai_summary ?? null,
      keywords: paper.ai_keywords ?? [],
      githubRepo: paper.githubRepo ?? null,
      projectPage: paper.projectPage ?? null,
      withdrawn: paper.withdrawnAt !== undefined,
    }))
    .sort((a, b) => b.upvotes - a.upvotes);
}

/** 20 real-looking papers (the first 20 of 2026-11-24, edge cases included) for size and layout checks. */
export function twentyPapers(): Paper[] {
  return fixturePapers('2026-11-24').slice(0, 20);
}
