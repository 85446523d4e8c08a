import type { Paper } from '../model/paper.ts';
import { keywordMatcher } from './keywords.ts';

export interface RankOptions {
  /** How many papers to keep: DIGEST_SIZE or the subscriber's choice. */
  size: number;
  /** Keep only papers matching at least one keyword (see keywords.ts); empty or absent means no filter. */
  keywords?: string[];
}

/**
 * The day's papers as the digest lists them: withdrawn ones left out, the keyword filter applied
 * before the cut (so a subscriber with keywords still gets up to `size` papers), then upvotes
 * descending, arXiv date descending, id ascending, so the order is total and the same every run.
 * An empty result means "nothing to send".
 */
export function rankPapers(papers: readonly Paper[], opts: RankOptions): Paper[] {
  if (!Number.isInteger(opts.size) || opts.size < 1)
    throw new RangeError(`size must be a positive integer, got ${opts.size}`);
  const matches = keywordMatcher(opts.keywords ?? []);
  return papers
    .filter((p) => !p.withdrawn && matches(p))
    .sort(byRank)
    .slice(0, opts.size);
}

function byRank(a: Paper, b: Paper): number {
  return b.upvotes - a.upvotes || publishedTime(b) - publishedTime(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

// Compared as instants, not strings, so "…+02:00" and "…Z" forms order correctly. An unreadable
// date sorts as oldest instead of making the comparator inconsistent (NaN breaks sort).
function publishedTime(p: Paper): number {
  const t = Date.parse(p.publishedAt);
  return Number.isNaN(t) ? -Infinity : t;
}

/**
 * Subscribers store keywords as one comma-separated string ("LLM, diffusion ,llm"): this gives
 * the list the ranking wants — trimmed, inner spaces collapsed, lower-cased, empty and repeated
 * entries dropped, first occurrence order kept.
 */
export function parseKeywords(input: string): string[] {
  const words = input.split(',').map((k) => k.trim().replace(/\s+/g, ' ').toLowerCase());
  return [...new Set(words.filter((k) => k !== ''))];
}

/**
 * The papers of a week's days as one list for the weekly ranking: a paper featured on several
 * days is listed once, with the highest upvotes any day's copy has (they only rise) and the
 * latest day it was featured. Ranked like a day's papers afterwards (rankPapers).
 */
export function mergeWeek(days: readonly (readonly Paper[])[]): Paper[] {
  const byId = new Map<string, Paper>();
  for (const p of days.flat()) {
    const seen = byId.get(p.id);
    byId.set(
      p.id,
      seen
        ? {
            ...(p.upvotes >= seen.upvotes ? p : seen),
            upvotes: Math.max(p.upvotes, seen.upvotes),
            featuredDate: p.featuredDate > seen.featuredDate ? p.featuredDate : seen.featuredDate,
          }
        : p,
    );
  }
  return [...byId.values()];
}
