import { describe, expect, it } from 'vitest';
import type { Paper } from '../../src/model/paper.ts';
import { rankPapers } from '../../src/domain/ranking.ts';
import {
  discordPayload,
  jsonDocument,
  kindOfUrl,
  slackPayload,
  type ChannelEdition,
} from '../../src/channels/formats.ts';
import { maskUrl, retryAfterMs } from '../../src/channels/poster.ts';
import { fixturePapers } from '../support/fixture-papers.ts';
import { checkDiscord, checkSlack } from '../support/webhook-server.ts';
import { HOSTILE, hostilePapers, liveDiscordMarkup, slackTexts } from '../support/channel-injections.ts';

const ARCHIVE = 'https://papers.example.org/digests/2026-11-24';
const day = rankPapers(fixturePapers('2026-11-24'), { size: 100 });
const edition = (papers: readonly Paper[]): ChannelEdition => ({
  date: '2026-11-24',
  cadence: 'daily',
  papers,
  archiveUrl: ARCHIVE,
});
/** `n` papers from the fixture day, repeated as needed, each with its own id and rank. */
const many = (n: number, change: (p: Paper, i: number) => Partial<Paper> = () => ({})): Paper[] =>
  Array.from({ length: n }, (_, i) => {
    const p = day[i % day.length]!;
    return { ...p, id: `2611.${String(10000 + i)}`, upvotes: 1000 - i, ...change(p, i) };
  });

const hostile = hostilePapers(many(HOSTILE.length));

describe('Slack Block Kit', () => {
  it('when an edition of 20 papers goes to Slack, then all 20 are shown within 50 blocks and the text limits', () => {
    const payload = slackPayload(edition(many(20)));
    expect(checkSlack(payload)).toEqual([]);
    const blocks = (payload as { blocks: { type: string }[] }).blocks;
    expect(blocks.filter((b) => b.type === 'section')).toHaveLength(20);
  });

  it('when titles and summaries are far too long, then they are cut to fit and the payload stays valid', () => {
    const payload = slackPayload(
      edition(many(20, (p) => ({ title: `${p.title} `.repeat(40), aiSummary: `${p.abstract} `.repeat(30) }))),
    );
    expect(checkSlack(payload)).toEqual([]);
  });

  it('when titles and summaries try mentions, links and markup, then Slack gets them only as plain_text, URLs defused', () => {
    const payload = slackPayload(edition(hostile));
    expect(checkSlack(payload)).toEqual([]);
    const texts = slackTexts(payload);
    const mrkdwn = texts.filter((t) => t.type === 'mrkdwn').map((t) => t.text);
    const top = (payload as { text: string }).text;
    for (const h of HOSTILE) for (const t of [top, ...mrkdwn]) expect(t).not.toContain(h);
    // The text is all there, shown as it is.
    const plain = texts.filter((t) => t.type === 'plain_text').map((t) => t.text);
    for (const h of HOSTILE.filter((t) => !t.includes('://')))
      expect(
        plain.some((t) => t.includes(h)),
        h,
      ).toBe(true);
    for (const t of plain) expect(t).not.toMatch(/https?:\/\//);
    const urls = JSON.stringify(payload).match(/"url":"[^"]*"/g) ?? [];
    expect(urls.filter((u) => u.includes('evil') && !u.startsWith('"url":"https://github.com/'))).toEqual([]);
    expect(JSON.stringify(payload)).not.toContain('javascript:');
  });
});

describe('Discord webhook', () => {
  it('when an edition has more than 10 papers, then 10 embeds go and the content says how many more, with the archive link', () => {
    const payload = discordPayload(edition(many(20))) as { content: string; embeds: unknown[] };
    expect(checkDiscord(payload)).toEqual([]);
    expect(payload.embeds).toHaveLength(10);
    expect(payload.content).toContain(`and 10 more in the full digest: <${ARCHIVE}>`);
  });

  it('when long texts would pass 6,000 characters in all, then the papers that fit go and the rest are counted', () => {
    const payload = discordPayload(
      edition(
        many(10, (p) => ({
          title: `${p.title} `.repeat(20),
          aiSummary: `${p.abstract} `.repeat(20),
          authors: ['_'.repeat(5000), 'B'],
          githubRepo: `https://github.com/${'a/'.repeat(3000)}`,
        })),
      ),
    ) as { content: string; embeds: unknown[] };
    expect(checkDiscord(payload)).toEqual([]);
    expect(payload.embeds.length).toBeLessThan(10);
    expect(payload.content).toContain(`and ${10 - payload.embeds.length} more`);
  });

  it('when titles and summaries try mentions, links and markup, then every markdown character is escaped and mentions are off', () => {
    const payload = discordPayload(edition(hostile)) as {
      content: string;
      embeds: { title: string; description: string; url: string }[];
      allowed_mentions: unknown;
    };
    expect(checkDiscord(payload)).toEqual([]);
    expect(payload.allowed_mentions).toEqual({ parse: [] });
    for (const text of [payload.content, ...payload.embeds.flatMap((e) => [e.title, e.description])])
      expect(liveDiscordMarkup(text), text).toEqual([]);
    for (const e of payload.embeds) expect(e.url).toMatch(/^https:\/\/huggingface\.co\/papers\/2611\.\d+$/);
    expect(JSON.stringify(payload)).not.toContain('javascript:');
  });
});

describe('the JSON document', () => {
  it('when an edition is posted as JSON, then the papers and their text go as they are, ranked, with the archive link', () => {
    const doc = jsonDocument(edition(hostile.slice(0, 3))) as {
      version: number;
      url: string;
      papers: { rank: number; title: string; links: { paper: string; more: { label: string; url: string }[] } }[];
    };
    expect(doc.version).toBe(1);
    expect(doc.url).toBe(ARCHIVE);
    expect(doc.papers.map((p) => [p.rank, p.title])).toEqual(HOSTILE.slice(0, 3).map((t, i) => [i + 1, t]));
    expect(doc.papers[0]!.links.more.map((l) => l.label)).toEqual(['Code']);
  });
});

describe('webhook URLs', () => {
  it('when a URL is a Slack or Discord webhook, then its kind is taken from it; any other URL is JSON', () => {
    expect(kindOfUrl(new URL('https://hooks.slack.com/services/T0/B0/x'))).toBe('slack');
    expect(kindOfUrl(new URL('https://discord.com/api/webhooks/1/abc'))).toBe('discord');
    expect(kindOfUrl(new URL('https://canary.discordapp.com/api/webhooks/1/abc'))).toBe('discord');
    expect(kindOfUrl(new URL('https://discord.com/channels/1'))).toBe('json');
    expect(kindOfUrl(new URL('https://hooks.slack.com.evil.example/services/x'))).toBe('json');
  });

  it('when a URL is shown, then only its scheme, host and the first characters of its path are', () => {
    expect(maskUrl('https://hooks.slack.com/services/T000/B000/SECRETsecret')).toBe(
      'https://hooks.slack.com/services/…',
    );
    expect(maskUrl('https://discord.com/api/webhooks/123/token')).not.toContain('token');
  });

  it('when Retry-After is in seconds or an HTTP date, then the wait is read from either', () => {
    const now = new Date('2026-11-24T07:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('0.5', now)).toBe(500);
    expect(retryAfterMs('Tue, 24 Nov 2026 07:00:10 GMT', now)).toBe(10_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
