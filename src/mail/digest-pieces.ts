/**
 * A digest cut into pieces that join by plain concatenation. MJML compiles every top-level
 * mj-section of the body on its own, so a paper's card compiles to the same HTML whatever its
 * neighbours; what ties neighbours together is MJML's last step, which merges the Outlook
 * conditional comment that closes one section with the one that opens the next:
 *
 *   …</div>⏎  <!--[if mso | IE]></td></tr></table><table align="center" …><tr><td …><![endif]-->⏎  <div…
 *
 * Cutting the compiled page between `</table>` and `<table` of each merged pair gives pieces that
 * join back in any order and number. The digest is compiled once with a single card whose rank is
 * the placeholder {{rank}}, which also tells the card's piece from the shell's; every variant is
 * then the shell's head, its cards with their ranks, and the shell's tail (templates.ts). The
 * templates' build check compares such a digest with a direct compile, so a template change that
 * breaks this fails the start, not the send.
 */

export const RANK_PLACEHOLDER = '{{rank}}';

/** A card: the HTML before and after its rank. */
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
    const piece = splitAtRank(card);
    if (!piece) return null;
    split.push(piece);
  }
  return { head: pieces.slice(0, first).join(''), tail: rest.join(''), cards: split };
}

/** A card's HTML cut at its one {{rank}}; null when it has none or several. */
export function splitAtRank(card: string): CardPiece | null {
  const [before, after, ...more] = card.split(RANK_PLACEHOLDER);
  return after === undefined || more.length ? null : [before!, after];
}

/** One variant: the head, the cards ranked 1, 2, … in their order, the tail. */
export function joinPieces(head: string, cards: readonly CardPiece[], tail: string): string {
  let html = head;
  cards.forEach(([before, after], i) => (html += before + String(i + 1) + after));
  return html + tail;
}
