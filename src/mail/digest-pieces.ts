import type { Paper } from '../domain/paper.ts';

/**
 * A day's digest variants assembled from compiled pieces instead of one MJML compile each
 * (~10–20 ms on the event loop per variant). MJML compiles every top-level mj-section of the body
 * on its own, so a paper's card compiles to the same HTML whatever its neighbours; what ties
 * neighbours together is MJML's last step, which merges the Outlook conditional comment that
 * closes one section with the one that opens the next:
 *
 *   …</div>⏎  <!--[if mso | IE]></td></tr></table><table align="center" …><tr><td …><![endif]-->⏎  <div…
 *
 * Cutting the compiled page between `</table>` and `<table` of each merged pair gives pieces that
 * join back by plain concatenation, in any order and number. Cards are compiled with their rank as
 * the placeholder {{rank}}, which also tells the card pieces from the shell's. The templates' boot
 * check compares an assembled digest with a direct compile, so a template change that breaks
 * this fails the start, not the send.
 */

export const RANK_PLACEHOLDER = '{{rank}}';

/** A compiled card: the HTML before and after its rank. */
export type CardPiece = readonly [before: string, after: string];
export interface SplitPage {
  /** Everything before the first card and after the last. */
  head: string;
  tail: string;
  cards: CardPiece[];
}

/** The boundary between two top-level sections after MJML merged their conditional comments. */
const SECTION_SEAM = /(?<=<!--\[if mso \| IE\]><\/td><\/tr><\/table>)(?=<table\b)/;

/**
 * Splits a compiled digest whose `count` cards carry {{rank}} once each; null when the page does
 * not have that shape (a card that is not exactly one top-level mj-section, or no rank in it).
 */
export function splitCards(html: string, count: number): SplitPage | null {
  const pieces = html.split(SECTION_SEAM);
  const first = pieces.findIndex((p) => p.includes(RANK_PLACEHOLDER));
  if (first < 0) return null;
  const cards = pieces.slice(first, first + count);
  const rest = pieces.slice(first + count);
  if (cards.length !== count || rest.some((p) => p.includes(RANK_PLACEHOLDER))) return null;
  const split: CardPiece[] = [];
  for (const card of cards) {
    const [before, after, ...more] = card.split(RANK_PLACEHOLDER);
    if (after === undefined || more.length) return null;
    split.push([before!, after]);
  }
  return { head: pieces.slice(0, first).join(''), tail: rest.join(''), cards: split };
}

/** Cards per compile: one MJML run costs ~4 ms for the shell plus ~1 ms per card. */
const CARDS_PER_COMPILE = 32;

/**
 * The assembler for one run's papers: each paper's card is compiled once, and every variant is
 * the shell's head, its cards with their ranks, and the shell's tail (its values filled per
 * variant). When a variant lacks cards, one compile makes them and the next uncompiled papers of
 * the run's list (in its order, the likeliest to be wanted next), so many variants cost a few
 * compiles, not one each. Papers are known by identity: a run ranks every variant from the same
 * frozen list of objects.
 */
export function cardAssembler(
  compileCards: (papers: Paper[]) => Promise<SplitPage>,
  runPapers: readonly Paper[] = [],
): (papers: readonly Paper[], fillShell: (part: string) => string) => Promise<string> {
  const cards = new Map<Paper, Promise<CardPiece>>();
  let shell: Promise<SplitPage> | undefined;
  return async (papers, fillShell) => {
    const missing = [...new Set(papers.filter((p) => !cards.has(p)))];
    if (missing.length) {
      const ahead = runPapers
        .filter((p) => !cards.has(p) && !missing.includes(p))
        .slice(0, Math.max(0, CARDS_PER_COMPILE - missing.length));
      missing.push(...ahead);
      const page = compileCards(missing);
      shell ??= page;
      missing.forEach((p, i) =>
        cards.set(
          p,
          page.then((s) => s.cards[i]!),
        ),
      );
    }
    const [{ head, tail }, ...pieces] = await Promise.all([shell!, ...papers.map((p) => cards.get(p)!)]);
    // The shell's own placeholders are filled in the shell alone: the cards have none.
    let html = fillShell(head);
    pieces.forEach(([before, after], i) => (html += before + String(i + 1) + after));
    return html + fillShell(tail);
  };
}
