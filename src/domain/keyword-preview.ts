import type { PapersStore } from '../db/papers-store.ts';
import type { Clock } from '../clock.ts';
import { countMatches } from './keywords.ts';
import { parseKeywords } from './ranking.ts';

const PREVIEW_DAYS = 7;

export interface KeywordPreview {
  /** Papers of the last seven days with papers that the keywords match (all of them without keywords). */
  matched: number;
  total: number;
  /** How many days those were (fewer than seven on a young install). */
  days: number;
}

/**
 * "Your keywords would have matched N of the last seven days' papers", for the preferences page.
 * The days' papers are read at most once per `ttlMs`, so their words are stemmed once and not on
 * every page view (keywords.ts caches a paper's stems for as long as the object lives).
 */
export function createKeywordPreview(
  deps: { papers: Pick<PapersStore, 'recentDays'>; clock: Clock },
  ttlMs = 10 * 60_000,
) {
  let cached: { at: number; days: number; papers: ReturnType<PapersStore['recentDays']>['papers'] } | undefined;
  return (keywords: string): KeywordPreview => {
    const now = deps.clock.now().getTime();
    if (!cached || now - cached.at >= ttlMs) {
      const recent = deps.papers.recentDays(PREVIEW_DAYS);
      cached = { at: now, days: recent.days.length, papers: recent.papers };
    }
    return {
      matched: countMatches(cached.papers, parseKeywords(keywords)),
      total: countMatches(cached.papers, []),
      days: cached.days,
    };
  };
}
