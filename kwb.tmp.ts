import { syntheticDay } from './scripts/bench/fixtures.ts';
import { parseDailyPapersJson } from './src/sources/hf-daily-papers.ts';
import { rankPapers } from './src/domain/ranking.ts';
import { pino } from 'pino';
const text = JSON.stringify(syntheticDay('2026-11-26', 500));
const kws = ['speculative decoding', 'diffusion', '大模型'];
const firsts: number[] = [],
  again: number[] = [],
  same: number[] = [],
  plain: number[] = [];
for (let r = 0; r < 9; r++) {
  const day = parseDailyPapersJson(text, {
    where: 'b',
    featuredDate: '2026-11-26',
    logger: pino({ level: 'silent' }),
  }).papers;
  let t = performance.now();
  rankPapers(day, { size: 10 });
  plain.push(performance.now() - t);
  t = performance.now();
  rankPapers(day, { size: 10, keywords: kws });
  firsts.push(performance.now() - t);
  t = performance.now();
  for (let i = 0; i < 20; i++) rankPapers(day, { size: 10, keywords: [...kws, `x${r}${i}`] });
  again.push((performance.now() - t) / 20);
  t = performance.now();
  for (let i = 0; i < 20; i++) rankPapers(day, { size: 10, keywords: kws });
  same.push((performance.now() - t) / 20);
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!.toFixed(2);
console.log({
  noKeywordsMs: med(plain),
  firstMedianMs: med(firsts),
  firstMin: Math.min(...firsts).toFixed(2),
  newKeywordSetMedianMs: med(again),
  sameSetMedianMs: med(same),
});
