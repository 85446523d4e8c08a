/**
 * Shortens a paper's summary to at most `max` characters (code points, so an emoji or a surrogate
 * pair is never split), at a boundary a reader expects, found by Intl.Segmenter:
 *
 * 1. whole sentences, when those that fit make at least 60 % of `max`: the text ends with its own
 *    full stop. A "sentence" that ends in a short word ("et al.", "Dr.") is not taken as an end:
 *    the segmenter breaks there, a reader would not;
 * 2. otherwise whole words, then "…". A word followed by a full stop ("e.g", "i.e", "Fig") is not
 *    an end either, so a summary never stops inside "architectures (e.g.";
 * 3. text with no usable boundary that far (a long URL) is cut at the limit, unless the limit falls
 *    in or just after "e.g." or "i.e.": then it ends at the last whole word before, however short.
 */
export function cutText(text: string, max: number): string {
  if (Array.from(text).length <= max) return text;
  const floor = max * 0.6;

  let sentences = '';
  for (const { segment } of sentenceSegmenter.segment(text)) {
    if (length(sentences + segment.trimEnd()) > max) break;
    sentences += segment;
    if (length(sentences) >= floor && endsSentence(sentences)) return sentences.trimEnd();
  }

  const words = [...wordSegmenter.segment(text)];
  let end = 0;
  let used = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    used += length(w.segment);
    if (used > max - 1) break;
    if (w.isWordLike && !words[i + 1]?.segment.startsWith('.')) end = w.index + w.segment.length;
  }
  const hard = Array.from(text)
    .slice(0, max - 1)
    .join('');
  const head = length(text.slice(0, end)) >= floor || inAbbreviation(text, hard.length) ? text.slice(0, end) : hard;
  return `${head.replace(/[\s([{"'“‘,;:.\-–—]+$/u, '')}…`;
}

const sentenceSegmenter = new Intl.Segmenter('en', { granularity: 'sentence' });
const wordSegmenter = new Intl.Segmenter('en', { granularity: 'word' });
const length = (s: string) => Array.from(s).length;

/** "e.g." and "i.e." in any case, a space inside or not, with the comma and spaces after them. */
const ABBREVIATION = /\b(?:e\.\s?g|i\.\s?e)\.?,?\s*/giu;

/** A cut at `at` (a string index) would end the text inside one of them, or just after it. */
function inAbbreviation(text: string, at: number): boolean {
  for (const m of text.matchAll(ABBREVIATION)) if (m.index < at && at <= m.index + m[0].length) return true;
  return false;
}

/** Ends in . ! ? (or 。！？, perhaps before a closing bracket or quote) after a word of three letters or more. */
function endsSentence(s: string): boolean {
  return /(?:\p{L}{3,}|\p{N}+%?|\p{Lu}{2,})[.!?。！？]["'”’)\]]*\s*$/u.test(s);
}
