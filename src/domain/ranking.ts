import type { Paper } from './paper.ts';

export interface RankOptions {
  /** How many papers to keep: DIGEST_SIZE or the subscriber's choice. */
  size: number;
  /** Keep only papers matching at least one keyword; empty or absent means no filter. */
  keywords?: string[];
}

/**
 * The day's papers as the digest lists them: withdrawn ones left out, the keyword filter applied
 * before the cut (so a subscriber with keywords still gets up to `size` papers), then upvotes
 * descending, arXiv date descending, id ascending, so the order is total and the same every run.
 * An empty result means "nothing to send".
 */
export function rankPapers(papers: readonly Paper[], opts: RankOptions): Paper[] {
  if (!Number.isInteger(opts.size) || opts.size < 1) throw new RangeError(`size must be a positive integer, got ${opts.size}`);
  const matches = keywordMatcher(opts.keywords ?? []);
  return papers
    .filter((p) => !p.withdrawn && matches(p))
    .sort(byRank)
    .slice(0, opts.size);
}

function byRank(a: Paper, b: Paper): number {
  return (
    b.upvotes - a.upvotes ||
    publishedTime(b) - publishedTime(a) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
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

// Scripts written without spaces between words: a "whole word" cannot be told apart there, so a
// keyword in them matches as a plain substring.
const UNSPACED_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}]/u;

/**
 * Whole words or phrases, case-insensitive, in the title, abstract or keywords. A word boundary is
 * "no letter or digit next to it", not regex \b: \b is ASCII-only and fails around "c++" or "é".
 */
function keywordMatcher(keywords: readonly string[]): (p: Paper) => boolean {
  const patterns = keywords
    .map((k) => k.trim())
    .filter((k) => k !== '')
    .map((k) => {
      const body = k.split(/\s+/).map(escapeRegExp).join('\\s+');
      return UNSPACED_SCRIPT.test(k) ? new RegExp(body, 'iu') : new RegExp(`(?<![\\p{L}\\p{N}])${body}(?![\\p{L}\\p{N}])`, 'iu');
    });
  if (patterns.length === 0) return () => true;
  return (p) => {
    const text = [p.title, p.abstract, ...p.keywords].join('\n');
    return patterns.some((re) => re.test(text));
  };
}

// Only the syntax characters: the 'u' flag rejects needless escapes such as \-.
function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
