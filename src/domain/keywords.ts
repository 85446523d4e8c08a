import { stemmer } from 'stemmer';
import type { Paper } from '../model/paper.ts';

/**
 * Keyword matching on English word stems (Porter, from the `stemmer` package): `agent` matches
 * "agents" and "agentic", `diffusion model` matches "Diffusion Models", `LLM` matches "LLMs".
 *
 * - Text and keywords are cut into tokens: runs of letters and digits, with a trailing `+` or `#`
 *   kept ("C++", "C#"). A token never matches inside another one: `ai` is not in "paint".
 * - A token of plain a–z letters is compared by its stem; any other (digits, accents: "gpt4",
 *   "génératif") exactly, lower-cased.
 * - A phrase matches its tokens in a row, with only spaces, line breaks or one joining character
 *   (- / . ' _) between them: "mixture-of-experts" and "mixture of experts" are the same keyword,
 *   but "diffusion. Models" does not match `diffusion model`. Title, abstract and the paper's own
 *   keywords are separate texts: a phrase never runs from one into the next.
 * - A keyword in a script written without spaces (Chinese, Japanese, Thai) matches as a plain
 *   substring, case-insensitively: words cannot be told apart there.
 */

export type PaperMatcher = (p: Paper) => boolean;

const TOKEN = /[\p{L}\p{N}]+[+#]*/gu;
const JOINERS = new Set(['-', '‐', '–', '/', '.', "'", '’', '_']);
const SPACES = /^\s+$/u;
const UNSPACED_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}]/u;
/** Stands between tokens that a phrase may not span; no token is empty, so nothing equals it. */
const BREAK = '';

// Papers reuse a small vocabulary ("the", "models", …): a stem is computed once per word. Bounded,
// because titles and abstracts come from outside.
const stems = new Map<string, string>();
const STEMS_KEPT = 100_000;

function normalise(token: string): string {
  let stem = stems.get(token);
  if (stem === undefined) {
    stem = /^[a-z]+$/.test(token) ? stemmer(token) : token;
    if (stems.size >= STEMS_KEPT) stems.clear();
    stems.set(token, stem);
  }
  return stem;
}

/** The tokens of a text as compared, with BREAK where a phrase must not continue. */
function terms(text: string, out: string[] = []): string[] {
  const lower = text.toLowerCase();
  let end = 0;
  let m: RegExpExecArray | null;
  // exec in a loop: matchAll's iterator cost twice as much over a day's abstracts.
  TOKEN.lastIndex = 0;
  while ((m = TOKEN.exec(lower))) {
    if (out.length && out[out.length - 1] !== BREAK && !softGap(lower, end, m.index)) out.push(BREAK);
    out.push(normalise(m[0]));
    end = TOKEN.lastIndex;
  }
  if (out.length && out[out.length - 1] !== BREAK) out.push(BREAK);
  return out;
}

/** Spaces and line breaks, or one joining character, as in "mixture-of-experts" or "Node.js". */
function softGap(s: string, from: number, to: number): boolean {
  if (to - from === 1 && JOINERS.has(s[from]!)) return true;
  return SPACES.test(s.slice(from, to));
}

interface PaperTerms {
  paper: Paper;
  /** Each term's positions in `terms`. */
  at: Map<string, number[]>;
  terms: string[];
  /** Lower-cased, for keywords in unspaced scripts; made when one first asks. */
  text?: string;
}

// Stemming a paper's text is most of a match's cost, and the send path ranks the same day's
// Paper objects once per preference variant: each paper is stemmed once.
const paperTerms = new WeakMap<Paper, PaperTerms>();

function termsOf(p: Paper): PaperTerms {
  let t = paperTerms.get(p);
  if (!t) {
    const list: string[] = [];
    for (const field of [p.title, p.abstract, ...p.keywords]) terms(field, list);
    const at = new Map<string, number[]>();
    list.forEach((term, i) => {
      if (term !== BREAK) (at.get(term) ?? at.set(term, []).get(term)!).push(i);
    });
    t = { paper: p, at, terms: list };
    paperTerms.set(p, t);
  }
  return t;
}

function textOf(t: PaperTerms): string {
  return (t.text ??= [t.paper.title, t.paper.abstract, ...t.paper.keywords].join('\n').toLowerCase());
}

type Compiled = ((t: PaperTerms) => boolean)[];

function compile(keyword: string): Compiled[number] | null {
  if (UNSPACED_SCRIPT.test(keyword)) {
    const words = keyword.toLowerCase().split(/\s+/);
    // A plain string search is several times faster than a regex over every abstract.
    if (words.length === 1) return (t) => textOf(t).includes(words[0]!);
    const re = new RegExp(words.map(escapeRegExp).join('\\s+'), 'u');
    return (t) => re.test(textOf(t));
  }
  const phrase = terms(keyword).filter((term) => term !== BREAK);
  if (phrase.length === 0) return null;
  const [first, ...rest] = phrase as [string, ...string[]];
  return (t) => (t.at.get(first) ?? []).some((i) => rest.every((term, j) => t.terms[i + 1 + j] === term));
}

// Compiled keyword sets, by their text: preferences repeat across thousands of subscribers.
const compiled = new Map<string, Compiled>();
const COMPILED_KEPT = 1000;

/** A predicate for "matches at least one keyword"; no keywords (or only blank ones) match everything. */
export function keywordMatcher(keywords: readonly string[]): PaperMatcher {
  const key = keywords.join('\n');
  let list = compiled.get(key);
  if (!list) {
    list = keywords.map((k) => compile(k.trim())).filter((m) => m !== null);
    if (compiled.size >= COMPILED_KEPT) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, list);
  }
  const matchers = list;
  if (matchers.length === 0) return () => true;
  return (p) => {
    const t = termsOf(p);
    return matchers.some((m) => m(t));
  };
}

/** How many of these papers (withdrawn ones left out, as the digest does) the keywords match. */
export function countMatches(papers: readonly Paper[], keywords: readonly string[]): number {
  const matches = keywordMatcher(keywords);
  return papers.filter((p) => !p.withdrawn && matches(p)).length;
}

// Only the syntax characters: the 'u' flag rejects needless escapes such as \-.
function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
