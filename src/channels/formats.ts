import { arxivUrl, paperPageUrl, type Paper } from '../model/paper.ts';
import type { Cadence } from '../model/cadence.ts';
import type { ChannelKind } from '../db/channels-store.ts';
import { cutText } from '../mail/cut-text.ts';
import { topLine, weekLine } from '../mail/edition-names.ts';
import { authorsLine, blurb, oneLine, paperLinks, statsLine } from '../mail/paper-text.ts';

// An edition as each kind of channel takes it. Titles and summaries come from outside (the paper
// source): on Slack they only ever go in plain_text objects, which Slack shows as they are (no
// mentions, links or mrkdwn); on Discord every markdown character is escaped and mentions are
// switched off. In both, "://" in that text gets a zero-width space, so a URL in a title is shown,
// never turned into a link. Links are only ours: the paper's pages and the links safePaperLink lets through.

/** An edition for one channel: the papers ranked for its size and keywords, best first. */
export interface ChannelEdition {
  date: string;
  cadence: Cadence;
  papers: readonly Paper[];
  /** The edition's page in the web archive. */
  archiveUrl: string;
}

/** Slack's documented Block Kit limits. */
const SLACK_LIMITS = { blocks: 50, text: 3000, header: 150, buttonText: 75, url: 3000, actions: 25 } as const;
/** Discord's documented webhook limits. */
const DISCORD_LIMITS = { content: 2000, embeds: 10, total: 6000, title: 256, description: 4096 } as const;

/** The stats line and each link get this much of an embed's description, the summary twice that: 4,096 holds all. */
const DISCORD_PART = 512;
const SLACK_BLOCKS_PER_PAPER = 2;
/** The header block, and the "and N more" context with its button. */
const SLACK_FRAME_BLOCKS = 3;

/** "Top 10 papers of Tue 24 Nov", or for a week "Week of 23–29 Nov 2026: top 10 papers". */
function editionTitle(e: Pick<ChannelEdition, 'date' | 'cadence'>, count: number): string {
  return e.cadence === 'weekly'
    ? `${weekLine(e.date)}: top ${count} ${count === 1 ? 'paper' : 'papers'}`
    : topLine(count, e.date);
}

/** A URL in outside text stays text: a zero-width space after the scheme's colon. */
const defuseUrls = (text: string) => text.replace(/:\/\//g, ':\u200b//');

/** What Slack's mrkdwn (and the notification text) needs escaped: its control characters. */
function escapeSlackMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Every character Discord's markdown gives a meaning to, a backslash before it (Discord then shows it as is). */
function escapeDiscord(text: string): string {
  return defuseUrls(oneLine(text))
    .replace(/[\\*_~`|[\]()<>#@:!-]/g, '\\$&')
    .replace(/^(\d+)\./, '$1\\.');
}

/** A link target inside Discord markdown: the characters that could end the link, percent-encoded. */
const discordUrl = (url: string) =>
  url.replace(/[()[\]<>\s]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);

/** `raw` cut (at a word or sentence) until its escaped form fits `max` characters. */
function fitted(raw: string, max: number, escape: (s: string) => string): string {
  let limit = max;
  for (;;) {
    const text = escape(cutText(raw, limit));
    if (text.length <= max || limit <= 1) return text.slice(0, max);
    limit = Math.max(1, Math.floor((limit * max) / text.length) - 1);
  }
}

const plain = (text: string, max: number) => ({ type: 'plain_text', text: fitted(text, max, defuseUrls) || '–' });

/** The Slack Block Kit message: per paper a plain_text section and a row of link buttons. */
export function slackPayload(e: ChannelEdition): object {
  const room = Math.floor((SLACK_LIMITS.blocks - SLACK_FRAME_BLOCKS) / SLACK_BLOCKS_PER_PAPER);
  const shown = e.papers.slice(0, room);
  const title = editionTitle(e, e.papers.length);
  const blocks: object[] = [{ type: 'header', text: plain(title, SLACK_LIMITS.header) }];
  shown.forEach((p, i) => {
    const text = [
      `${i + 1}. ${oneLine(p.title)}`,
      [statsLine(p), authorsLine(p.authors)].filter(Boolean).join(' · '),
      blurb(p),
    ];
    blocks.push({ type: 'section', text: plain(text.join('\n'), SLACK_LIMITS.text) });
    blocks.push({
      type: 'actions',
      elements: paperLinks(p)
        .filter((l) => l.url.length <= SLACK_LIMITS.url)
        .slice(0, SLACK_LIMITS.actions)
        .map((l, j) => ({
          type: 'button',
          action_id: `paper-${i + 1}-${j + 1}`,
          text: plain(l.label, SLACK_LIMITS.buttonText),
          url: l.url,
        })),
    });
  });
  const more = e.papers.length - shown.length;
  if (more > 0)
    blocks.push(
      { type: 'context', elements: [plain(`and ${more} more in the full digest`, SLACK_LIMITS.text)] },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: 'archive',
            text: plain('Full digest', SLACK_LIMITS.buttonText),
            url: e.archiveUrl,
          },
        ],
      },
    );
  // The notification and fallback text is mrkdwn: escaped, though it holds only our own words.
  return { text: escapeSlackMrkdwn(`Paperboy: ${title}`), blocks };
}

/** One Discord embed per paper while the limits allow; the rest as "and N more" with the archive link. */
export function discordPayload(e: ChannelEdition): object {
  const embeds: object[] = [];
  let total = 0;
  for (const [i, p] of e.papers.entries()) {
    if (embeds.length === DISCORD_LIMITS.embeds) break;
    const title = fitted(`${i + 1}. ${oneLine(p.title)}`, DISCORD_LIMITS.title, escapeDiscord);
    // Each part bounded so that the three always fit the description's limit together.
    const links = paperLinks(p)
      .map((l) => `[${l.label}](${discordUrl(l.url)})`)
      .filter((link) => link.length <= DISCORD_PART)
      .join(' · ');
    const about = fitted(
      [statsLine(p), authorsLine(p.authors)].filter(Boolean).join(' · '),
      DISCORD_PART,
      escapeDiscord,
    );
    const description = [about, fitted(blurb(p), 2 * DISCORD_PART, escapeDiscord), links].join('\n');
    if (total + title.length + description.length > DISCORD_LIMITS.total) break;
    total += title.length + description.length;
    embeds.push({ title, url: paperPageUrl(p.id), description });
  }
  const more = e.papers.length - embeds.length;
  const content = [
    `**${escapeDiscord(editionTitle(e, e.papers.length))}**`,
    ...(more > 0 ? [`and ${more} more in the full digest: <${discordUrl(e.archiveUrl)}>`] : []),
  ].join('\n');
  return { content, embeds, allowed_mentions: { parse: [] } };
}

/** The edition as a JSON document (docs/operating.md describes it): the text as it is, for the receiver to escape. */
export function jsonDocument(e: ChannelEdition): object {
  return {
    version: 1,
    cadence: e.cadence,
    date: e.date,
    title: editionTitle(e, e.papers.length),
    url: e.archiveUrl,
    papers: e.papers.map((p, i) => ({
      rank: i + 1,
      id: p.id,
      title: oneLine(p.title),
      summary: blurb(p),
      abstract: p.abstract,
      authors: p.authors,
      upvotes: p.upvotes,
      comments: p.numComments,
      publishedAt: p.publishedAt,
      links: { paper: paperPageUrl(p.id), arxiv: arxivUrl(p.id), more: paperLinks(p).slice(2) },
    })),
  };
}

export function channelPayload(kind: ChannelKind, e: ChannelEdition): object {
  return kind === 'slack' ? slackPayload(e) : kind === 'discord' ? discordPayload(e) : jsonDocument(e);
}

/** The kind a webhook URL names: Slack's and Discord's own hosts; anything else is taken as JSON. */
export function kindOfUrl(url: URL): ChannelKind {
  const host = url.hostname.toLowerCase();
  if (host === 'hooks.slack.com') return 'slack';
  if (/^((ptb|canary)\.)?discord(app)?\.com$/.test(host) && url.pathname.startsWith('/api/webhooks/')) return 'discord';
  return 'json';
}
