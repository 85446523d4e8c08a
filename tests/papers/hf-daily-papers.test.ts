import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createPaperSource, PaperSourceError, type PaperSourceOptions } from '../../src/papers/hf-daily-papers.ts';
import { readFixture, startPapersApi, type PapersApi } from '../support/papers-api.ts';

type Item = { paper: Record<string, unknown> } & Record<string, unknown>;
const fixtureItems = (name: string) => readFixture(name) as Item[];
const idsOf = (items: { id: string }[]) => items.map((p) => p.id);
const fixtureIds = (name: string) => fixtureItems(name).map((i) => i.paper.id);

let api: PapersApi;
beforeEach(async () => {
  api = await startPapersApi();
});
afterEach(() => api.close());

/** A source on the local API whose sleeps are recorded instead of waited, and whose logs are kept. */
function makeSource(opts: Partial<PaperSourceOptions> = {}) {
  const sleeps: number[] = [];
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug', base: undefined }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const source = createPaperSource({
    baseUrl: api.url,
    logger,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...opts,
  });
  return { source, sleeps, logs };
}

describe('paging', () => {
  it('when a day spans pages, then every page is fetched until a short one, in order', async () => {
    const { source } = makeSource({ pageSize: 10 });
    const { papers, skipped } = await source.fetchDay('2026-11-24');
    expect(idsOf(papers)).toEqual(fixtureIds('2026-11-24.json'));
    expect(papers).toHaveLength(23);
    expect(skipped).toEqual([]);
    expect(api.requests.map((r) => [r.date, r.p, r.limit])).toEqual([
      ['2026-11-24', '0', '10'],
      ['2026-11-24', '1', '10'],
      ['2026-11-24', '2', '10'],
    ]);
  });

  it('when the last page is exactly full, then the empty page after it ends paging', async () => {
    const { source } = makeSource({ pageSize: 6 });
    const { papers } = await source.fetchDay('2026-11-25');
    expect(idsOf(papers)).toEqual(fixtureIds('2026-11-25.json'));
    expect(api.requests.map((r) => r.p)).toEqual(['0', '1']);
  });

  it('when no page size is given, then one request of 100 gets a normal day', async () => {
    const { source } = makeSource();
    const { papers } = await source.fetchDay('2026-11-23');
    expect(papers).toHaveLength(14);
    expect(api.requests.map((r) => r.limit)).toEqual(['100']);
  });

  it('when the list shifts between pages, then a paper seen twice is kept once, latest values', async () => {
    const [a, b, c] = fixtureItems('2026-11-23.json') as [Item, Item, Item];
    const bLater = { ...b, paper: { ...b.paper, upvotes: 999 } };
    api.script({ json: [a, b] }, { json: [bLater, c] }, { json: [] });
    const { source } = makeSource({ pageSize: 2 });
    const { papers } = await source.fetchDay('2026-11-23');
    expect(idsOf(papers)).toEqual([a.paper.id, b.paper.id, c.paper.id]);
    expect(papers.find((p) => p.id === b.paper.id)?.upvotes).toBe(999);
  });

  it('when the API ignores "p" and every page comes back full, then paging stops with an error', async () => {
    const page = JSON.stringify(fixtureItems('2026-11-23.json').slice(0, 2));
    let calls = 0;
    const fetch = async () => {
      calls += 1;
      return new Response(page, { headers: { 'content-type': 'application/json' } });
    };
    const { source } = makeSource({ pageSize: 2, fetch });
    await expect(source.fetchDay('2026-11-23')).rejects.toThrow(
      /more than 5000 papers for 2026-11-23: is the API ignoring "p"\?/,
    );
    expect(calls).toBe(2500);
  });

  it('when a page size above the API cap of 100 is asked for, then the source refuses to start', () => {
    expect(() => makeSource({ pageSize: 200 })).toThrow(RangeError);
  });
});

describe('what a paper becomes', () => {
  it('when an item is valid, then every field the digest needs is mapped and markup is kept as text', async () => {
    const { source } = makeSource();
    const { papers } = await source.fetchDay('2026-11-24');
    expect(papers.find((p) => p.id === '2611.06610')).toEqual({
      id: '2611.06610',
      title: 'Why <b>Bold</b> & "Quoted" Titles Break Naive Templates — 大模型',
      abstract: 'Text with <i>markup</i>, a & b, and x < y > z.',
      authors: ['Author 2611.06610-0'],
      publishedAt: '2026-11-24T16:00:00.000Z',
      featuredDate: '2026-11-24',
      upvotes: 13,
      numComments: 2,
      aiSummary: 'A method for preference optimization that is cheaper at equal quality.',
      keywords: ['preference optimization', 'taming'],
      githubRepo: 'https://github.com/example/preference-optimization',
      projectPage: 'https://example.org/projects/2611.06610',
      withdrawn: false,
    });
    expect(papers.find((p) => p.id === '2611.06623')?.withdrawn).toBe(true);
    expect(papers.filter((p) => p.withdrawn)).toHaveLength(1);
  });

  it('when the API adds fields we do not know, then they are ignored and the papers are the same', async () => {
    const items = fixtureItems('2026-11-23.json');
    const extended = items.map((i) => ({
      ...i,
      mediaUrls: ['https://example.org/x.mp4'],
      paper: { ...i.paper, organization: { name: 'Lab' }, mediaType: 'video', upvotes: i.paper.upvotes },
    }));
    const { source } = makeSource();
    const plain = await source.fetchDay('2026-11-23');
    api.script({ json: extended });
    const withExtras = await source.fetchDay('2026-11-23');
    expect(withExtras.skipped).toEqual([]);
    expect(withExtras.papers).toEqual(plain.papers);
    expect(withExtras.papers).toHaveLength(14);
  });

  it('when an item misses its title or id, then it is skipped and logged by id and the rest still arrive', async () => {
    const items = fixtureItems('2026-11-23.json');
    const noTitleId = items[3]!.paper.id as string;
    delete items[3]!.paper.title;
    delete items[7]!.paper.id;
    api.script({ json: items });
    const { source, logs } = makeSource();
    const { papers, skipped } = await source.fetchDay('2026-11-23');
    expect(papers).toHaveLength(12);
    expect(idsOf(papers)).not.toContain(noTitleId);
    expect(skipped).toEqual([
      { id: noTitleId, reason: expect.stringMatching(/^paper\.title: /) },
      { id: null, reason: expect.stringMatching(/^paper\.id: /) },
    ]);
    const warned = logs.filter((l) => l.msg === 'paper skipped: invalid item');
    expect(warned.map((l) => l.id)).toEqual([noTitleId, null]);
    expect(warned[0]!.where).toContain(api.url);
  });

  it('when an optional link is not an http(s) URL, then the paper is kept without it', async () => {
    const items = fixtureItems('2026-11-24.json');
    items[2]!.paper.githubRepo = 'javascript:alert(1)';
    api.script({ json: items });
    const { source } = makeSource();
    const { papers, skipped } = await source.fetchDay('2026-11-24');
    expect(skipped).toEqual([]);
    expect(papers.find((p) => p.id === items[2]!.paper.id)?.githubRepo).toBeNull();
  });

  it('when requests go out, then they name the project in User-Agent', async () => {
    const { source } = makeSource();
    await source.fetchDay('2026-11-25');
    expect(api.requests[0]!.headers['user-agent']).toMatch(/^Paperboy\/\d+\.\d+\.\d+ \(\+self-hosted/);
  });
});

describe('days without papers', () => {
  it('when the day is a weekend, then the result is empty, not an error', async () => {
    const { source } = makeSource();
    await expect(source.fetchDay('2026-11-22')).resolves.toEqual({ papers: [], skipped: [] });
    expect(api.requests).toHaveLength(1);
  });
});

describe('retries', () => {
  it('when the API answers 429 with Retry-After seconds, then the source waits that long and succeeds', async () => {
    api.script({ status: 429, headers: { 'retry-after': '7' } });
    const { source, sleeps, logs } = makeSource();
    const { papers } = await source.fetchDay('2026-11-24');
    expect(papers).toHaveLength(23);
    expect(sleeps).toEqual([7000]);
    expect(api.requests).toHaveLength(2);
    expect(logs.find((l) => l.msg === 'paper API request failed; retrying')).toMatchObject({
      level: 40,
      reason: 'HTTP 429 Too Many Requests',
      delayMs: 7000,
    });
  });

  it('when Retry-After is an HTTP date, then the wait runs until that time', async () => {
    const now = new Date('2026-11-25T07:00:00Z');
    api.script({ status: 429, headers: { 'retry-after': new Date(now.getTime() + 3000).toUTCString() } });
    const { source, sleeps } = makeSource({ clock: { now: () => now } });
    await source.fetchDay('2026-11-25');
    expect(sleeps).toEqual([3000]);
  });

  it('when Retry-After asks for an hour, then the wait is capped', async () => {
    api.script({ status: 503, headers: { 'retry-after': '3600' } });
    const { source, sleeps } = makeSource({ maxRetryDelayMs: 60_000 });
    await source.fetchDay('2026-11-25');
    expect(sleeps).toEqual([60_000]);
  });

  it('when the API keeps answering 500, then it backs off exponentially and fails clearly once retries are spent', async () => {
    const boom = { status: 500, body: 'upstream exploded' };
    api.script(boom, boom, boom, boom, boom);
    const { source, sleeps } = makeSource({ retries: 4, retryDelayMs: 1000 });
    const failure = source.fetchDay('2026-11-24');
    await expect(failure).rejects.toThrow(PaperSourceError);
    await expect(failure).rejects.toThrow(
      /^GET http:\/\/127\.0\.0\.1:\d+\/api\/daily_papers\?date=2026-11-24&p=0&limit=100 failed after 5 attempts: HTTP 500 Internal Server Error$/,
    );
    await expect(failure).rejects.toMatchObject({ detail: { status: 500, attempts: 5 } });
    expect(api.requests).toHaveLength(5);
    expect(sleeps).toEqual([1000, 2000, 4000, 8000]);
  });

  it('when a request hangs, then it is aborted at the timeout and retried', async () => {
    api.script('hang');
    const { source, logs } = makeSource({ timeoutMs: 200 });
    const { papers } = await source.fetchDay('2026-11-25');
    expect(papers).toHaveLength(6);
    expect(api.requests).toHaveLength(2);
    expect(logs.find((l) => l.msg === 'paper API request failed; retrying')?.reason).toBe('timed out after 200 ms');
  });

  it('when told to stop (shutdown) during a hanging request, then it gives up at once without retrying', async () => {
    api.script('hang', 'hang');
    const { source, sleeps } = makeSource({ timeoutMs: 60_000 });
    const stop = new AbortController();
    const fetching = source.fetchDay('2026-11-25', stop.signal);
    await expect.poll(() => api.requests.length).toBe(1);
    stop.abort(new Error('shutting down'));
    await expect(fetching).rejects.toThrow('shutting down');
    expect(api.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('when every attempt times out, then the error says so', async () => {
    api.script('hang', 'hang');
    const { source } = makeSource({ timeoutMs: 200, retries: 1 });
    await expect(source.fetchDay('2026-11-25')).rejects.toThrow(/failed after 2 attempts: timed out after 200 ms$/);
  });

  it('when nothing listens, then the network error is retried and reported with its code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const { source, sleeps } = makeSource({ baseUrl: `http://127.0.0.1:${port}/api/daily_papers`, retries: 2 });
    await expect(source.fetchDay('2026-11-25')).rejects.toThrow(/failed after 3 attempts: fetch failed: ECONNREFUSED$/);
    expect(sleeps).toHaveLength(2);
  });

  it('when the API rejects the query (400), then there is no retry', async () => {
    const { source, sleeps } = makeSource();
    await expect(source.fetchDay('yesterday')).rejects.toThrow(
      /answered HTTP 400 Bad Request: \{"error":"Invalid query"\}$/,
    );
    expect(api.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });
});

describe('bodies that are not a list of papers', () => {
  it('when the body is not JSON, then the error names the URL and shows the start of the body', async () => {
    api.script({ status: 200, body: '<!DOCTYPE html><html><body>Maintenance</body></html>' });
    const { source } = makeSource();
    const failure = source.fetchDay('2026-11-24');
    await expect(failure).rejects.toThrow(PaperSourceError);
    await expect(failure).rejects.toThrow(
      /^http:\/\/127\.0\.0\.1:\d+\/api\/daily_papers\?date=2026-11-24&p=0&limit=100: body is not JSON .*"<!DOCTYPE html>/,
    );
    expect(api.requests).toHaveLength(1);
  });

  it('when the body is JSON but not an array, then the error says what it got', async () => {
    api.script({ json: { error: 'Sorry, we are down' } });
    const { source } = makeSource();
    await expect(source.fetchDay('2026-11-24')).rejects.toThrow(
      /: expected a JSON array of papers, got object: "\{\\"error\\":\\"Sorry, we are down\\"\}"$/,
    );
  });
});
