import { arxivUrl, paperPageUrl, type Paper } from '../model/paper.ts';
import { safePaperLink } from '../domain/paper-links.ts';
import type { Cadence } from '../model/cadence.ts';
import { cutText } from './cut-text.ts';

// A paper's words and links as a digest shows them, and the plain-text parts of the emails: the
// HTML card (templates.ts) and the text twin say the same things from the same functions.

/** How long a card's text may be before it is cut: about three lines at 600 px. */
const ABSTRACT_MAX_CHARS = 300;
const AUTHORS_SHOWN = 3;
/** The paper's pages on Hugging Face and arXiv, then the links from the paper data that safePaperLink lets through. */
export function paperLinks(p: Paper): { label: string; url: string }[] {
  const fromData = [
    { label: 'Code', url: p.githubRepo },
    { label: 'Project page', url: p.projectPage },
  ].flatMap(({ label, url }) => {
    const safe = url === null ? undefined : safePaperLink(url);
    return safe === undefined ? [] : [{ label, url: safe }];
  });
  return [{ label: 'Paper', url: paperPageUrl(p.id) }, { label: 'arXiv', url: arxivUrl(p.id) }, ...fromData];
}

export function statsLine(p: Paper): string {
  const parts = [`▲ ${plural(p.upvotes, 'upvote')}`, plural(p.numComments, 'comment')];
  if (p.withdrawn) parts.push('withdrawn');
  return parts.join(' · ');
}

export function authorsLine(authors: string[]): string {
  const names = authors.map(oneLine).filter(Boolean);
  const shown = names.slice(0, AUTHORS_SHOWN).join(', ');
  return names.length > AUTHORS_SHOWN ? `${shown} et al.` : shown;
}

/** The AI summary is written to be short; the abstract is cut at a sentence or word near three lines. */
export function blurb(p: Paper): string {
  return cutText(oneLine(p.aiSummary?.trim() ? p.aiSummary : p.abstract), ABSTRACT_MAX_CHARS);
}

export function digestText(d: {
  subject: string;
  heading: string;
  cadence: Cadence;
  papers: Paper[];
  browserUrl: string;
  publicUrl: string;
  postal: string;
}): string {
  const { papers } = d;
  const lines = [d.subject, d.heading, `View in browser: ${d.browserUrl}`, ''];
  papers.forEach((p, i) => {
    const indent = ' '.repeat(String(papers.length).length + 2);
    lines.push(`${String(i + 1)}. ${textValue(oneLine(p.title))}`);
    const authors = authorsLine(p.authors);
    if (authors) lines.push(`${indent}${textValue(authors)}`);
    lines.push(`${indent}${statsLine(p)}`);
    lines.push(...wrap(textValue(blurb(p)), 72 - indent.length).map((l) => indent + l));
    for (const l of paperLinks(p)) lines.push(`${indent}${`${l.label}:`.padEnd(14)}${l.url}`);
    lines.push('');
  });
  lines.push(
    '--',
    `You get this email because you subscribed to the Paperboy ${d.cadence} digest at ${d.publicUrl}.`,
    'Preferences: {{preferences_url}}',
    'Unsubscribe: {{unsubscribe_url}}',
    textValue(d.postal),
  );
  return lines.join('\n');
}

export function confirmText(
  confirmUrl: string,
  preferencesUrl: string | undefined,
  publicUrl: string,
  postal: string,
): string {
  return [
    'Confirm your subscription to Paperboy',
    '',
    'Someone, hopefully you, asked to get the Paperboy digest of trending machine-learning papers at this address. Open this link and press its Confirm button:',
    '',
    confirmUrl,
    '',
    'The link is valid for 48 hours. If you did not ask for this, just ignore this email: without a click you will get no mail from us.',
    '',
    '--',
    `You get this email because someone asked to subscribe this address at ${publicUrl}.`,
    ...(preferencesUrl ? [`Preferences: ${preferencesUrl}`] : []),
    textValue(postal),
  ].join('\n');
}

export function alreadyText(
  links: { preferences_url: string; unsubscribe_url: string },
  publicUrl: string,
  postal: string,
): string {
  return [
    'You’re already subscribed to Paperboy',
    '',
    'Someone, hopefully you, asked to subscribe this address to the Paperboy digest of trending machine-learning papers. It already gets it, so nothing has changed.',
    '',
    `Change how many papers you get or which topics: ${links.preferences_url}`,
    `Unsubscribe in one click: ${links.unsubscribe_url}`,
    '',
    'If you did not ask for anything, just ignore this email.',
    '',
    '--',
    `You get this email because someone asked to subscribe this address at ${publicUrl}, which already gets the digest.`,
    textValue(postal),
  ].join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Outside text in the plain-text part: breaks "{{" so personalise cannot fill it. */
function textValue(s: string): string {
  return s.replaceAll('{{', '{ {');
}

export const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
