import { join } from 'node:path';
import { createLogger } from '../src/logger.ts';
import { openDatabase } from '../src/db/connection.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPapersStore } from '../src/db/papers-store.ts';
import { createPaperSource, parseDailyPapersJson } from '../src/papers/hf-daily-papers.ts';
import { ingestDay } from '../src/domain/ingest.ts';
import { rankPapers } from '../src/domain/ranking.ts';
import type { Handlers } from './ipc.ts';
import { syntheticDay } from './fixtures.ts';
import { medianBy } from './report.ts';

const silent = createLogger('silent');

export interface IngestResult {
  papers: number;
  jsonBytes: number;
  /** parseDailyPapersJson on the whole day (JSON.parse + zod per item), ms: first call, then the median. */
  parseFirstMs: number;
  parseMs: number;
  /** papersStore.upsertMany into an empty day (one transaction), ms. */
  storeNewMs: number;
  /** The same day again: every paper refreshed (upvotes rise), ms, median. */
  storeRefreshMs: number;
  /** papersStore.forDay: reading the day back, ms, median. */
  loadDayMs: number;
  /** rankPapers(size 10), no keyword filter, ms, median. */
  rankMs: number;
  /** rankPapers(size 10) with a three-keyword filter, ms, median. */
  rankKeywordsMs: number;
  /** ingestDay through the real HTTP client against the local API (5 pages of 100), ms. */
  ingestDayHttpMs: number | null;
  runs: number;
}

const median = (xs: number[]) => medianBy(xs, (x) => x);

function time<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const v = fn();
  return [v, performance.now() - t];
}

export function ingestHandlers(): Handlers {
  return {
    async measure(p: {
      dir: string;
      papers: number;
      runs: number;
      papersApiUrl: string | null;
    }): Promise<IngestResult> {
      const date = '2026-11-26';
      const text = JSON.stringify(syntheticDay(date, p.papers));
      const parse = () => parseDailyPapersJson(text, { where: 'bench', featuredDate: date, logger: silent });
      const [first, parseFirstMs] = time(parse);
      if (first.papers.length !== p.papers)
        throw new Error(`parsed ${first.papers.length} of ${p.papers} papers (skipped: ${first.skipped[0]?.reason})`);
      const parseRuns = Array.from({ length: p.runs }, () => time(parse)[1]);

      const db = openDatabase(join(p.dir, 'ingest.sqlite'));
      try {
        migrate(db);
        const store = createPapersStore(db);
        const [stored, storeNewMs] = time(() => store.upsertMany(first.papers));
        if (stored.inserted !== p.papers) throw new Error(`stored ${stored.inserted} new papers of ${p.papers}`);
        const refresh = Array.from({ length: p.runs }, () => time(() => store.upsertMany(first.papers))[1]);
        const load = Array.from({ length: p.runs }, () => time(() => store.forDay(date))[1]);
        const day = store.forDay(date);
        const rank = Array.from({ length: p.runs * 4 }, () => time(() => rankPapers(day, { size: 10 }))[1]);
        const rankKw = Array.from(
          { length: p.runs * 4 },
          () => time(() => rankPapers(day, { size: 10, keywords: ['speculative decoding', 'diffusion', '大模型'] }))[1],
        );

        let ingestDayHttpMs: number | null = null;
        if (p.papersApiUrl) {
          const source = createPaperSource({ baseUrl: p.papersApiUrl, logger: silent, retries: 0 });
          const t = performance.now();
          const r = await ingestDay({ source, papers: store, logger: silent }, '2026-11-27');
          ingestDayHttpMs = performance.now() - t;
          if (r.fetched !== p.papers) throw new Error(`ingestDay fetched ${r.fetched} of ${p.papers} papers`);
        }
        return {
          papers: p.papers,
          jsonBytes: Buffer.byteLength(text),
          parseFirstMs,
          parseMs: median(parseRuns),
          storeNewMs,
          storeRefreshMs: median(refresh),
          loadDayMs: median(load),
          rankMs: median(rank),
          rankKeywordsMs: median(rankKw),
          ingestDayHttpMs,
          runs: p.runs,
        };
      } finally {
        db.close();
      }
    },
  };
}
