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

/** The boundary between two top-level sections after MJML merged their conditional comments. */
const SECTION_SEAM = /(?<=<!--\[if mso \| IE\]><\/td><\/tr><\/table>)(?=<table\b)/;

/**
 * Cuts a compiled digest around its one card, which carries {{rank}} once; null when the page does
 * not have that shape (a card that is not exactly one top-level mj-section, or no rank in it).
 */
export function splitCard(html: string): { head: string; card: string; tail: string } | null {
  const pieces = html.split(SECTION_SEAM);
  const at = pieces.findIndex((p) => p.includes(RANK_PLACEHOLDER));
  if (at < 0) return null;
  const card = pieces[at]!;
  const rest = pieces.slice(at + 1);
  if (!splitAtRank(card) || rest.some((p) => p.includes(RANK_PLACEHOLDER))) return null;
  return { head: pieces.slice(0, at).join(''), card, tail: rest.join('') };
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
