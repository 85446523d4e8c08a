import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importDailyPapersFile, ingestDay } from '../../src/domain/ingest.ts';
import { rankPapers } from '../../src/domain/ranking.ts';
import { createPaperSource, PaperSourceError } from '../../src/papers/hf-daily-papers.ts';
import { createTestContext, type TestContext } from '../support/test-context.ts';
import { fixturePath, readFixture, startPapersApi, type PapersApi } from '../support/papers-api.ts';

type Item = { paper: Record<string, unknown> } & Record<string, unknown>;

let api: PapersApi;
let ctx: TestContext;
beforeEach(async () => {
  api = await startPapersApi();
  ctx = createTestContext({ PAPERS_API_URL: api.url });
});
afterEach(async () => {
  ctx.close();
  await api.close();
});

const deps = () => ({ source: ctx.paperSource, papers: ctx.papers, logger: ctx.logger });
const count = (table: 'papers' | 'paper_features') => ctx.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get();

describe('ingestDay', () => {
  it('when a day is ingested, then every valid paper is stored under that day', async () => {
    const result = await ingestDay(deps(), '2026-11-24');
    expect(result).toEqual({ date: '2026-11-24', fetched: 23, inserted: 23, updated: 0, skipped: 0 });
    const stored = ctx.papers.forDay('2026-11-24');
    expect(stored).toHaveLength(23);
    expect(ctx.papers.forDay('2026-11-23')).toEqual([]);
  });

  it('when a paper is stored and read back, then nothing is lost on the way (JSON columns, nulls, flags)', async () => {
    const fetched = await ctx.paperSource.fetchDay('2026-11-24');
    ctx.papers.upsertMany(fetched.papers);
    const byId = (list: typeof fetched.papers) => [...list].sort((a, b) => a.id.localeCompare(b.id));
    expect(ctx.papers.forDay('2026-11-24')).toEqual(byId(fetched.papers));
  });

  it('when a day is ingested again with new upvotes, then they are refreshed and nothing is duplicated', async () => {
    await ingestDay(deps(), '2026-11-24');
    const items = readFixture('2026-11-24.json') as Item[];
    items[0]!.paper.upvotes = 250;
    items[1]!.paper.withdrawnAt = '2026-11-25T08:00:00.000Z';
    api.script({ json: items });

    const again = await ingestDay(deps(), '2026-11-24');

    expect(again).toEqual({ date: '2026-11-24', fetched: 23, inserted: 0, updated: 23, skipped: 0 });
    const stored = ctx.papers.forDay('2026-11-24');
    expect(stored).toHaveLength(23);
    expect(stored.find((p) => p.id === items[0]!.paper.id)?.upvotes).toBe(250);
    expect(stored.find((p) => p.id === items[1]!.paper.id)?.withdrawn).toBe(true);
    expect(count('papers')).toBe(23);
    expect(count('paper_features')).toBe(23);
    expect(rankPapers(stored, { size: 1 })[0]?.id).toBe(items[0]!.paper.id);
  });

  it('when the same paper is featured on two days, then it is one paper listed under both days', async () => {
    const [item] = readFixture('2026-11-23.json') as [Item];
    api.script({ json: [item] }, { json: [{ ...item, paper: { ...item.paper, upvotes: 77 } }] });
    expect(await ingestDay(deps(), '2026-11-23')).toMatchObject({ inserted: 1, updated: 0 });
    expect(await ingestDay(deps(), '2026-11-24')).toMatchObject({ inserted: 1, updated: 0 });
    expect(ctx.papers.forDay('2026-11-23').map((p) => [p.id, p.featuredDate, p.upvotes])).toEqual([
      [item.paper.id, '2026-11-23', 77],
    ]);
    expect(ctx.papers.forDay('2026-11-24').map((p) => [p.id, p.featuredDate, p.upvotes])).toEqual([
      [item.paper.id, '2026-11-24', 77],
    ]);
    expect(count('papers')).toBe(1);
  });

  it('when an item is invalid, then it is counted as skipped and the rest is stored', async () => {
    const items = readFixture('2026-11-23.json') as Item[];
    delete items[0]!.paper.title;
    api.script({ json: items });
    expect(await ingestDay(deps(), '2026-11-23')).toEqual({
      date: '2026-11-23',
      fetched: 13,
      inserted: 13,
      updated: 0,
      skipped: 1,
    });
    expect(ctx.papers.forDay('2026-11-23')).toHaveLength(13);
  });

  it('when a later page fails, then nothing of the day is stored (no half digest)', async () => {
    const source = createPaperSource({ baseUrl: api.url, logger: ctx.logger, pageSize: 10, sleep: async () => {} });
    api.script('fixture', { status: 404, body: 'gone' });
    await expect(ingestDay({ ...deps(), source }, '2026-11-24')).rejects.toThrow(PaperSourceError);
    expect(api.requests.map((r) => r.p)).toEqual(['0', '1']);
    expect(ctx.papers.forDay('2026-11-24')).toEqual([]);
  });

  it('when the day has no papers, then nothing is stored and the ranking is empty (nothing to send)', async () => {
    expect(await ingestDay(deps(), '2026-11-21')).toEqual({
      date: '2026-11-21',
      fetched: 0,
      inserted: 0,
      updated: 0,
      skipped: 0,
    });
    expect(rankPapers(ctx.papers.forDay('2026-11-21'), { size: 10 })).toEqual([]);
  });
});

describe('importDailyPapersFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'paperboy-import-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('when a saved response is imported without a date, then each paper is filed under the day it was added', () => {
    const result = importDailyPapersFile(deps(), fixturePath('2026-11-23.json'));
    expect(result).toEqual({
      file: fixturePath('2026-11-23.json'),
      dates: ['2026-11-23'],
      fetched: 14,
      inserted: 14,
      updated: 0,
      skipped: 0,
    });
    expect(ctx.papers.forDay('2026-11-23')).toHaveLength(14);
    expect(importDailyPapersFile(deps(), fixturePath('2026-11-23.json'))).toMatchObject({ inserted: 0, updated: 14 });
  });

  it('when a date is given, then every paper is filed under it', () => {
    expect(importDailyPapersFile(deps(), fixturePath('2026-11-25.json'), '2026-12-01')).toMatchObject({
      dates: ['2026-12-01'],
      inserted: 6,
    });
    expect(ctx.papers.forDay('2026-12-01')).toHaveLength(6);
    expect(ctx.papers.forDay('2026-11-25')).toEqual([]);
  });

  it('when the file and a live fetch hold the same day, then they store the same papers', async () => {
    importDailyPapersFile(deps(), fixturePath('2026-11-24.json'));
    const fromFile = ctx.papers.forDay('2026-11-24');
    const live = await ctx.paperSource.fetchDay('2026-11-24');
    expect(fromFile).toEqual([...live.papers].sort((a, b) => a.id.localeCompare(b.id)));
  });

  it('when an item has no date of its own and none is given, then it is skipped', () => {
    const items = readFixture('2026-11-25.json') as Item[];
    delete items[0]!.publishedAt;
    const file = join(dir, 'undated.json');
    writeFileSync(file, JSON.stringify(items));
    expect(importDailyPapersFile(deps(), file)).toMatchObject({ fetched: 5, inserted: 5, skipped: 1 });
  });

  it('when the file is not a JSON array, then the error names the file', () => {
    const file = join(dir, 'week.json');
    writeFileSync(file, JSON.stringify({ '2026-11-21': [] }));
    expect(() => importDailyPapersFile(deps(), file)).toThrow(PaperSourceError);
    expect(() => importDailyPapersFile(deps(), file)).toThrow(`${file}: expected a JSON array of papers, got object`);
    expect(count('papers')).toBe(0);
  });
});
