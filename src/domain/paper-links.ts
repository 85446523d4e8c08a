import type { Paper } from '../model/paper.ts';

/**
 * Which links from the paper data (a paper's code repository and project page) may go into an
 * email. The data is whatever was typed upstream, and a link in an email from us borrows our
 * reputation: it must be plain https to a host the reader can judge by its name. So no other
 * scheme or port, no IP literal, no userinfo ("https://github.com@evil.example/" goes to
 * evil.example), no punycode label (look-alike letters), no URL shortener (hides where it goes).
 */

/** Well-known public shorteners; a subdomain of one counts too. */
const SHORTENERS = [
  'bit.ly',
  'bitly.com',
  'buff.ly',
  'cutt.ly',
  'goo.gl',
  'is.gd',
  'lnkd.in',
  'ow.ly',
  'rb.gy',
  'rebrand.ly',
  's.id',
  'shorturl.at',
  't.co',
  't.ly',
  'tiny.cc',
  'tinyurl.com',
  'v.gd',
];

export type PaperLinkCheck = { url: string } | { reason: string };

/** The link as an email may show it (normalised), or why it may not. */
export function checkPaperLink(raw: string): PaperLinkCheck {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { reason: 'not a URL' };
  }
  // The URL parser has already folded a default port away and IPv4 spellings (hex, one number) to dotted quads.
  if (url.protocol !== 'https:') return { reason: `${url.protocol} is not https:` };
  if (url.port) return { reason: `port ${url.port} is not 443` };
  if (url.username || url.password) return { reason: 'userinfo before the host' };
  const host = url.hostname.replace(/\.$/, '');
  if (host.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(host)) return { reason: 'an IP address as the host' };
  if (host.split('.').some((label) => label.startsWith('xn--'))) return { reason: 'a punycode (xn--) label' };
  const shortener = SHORTENERS.find((s) => host === s || host.endsWith(`.${s}`));
  if (shortener) return { reason: `a URL shortener (${shortener})` };
  return { url: url.href };
}

/** The link as an email may show it, or undefined: the one rule for links from the paper data. */
export function safePaperLink(raw: string): string | undefined {
  const check = checkPaperLink(raw);
  return 'url' in check ? check.url : undefined;
}

export interface DroppedLink {
  field: 'githubRepo' | 'projectPage';
  url: string;
  reason: string;
}

/** The paper's links that safePaperLink leaves out of emails, and why. */
export function droppedPaperLinks(p: Paper): DroppedLink[] {
  const dropped: DroppedLink[] = [];
  for (const field of ['githubRepo', 'projectPage'] as const) {
    const url = p[field];
    if (url === null) continue;
    const check = checkPaperLink(url);
    if ('reason' in check) dropped.push({ field, url, reason: check.reason });
  }
  return dropped;
}
