import type { Paper } from '../model/paper.ts';
import { html } from '../html.ts';
import { authorsLine, blurb, paperLinks } from '../mail/paper-text.ts';

interface AtomEntry {
  /** The edition's archive URL: its permanent id and the entry's link. */
  url: string;
  title: string;
  /** ISO 8601. */
  updated: string;
  papers: readonly Paper[];
}

export interface AtomFeed {
  title: string;
  /** The feed's own URL, also its id. */
  selfUrl: string;
  /** The web page the feed mirrors. */
  alternateUrl: string;
  /** ISO 8601: when the newest entry was made, or the epoch for a feed with none. */
  updated: string;
  entries: readonly AtomEntry[];
}

/**
 * An Atom (RFC 4287) document. Outside text is escaped twice where it has to be: once as HTML
 * inside an entry's content, then the whole content once more as XML text, so a feed reader that
 * renders the HTML shows a title's `<script>` as text.
 */
export function renderAtom(feed: AtomFeed): string {
  const entries = feed.entries.map(
    (e) => `  <entry>
    <id>${xml(e.url)}</id>
    <title>${xml(e.title)}</title>
    <link rel="alternate" type="text/html" href="${xml(e.url)}"/>
    <updated>${xml(e.updated)}</updated>
    <content type="html">${xml(entryHtml(e.papers))}</content>
  </entry>
`,
  );
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${xml(feed.selfUrl)}</id>
  <title>${xml(feed.title)}</title>
  <link rel="self" type="application/atom+xml" href="${xml(feed.selfUrl)}"/>
  <link rel="alternate" type="text/html" href="${xml(feed.alternateUrl)}"/>
  <author><name>Paperboy</name></author>
  <updated>${xml(feed.updated)}</updated>
${entries.join('')}</feed>
`;
}

/** A paper per list item, with what a digest card shows: title, authors, summary and links. */
function entryHtml(papers: readonly Paper[]): string {
  const items = papers.map((p) => {
    const [page, ...links] = paperLinks(p);
    const authors = authorsLine(p.authors);
    return html`<li><p><a href="${page?.url}"><strong>${p.title}</strong></a></p>${authors ? html`<p>${authors}</p>` : ''}<p>${blurb(p)}</p><p>${links.map((l, i) => html`${i ? ' · ' : ''}<a href="${l.url}">${l.label}</a>`)}</p></li>`;
  });
  return html`<ol>${items}</ol>`.value;
}

// XML 1.0 allows neither control characters (other than tab and line breaks) nor unpaired surrogates.
const NOT_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** XML text and attribute escaping. */
function xml(s: string): string {
  return s.replace(NOT_XML, '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
