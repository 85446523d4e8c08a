import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Paper } from '../../src/model/paper.ts';
import { mergeWeek, parseKeywords, rankPapers } from '../../src/domain/ranking.ts';
import { parseDailyPapersJson } from '../../src/papers/hf-daily-papers.ts';
import { fixturePath } from '../support/papers-api.ts';
import { readFileSync } from 'node:fs';

let seq = 0;
function paper(over: Partial<Paper> = {}): Paper {
  seq += 1;
  return {
    id: `2611.${String(10000 + seq)}`,
    title: `Paper ${seq}`,
    abstract: 'An abstract.',
    authors: ['A. Author'],
    publishedAt: '2026-11-20T09:00:00.000Z',
    featuredDate: '2026-11-24',
    upvotes: 1,
    numComments: 0,
    aiSummary: null,
    keywords: [],
    githubRepo: null,
    projectPage: null,
    withdrawn: false,
    ...over,
  };
}

const ids = (papers: Paper[]) => papers.map((p) => p.id);

const fixtureDay = () =>
  parseDailyPapersJson(readFileSync(fixturePath('2026-11-24.json'), 'utf8'), {
    where: '2026-11-24.json',
    featuredDate: '2026-11-24',
    logger: pino({ level: 'silent' }),
  }).papers;

describe('rankPapers: order', () => {
  it('when upvotes differ, then more upvotes come first', () => {
    const [a, b, c] = [paper({ upvotes: 3 }), paper({ upvotes: 40 }), paper({ upvotes: 12 })];
    expect(ids(rankPapers([a, b, c], { size: 10 }))).toEqual([b.id, c.id, a.id]);
  });

  it('when upvotes tie, then the newer arXiv date comes first, then the smaller id', () => {
    const older = paper({ id: '2611.00001', upvotes: 5, publishedAt: '2026-11-20T09:00:00.000Z' });
    const newer = paper({ id: '2611.00009', upvotes: 5, publishedAt: '2026-11-23T09:00:00.000Z' });
    const sameDateHighId = paper({ id: '2611.00300', upvotes: 5, publishedAt: '2026-11-22T09:00:00.000Z' });
    const sameDateLowId = paper({ id: '2611.00200', upvotes: 5, publishedAt: '2026-11-22T09:00:00.000Z' });
    const ranked = rankPapers([older, sameDateHighId, newer, sameDateLowId], { size: 10 });
    expect(ids(ranked)).toEqual([newer.id, sameDateLowId.id, sameDateHighId.id, older.id]);
  });

  it('when dates are written with different offsets, then they are compared as instants', () => {
    const utc = paper({ id: '2611.00001', upvotes: 5, publishedAt: '2026-11-22T10:00:00.000Z' });
    const plusTwo = paper({ id: '2611.00002', upvotes: 5, publishedAt: '2026-11-22T11:00:00+02:00' }); // 09:00Z, older
    expect(ids(rankPapers([plusTwo, utc], { size: 2 }))).toEqual([utc.id, plusTwo.id]);
  });

  it('when the input comes in any order, then the ranking is the same and the input is untouched', () => {
    const day = fixtureDay();
    const reversed = [...day].reverse();
    const before = ids(reversed);
    expect(ids(rankPapers(reversed, { size: 50 }))).toEqual(ids(rankPapers(day, { size: 50 })));
    expect(ids(reversed)).toEqual(before);
  });

  it('when ranking the 2026-11-24 fixture, then ties on 89 and 55 upvotes are broken by date', () => {
    expect(ids(rankPapers(fixtureDay(), { size: 6 }))).toEqual([
      '2611.06740', // 89, 2026-11-23
      '2611.06753', // 89, 2026-11-22
      '2611.06805', // 55, 2026-11-24 13:00
      '2611.06766', // 55, 2026-11-24 10:00
      '2611.06701', // 55, 2026-11-23
      '2611.06792', // 55, 2026-11-22
    ]);
  });
});

describe('rankPapers: what is left out', () => {
  it('when a paper is withdrawn, then it is excluded even with the most upvotes', () => {
    const withdrawn = paper({ upvotes: 500, withdrawn: true });
    const kept = paper({ upvotes: 2 });
    expect(ids(rankPapers([withdrawn, kept], { size: 10 }))).toEqual([kept.id]);
    expect(ids(rankPapers(fixtureDay(), { size: 50 }))).not.toContain('2611.06623');
  });

  it('when the day has no papers, then the ranking is empty', () => {
    expect(rankPapers([], { size: 10 })).toEqual([]);
  });

  it.each([5, 10, 20])('when size is %i, then at most that many papers are kept, the top ones', (size) => {
    const day = fixtureDay();
    const all = rankPapers(day, { size: 50 });
    expect(all).toHaveLength(22); // 23 minus the withdrawn one
    expect(ids(rankPapers(day, { size }))).toEqual(ids(all).slice(0, size));
  });

  it('when size is not a positive integer, then it is refused rather than guessed', () => {
    expect(() => rankPapers([paper()], { size: 0 })).toThrow(RangeError);
    expect(() => rankPapers([paper()], { size: -1 })).toThrow(RangeError);
    expect(() => rankPapers([paper()], { size: 2.5 })).toThrow(RangeError);
  });
});

describe('rankPapers: keyword filter', () => {
  const diffusion = paper({ title: 'Benchmarking Diffusion Policies', upvotes: 3 });
  const decoding = paper({ title: 'Fast inference', abstract: 'We study Speculative\nDecoding at scale.', upvotes: 2 });
  const tagged = paper({ title: 'A method', keywords: ['mixture-of-experts', 'routing'], upvotes: 1 });
  const popular = paper({ title: 'Rethinking Model Merging', upvotes: 90 });
  const all = [diffusion, decoding, tagged, popular];

  it('when a keyword is in the title, then only matching papers remain, case-insensitively', () => {
    expect(ids(rankPapers(all, { size: 10, keywords: ['DIFFUSION'] }))).toEqual([diffusion.id]);
  });

  it('when a keyword is a phrase, then it matches across line breaks in the abstract', () => {
    expect(ids(rankPapers(all, { size: 10, keywords: ['speculative decoding'] }))).toEqual([decoding.id]);
  });

  it('when a keyword is only in the paper keywords, then it matches', () => {
    expect(ids(rankPapers(all, { size: 10, keywords: ['mixture-of-experts'] }))).toEqual([tagged.id]);
    expect(ids(rankPapers(all, { size: 10, keywords: ['routing'] }))).toEqual([tagged.id]);
  });

  it('when a keyword is only part of a word, then it does not match', () => {
    expect(rankPapers(all, { size: 10, keywords: ['diff'] })).toEqual([]);
    expect(rankPapers(all, { size: 10, keywords: ['mod'] })).toEqual([]);
    expect(rankPapers([paper({ title: 'Superdiffusion' })], { size: 10, keywords: ['diffusion'] })).toEqual([]);
  });

  it('when several keywords are given, then a paper matching any of them is kept, in rank order', () => {
    expect(ids(rankPapers(all, { size: 10, keywords: ['routing', 'diffusion'] }))).toEqual([diffusion.id, tagged.id]);
  });

  it('when the filter is applied, then it comes before the cut', () => {
    // Cutting first would keep only "popular" and then filter it away.
    expect(ids(rankPapers(all, { size: 1, keywords: ['speculative decoding'] }))).toEqual([decoding.id]);
  });

  it('when keywords hold regex characters or non-ASCII letters, then they match literally as words', () => {
    const cpp = paper({ title: 'Compiling C++ with LLMs' });
    const cjk = paper({ title: 'Why Bold Titles Break — 大模型' });
    const accented = paper({ title: 'Modèle génératif' });
    expect(ids(rankPapers([cpp, cjk, accented], { size: 10, keywords: ['c++'] }))).toEqual([cpp.id]);
    expect(ids(rankPapers([cpp, cjk, accented], { size: 10, keywords: ['模型'] }))).toEqual([cjk.id]);
    expect(ids(rankPapers([cpp, cjk, accented], { size: 10, keywords: ['génératif'] }))).toEqual([accented.id]);
    expect(rankPapers([accented], { size: 10, keywords: ['g'] })).toEqual([]);
  });

  it('when the keyword list is empty or blank, then nothing is filtered', () => {
    expect(rankPapers(all, { size: 10, keywords: [] })).toHaveLength(4);
    expect(rankPapers(all, { size: 10, keywords: ['  '] })).toHaveLength(4);
  });
});

describe('parseKeywords', () => {
  it('when given a stored comma-separated string, then it is trimmed, lower-cased and deduplicated', () => {
    expect(parseKeywords(' LLM, diffusion ,llm,,  Speculative   Decoding , ')).toEqual([
      'llm',
      'diffusion',
      'speculative decoding',
    ]);
  });

  it('when the string is empty, then there are no keywords', () => {
    expect(parseKeywords('')).toEqual([]);
    expect(parseKeywords(' , ,')).toEqual([]);
  });
});

describe('mergeWeek', () => {
  it('when a paper is on several days’ lists, then it is listed once, with its highest upvotes and its latest day, and ranks over the whole week', () => {
    const monday = [
      paper({ id: '2611.00001', upvotes: 80, featuredDate: '2026-11-23' }),
      paper({ id: '2611.00002', upvotes: 90, featuredDate: '2026-11-23' }),
    ];
    const thursday = [
      paper({ id: '2611.00001', upvotes: 120, featuredDate: '2026-11-26' }),
      paper({ id: '2611.00003', upvotes: 5, featuredDate: '2026-11-26' }),
    ];
    const friday = [paper({ id: '2611.00002', upvotes: 70, featuredDate: '2026-11-27' })];
    const week = mergeWeek([monday, [], thursday, friday]);
    expect(week.map((p) => [p.id, p.upvotes, p.featuredDate])).toEqual([
      ['2611.00001', 120, '2026-11-26'],
      ['2611.00002', 90, '2026-11-27'],
      ['2611.00003', 5, '2026-11-26'],
    ]);
    expect(rankPapers(week, { size: 2 }).map((p) => p.id)).toEqual(['2611.00001', '2611.00002']);
    expect(mergeWeek([[], []])).toEqual([]);
  });
});
