import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Paper } from '../../src/model/paper.ts';
import { parseKeywords, rankPapers } from '../../src/domain/ranking.ts';
import { signSubscriberToken, subscriberLinks } from '../../src/domain/tokens.ts';
import { FEED_REQUESTS_PER_MINUTE } from '../../src/http/routes/feeds.ts';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';
import { parseFeed } from '../support/feed.ts';
import { fixturePapers } from '../support/fixture-papers.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';

const publicUrl = 'https://papers.example.org';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A paper whose title carries markup, quotes, CJK and characters XML cannot hold. */
const markupPaper = (): Paper => ({
  ...fixturePapers('2026-11-25')[0]!,
  title: 'Top <script>alert(1)</script> & "friends" ]]> 注意力\u0007 \uD800',
  githubRepo: 'https://t.co/abc',
  projectPage: 'https://github.com@evil.example/x',
});

/** A day's papers as the send freezes them: ranked whole. */
const frozen = (papers: Paper[]) => rankPapers(papers, { size: papers.length });

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' });
  t.ctx.digests.save('2026-11-23', frozen(fixturePapers('2026-11-23')));
  t.ctx.digests.save('2026-11-24', frozen(fixturePapers('2026-11-24')));
  t.ctx.digests.save('2026-11-25', [markupPaper(), ...frozen(fixturePapers('2026-11-25').slice(1))]);
  t.ctx.digests.save('2026-11-21', []);
});
afterEach(async () => t.close());

/** The paper titles of each entry, in order, as a feed reader shows them (the content's HTML read as HTML). */
const entryTitles = (content: string) =>
  [...content.matchAll(/<strong>(.*?)<\/strong>/g)].map((m) => unescapeHtml(m[1]!));
const unescapeHtml = (s: string) => s.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)));

/** A confirmed subscriber with these settings, and their preferences page's path. */
async function subscribe(email: string, fields: Record<string, string>): Promise<{ id: number; preferences: string }> {
  await t.app.inject({
    method: 'POST',
    url: '/subscribe',
    headers: FORM,
    payload: new URLSearchParams({ email, ...fields }).toString(),
  });
  const { kind, payload } = t.ctx.db.prepare('SELECT kind, payload FROM mail_queue WHERE recipient = ?').get(email) as {
    kind: string;
    payload: string;
  };
  const confirmUrl = /https:\/\/papers\.example\.org(\/confirm\/[\w-]+)/.exec(
    renderQueuedMail(t.templates, { kind, payload: JSON.parse(payload) }).text,
  )![1]!;
  await t.app.inject({ method: 'POST', url: confirmUrl });
  const id = t.ctx.subscribers.byEmail(email)!.id;
  return { id, preferences: new URL(subscriberLinks(publicUrl, t.ctx.secret, id).preferencesUrl).pathname };
}

/** The personal feed's path as the preferences page shows it. */
async function feedPathOn(preferences: string): Promise<string> {
  const page = await t.app.inject(preferences);
  const url = /<a href="(https:\/\/papers\.example\.org\/feeds\/[\w.-]+\.atom)">/.exec(page.body)?.[1];
  expect(url).toBeDefined();
  return new URL(url!).pathname;
}

describe('GET /digests.atom', () => {
  it('when fetched, then a feed parser reads one entry per edition with papers, newest first, with absolute links', async () => {
    const res = await t.app.inject('/digests.atom');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    const feed = await parseFeed(res.body);
    expect(feed.meta['#type']).toBe('atom');
    expect(feed.meta.xmlurl).toBe(`${publicUrl}/digests.atom`);
    expect(feed.meta.link).toBe(`${publicUrl}/digests`);
    expect(feed.items.map((i) => i.link)).toEqual(
      ['2026-11-25', '2026-11-24', '2026-11-23'].map((d) => `${publicUrl}/digests/${d}`),
    );
    expect(feed.items.map((i) => i.guid)).toEqual(feed.items.map((i) => i.link));
    expect(feed.items[1]!.title).toBe('Top 10 papers of Tue 24 Nov');

    const papers = frozen(fixturePapers('2026-11-24')).slice(0, 10);
    const content = feed.items[1]!.description;
    expect(entryTitles(content)).toEqual(papers.map((p) => p.title));
    expect(content).toContain(`<a href="https://huggingface.co/papers/${papers[0]!.id}">`);
    expect(content).toContain(`<a href="https://arxiv.org/abs/${papers[0]!.id}">arXiv</a>`);
    expect(content).toContain(papers[0]!.authors[0]);
    expect(content).toContain(`<a href="${papers[0]!.githubRepo}">Code</a>`);
  });

  it('when a day’s titles hold markup, quotes, CJK and control characters, then the feed stays valid and shows them as text', async () => {
    const res = await t.app.inject('/digests.atom?size=20');
    expect(res.body).not.toContain('<script>');
    expect(res.body).not.toContain('<b>Bold</b>');
    const feed = await parseFeed(res.body);
    const hostile = feed.items[0]!.description;
    // Read as HTML, the content has the title as text, not as an element.
    expect(hostile).toContain('Top &#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;friends&#34; ]]&#62; 注意力');
    expect(hostile).not.toContain('<script>');
    expect(hostile).not.toContain('\u0007');
    const cjk = feed.items[1]!.description;
    expect(cjk).toContain(
      'Why &#60;b&#62;Bold&#60;/b&#62; &#38; &#34;Quoted&#34; Titles Break Naive Templates — 大模型',
    );
  });

  it('when a paper’s links from the paper data break the link rule, then its entry leaves them out', async () => {
    const res = await t.app.inject('/digests.atom');
    expect(res.body).not.toContain('t.co/abc');
    expect(res.body).not.toContain('evil.example');
  });

  it('when keywords are given, then each entry holds what the email with those keywords holds (stems, phrases, CJK)', async () => {
    const feed = await parseFeed((await t.app.inject('/digests.atom?keywords=agent,%20reward%20model')).body);
    const expected = ['2026-11-25', '2026-11-24', '2026-11-23']
      .map((d) =>
        rankPapers(t.ctx.digests.get(d)!.papers, { size: 10, keywords: parseKeywords('agent, reward model') }),
      )
      .filter((papers) => papers.length > 0);
    expect(feed.items.map((i) => entryTitles(i.description))).toEqual(expected.map((ps) => ps.map((p) => p.title)));
    expect(feed.items.flatMap((i) => entryTitles(i.description)).some((title) => /Agentic/.test(title))).toBe(true);
    expect(feed.meta.xmlurl).toBe(`${publicUrl}/digests.atom?keywords=agent%2Creward+model`);

    const cjk = await parseFeed((await t.app.inject(`/digests.atom?keywords=${encodeURIComponent('大模型')}`)).body);
    expect(cjk.items.map((i) => i.link)).toEqual([`${publicUrl}/digests/2026-11-24`]);
    expect(cjk.items[0]!.title).toBe('Top 1 paper of Tue 24 Nov');
  });

  it('when the keywords match nothing, then the feed is valid and has no entries', async () => {
    const res = await t.app.inject('/digests.atom?keywords=quantum%20chromodynamics');
    expect(res.statusCode).toBe(200);
    expect((await parseFeed(res.body)).items).toEqual([]);
  });

  it('when a size is given, then each entry holds at most that many papers', async () => {
    const feed = await parseFeed((await t.app.inject('/digests.atom?size=5')).body);
    expect(entryTitles(feed.items[1]!.description)).toEqual(
      frozen(fixturePapers('2026-11-24'))
        .slice(0, 5)
        .map((p) => p.title),
    );
    expect(feed.items[1]!.title).toBe('Top 5 papers of Tue 24 Nov');
  });

  it.each([
    ['a size a subscription cannot have', 'size=7', 'Number of papers must be 5, 10 or 20.'],
    ['a size that is not a number', 'size=lots', 'Number of papers must be 5, 10 or 20.'],
    ['too many keywords', `keywords=${'a,b,c,d,e,f,g,h,i,j,k'}`, 'Please give at most 10 keywords.'],
    ['a keyword of punctuation', 'keywords=%3Cscript%3E', 'Keywords are words of letters and digits'],
  ])('when given %s, then it answers 400 saying what is wrong', async (_name, query, message) => {
    const res = await t.app.inject(`/digests.atom?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain(message);
  });

  it('when the weekly edition is out, then it is an entry beside the days, newest first', async () => {
    t.ctx.digests.save('2026-11-29', [...fixturePapers('2026-11-25'), ...fixturePapers('2026-11-24')], 'weekly');
    const feed = await parseFeed((await t.app.inject('/digests.atom')).body);
    expect(feed.items[0]!.link).toBe(`${publicUrl}/digests/weekly/2026-11-29`);
    expect(feed.items[0]!.title).toBe('Week of 23–29 Nov 2026');
  });

  it('when nothing was sent yet, then the feed is valid and empty', async () => {
    const empty = await createTestApp();
    try {
      const res = await empty.app.inject('/digests.atom');
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('<updated>1970-01-01T00:00:00.000Z</updated>');
      expect((await parseFeed(res.body)).items).toEqual([]);
    } finally {
      await empty.close();
    }
  });
});

describe('feed caching and limits', () => {
  it('when the client sends the ETag it has, then it answers 304 without a body, until a new edition comes', async () => {
    const first = await t.app.inject('/digests.atom');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.headers['cache-control']).toBe('public, max-age=900');
    expect(first.headers['last-modified']).toBe(new Date(t.ctx.digests.list(1)[0]!.createdAt).toUTCString());

    const again = await t.app.inject({ url: '/digests.atom', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers.etag).toBe(etag);

    t.ctx.digests.save('2026-11-26', fixturePapers('2026-11-23'));
    const changed = await t.app.inject({ url: '/digests.atom', headers: { 'if-none-match': etag } });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
  });

  it('when the client sends the Last-Modified it has and no ETag, then it answers 304', async () => {
    const first = await t.app.inject('/digests.atom');
    const since = first.headers['last-modified'] as string;
    const again = await t.app.inject({ url: '/digests.atom', headers: { 'if-modified-since': since } });
    expect(again.statusCode).toBe(304);
    const older = new Date(Date.parse(since) - 1000).toUTCString();
    expect((await t.app.inject({ url: '/digests.atom', headers: { 'if-modified-since': older } })).statusCode).toBe(
      200,
    );
  });

  it('when one client asks more often than the limit in a minute, then it gets 429 and another client does not', async () => {
    const ask = (ip: string) => t.app.inject({ url: '/digests.atom', remoteAddress: ip });
    for (let i = 0; i < FEED_REQUESTS_PER_MINUTE; i++) expect((await ask('192.0.2.10')).statusCode).toBe(200);
    expect((await ask('192.0.2.10')).statusCode).toBe(429);
    expect((await ask('192.0.2.11')).statusCode).toBe(200);
  });
});

describe('GET /feeds/<token>.atom', () => {
  it('when a subscriber opens their preferences, then the page shows their feed, which follows their settings', async () => {
    const { preferences } = await subscribe('ada@example.org', { keywords: 'agent', digest_size: '5' });
    const path = await feedPathOn(preferences);
    const res = await t.app.inject(path);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('private, max-age=900');
    const feed = await parseFeed(res.body);
    expect(feed.meta.xmlurl).toBe(`${publicUrl}${path}`);
    const expected = ['2026-11-25', '2026-11-24', '2026-11-23']
      .map((d) => rankPapers(t.ctx.digests.get(d)!.papers, { size: 5, keywords: ['agent'] }))
      .filter((papers) => papers.length > 0);
    expect(feed.items.map((i) => entryTitles(i.description))).toEqual(expected.map((ps) => ps.map((p) => p.title)));

    await t.app.inject({
      method: 'POST',
      url: preferences,
      headers: FORM,
      payload: 'digest_size=5&keywords=&cadence=weekly',
    });
    t.ctx.digests.save('2026-11-29', frozen(fixturePapers('2026-11-24')), 'weekly');
    const weekly = await parseFeed((await t.app.inject(path)).body);
    expect(weekly.items.map((i) => i.link)).toEqual([`${publicUrl}/digests/weekly/2026-11-29`]);
    expect(entryTitles(weekly.items[0]!.description)).toHaveLength(5);
  });

  it('when the subscriber unsubscribes, then their feed answers 410', async () => {
    const { id, preferences } = await subscribe('ada@example.org', {});
    const path = await feedPathOn(preferences);
    expect((await t.app.inject(path)).statusCode).toBe(200);
    const unsubscribe = new URL(subscriberLinks(publicUrl, t.ctx.secret, id).unsubscribeUrl).pathname;
    await t.app.inject({ method: 'POST', url: unsubscribe, headers: FORM, payload: 'List-Unsubscribe=One-Click' });
    expect((await t.app.inject(path)).statusCode).toBe(410);
  });

  it('when a feed token is used as a preferences or unsubscribe token, or the other way round, then nothing is found', async () => {
    const { id } = await subscribe('ada@example.org', {});
    const feedToken = signSubscriberToken(t.ctx.secret, 'feed', id);
    expect((await t.app.inject(`/preferences/${feedToken}`)).statusCode).toBe(404);
    const unsubscribe = await t.app.inject({
      method: 'POST',
      url: `/unsubscribe/${feedToken}`,
      headers: FORM,
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(unsubscribe.statusCode).toBe(404);
    expect(t.ctx.subscribers.byId(id)!.status).toBe('confirmed');
    for (const purpose of ['preferences', 'unsubscribe'] as const) {
      const other = signSubscriberToken(t.ctx.secret, purpose, id);
      expect((await t.app.inject(`/feeds/${other}.atom`)).statusCode).toBe(404);
    }
  });

  it('when the address is not a feed token or lacks .atom, then it answers 404', async () => {
    const { id } = await subscribe('ada@example.org', {});
    expect((await t.app.inject('/feeds/1.AAAAAAAAAAAAAAAAAAAAAAAA.atom')).statusCode).toBe(404);
    expect((await t.app.inject(`/feeds/${signSubscriberToken(t.ctx.secret, 'feed', id)}`)).statusCode).toBe(404);
  });
});
