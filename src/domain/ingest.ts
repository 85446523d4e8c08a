import { readFileSync } from 'node:fs';
import type { Logger } from '../logger.ts';
import type { PapersStore } from '../db/papers-store.ts';
import { parseDailyPapersJson, type PaperSource } from '../papers/hf-daily-papers.ts';

export interface IngestDeps {
  source: PaperSource;
  papers: PapersStore;
  logger: Logger;
}

interface IngestCounts {
  /** Valid papers in the response (after dropping repeats across pages). */
  fetched: number;
  /** New to their featured day. */
  inserted: number;
  /** Already stored for that day: fields (upvotes above all) refreshed. */
  updated: number;
  /** Items that failed validation; each was logged with its id. */
  skipped: number;
}

export interface IngestResult extends IngestCounts {
  date: string;
}

/**
 * Fetches the papers featured on `date` and stores them. Safe to repeat: a second run refreshes
 * upvotes and inserts nothing. Source errors propagate untouched (the caller logs them once);
 * nothing is stored unless every page arrived.
 */
export async function ingestDay(deps: IngestDeps, date: string, stop?: AbortSignal): Promise<IngestResult> {
  const { papers, skipped } = await deps.source.fetchDay(date, stop);
  const stored = deps.papers.upsertMany(papers);
  const result = { date, fetched: papers.length, ...stored, skipped: skipped.length };
  deps.logger.info(result, 'papers ingested');
  return result;
}

export interface ImportResult extends IngestCounts {
  file: string;
  /** The featured days the file's papers were stored under. */
  dates: string[];
}

/**
 * Imports a saved API response (the JSON array `GET /api/daily_papers?date=…` returns), parsed by
 * the same rules as a live fetch. `date` files every paper under that day; without it, each item's
 * own "added to Daily Papers" time decides.
 */
export function importDailyPapersFile(
  deps: Pick<IngestDeps, 'papers' | 'logger'>,
  file: string,
  date?: string,
): ImportResult {
  const { papers, skipped } = parseDailyPapersJson(readFileSync(file, 'utf8'), {
    where: file,
    featuredDate: date,
    logger: deps.logger,
  });
  const stored = deps.papers.upsertMany(papers);
  const dates = [...new Set(papers.map((p) => p.featuredDate))].sort();
  const result = { file, dates, fetched: papers.length, ...stored, skipped: skipped.length };
  deps.logger.info(result, 'papers imported from file');
  return result;
}
