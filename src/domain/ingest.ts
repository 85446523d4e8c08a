import type { Logger } from '../logger.ts';
import type { PapersStore } from '../db/papers-store.ts';
import type { Paper } from '../model/paper.ts';

/** An item a source could not use, with its arXiv id when it had one, so an operator can look it up. */
export interface SkippedItem {
  id: string | null;
  reason: string;
}

export interface DailyPapers {
  papers: Paper[];
  skipped: SkippedItem[];
}

/** Where papers come from: the Hugging Face client (src/papers/), passed in. */
export interface PaperSource {
  /** Every page of the day `date` (YYYY-MM-DD); `stop` (shutdown) aborts requests and backoff waits at once. */
  fetchDay(date: string, stop?: AbortSignal): Promise<DailyPapers>;
  /** A saved API response, by the same rules; `date` files every paper under that day. */
  readSaved(file: string, date?: string): DailyPapers;
}

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
export function importDailyPapersFile(deps: IngestDeps, file: string, date?: string): ImportResult {
  const { papers, skipped } = deps.source.readSaved(file, date);
  const stored = deps.papers.upsertMany(papers);
  const dates = [...new Set(papers.map((p) => p.featuredDate))].sort();
  const result = { file, dates, fetched: papers.length, ...stored, skipped: skipped.length };
  deps.logger.info(result, 'papers imported from file');
  return result;
}
