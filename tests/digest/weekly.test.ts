import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { sendDigest } from '../../src/digest/run.ts';
import { dryRun } from '../../src/digest/preview.ts';
import { weekDays } from '../../src/domain/dates.ts';
import { createLogger } from '../../src/logger.ts';
import { parseMessageId } from '../../src/bounces/message-id.ts';
import { byRecipient, seedSubscribers, startHarness, type Harness } from '../support/digest-harness.ts';
import { fixturePath, startPapersApi, type PapersApi } from '../support/papers-api.ts';

const WEEK = '2026-11-29';

let h: Harness | undefined;
let api: PapersApi | undefined;
afterEach(async () => {
  await h?.close();
  await api?.close();
  h = undefined;
  api = undefined;
});

interface Item {
  paper: { id: string; title: string; upvotes: number; publishedAt: string; withdrawnAt?: string };
}

/**
 * The week's ranking worked out from the recorded days themselves: each paper once, with the
 * upvotes of the latest day that lists it, withdrawn ones left out, by upvotes, then arXiv date, then id.
 */
function expectedWeek(): { id: string; title: string }[] {
  const byId = new Map<string, Item['paper']>();
  for (const day of weekDays(WEEK)) {
    let items: Item[] = [];
    try {
      items = JSON.parse(readFileSync(fixturePath(`${day}.json`), 'utf8')) as Item[];
    } catch {
      items = [];
    }
    for (const { paper } of items) byId.set(paper.id, paper);
  }
  return [...byId.values()]
    .filter((p) => !p.withdrawnAt)
    .sort(
      (a, b) =>
        b.upvotes - a.upvotes || Date.parse(b.publishedAt) - Date.parse(a.publishedAt) || (a.id < b.id ? -1 : 1),
    )
    .map((p) => ({ id: p.id, title: p.title.replace(/\s+/g, ' ').trim() }));
}

async function weekHarness() {
  api = await startPapersApi();
  h = await startHarness({ env: { PAPERS_API_URL: api.url } });
  const weekly = seedSubscribers(h.ctx.db, 3, { cadence: 'weekly', prefix: 'weekly' });
  const daily = seedSubscribers(h.ctx.db, 2, { cadence: 'daily', prefix: 'daily' });
  return { h, api, weekly, daily };
}

describe('the weekly edition', () => {
  it('when a week is served by the API, then each weekly subscriber gets one email with the week’s top papers, each once, and daily subscribers get none', async () => {
    const { h, api, weekly } = await weekHarness();

    const result = await sendDigest(h.deps, { date: WEEK, cadence: 'weekly' });

    expect(result).toMatchObject({ outcome: 'done', cadence: 'weekly', sent: 3, failed: 0, skipped: 0 });
    // Every day of the week was refreshed from the source.
    expect(new Set(api.requests.map((r) => r.date))).toEqual(new Set(weekDays(WEEK)));
    expect([...byRecipient(h.sink).keys()].sort()).toEqual(weekly.map((id) => `weekly${id}@example.com`).sort());
    const expected = expectedWeek();
    // The fixtures repeat papers across days with more upvotes: those must count once, at their latest.
    expect(expected.slice(0, 2).map((p) => p.id)).toEqual(['2611.08803', '2611.05892']);
    for (const m of h.sink.messages) {
      const id = weekly.find((i) => m.to[0] === `weekly${i}@example.com`)!;
      expect(m.parsed.subject).toBe('Paperboy · Week of 23–29 Nov 2026');
      // Signed, so a complaint that quotes it names this reader and nobody can write one for another.
      expect(m.parsed.messageId).toMatch(
        new RegExp(`^<weekly\\.${WEEK}\\.${id}\\.[a-z2-7]{16}@papers\\.example\\.org>$`),
      );
      expect(parseMessageId(m.parsed.messageId!, h.ctx.secret, 'papers.example.org')).toEqual({
        signed: true,
        edition: 'weekly',
        date: WEEK,
        id,
      });
      // A list of its own: a reader's filter on the daily digest does not catch the weekly one.
      expect(m.parsed.headerLines.find((l) => l.key === 'list-id')?.line).toBe(
        'List-Id: "Paperboy weekly digest" <weekly.papers.example.org>',
      );
      expect(m.parsed.html).toContain('Week of 23–29 November 2026');
      expect(m.parsed.html).toContain('https://papers.example.org/digests/weekly/2026-11-29');
      const numbered = [...(m.parsed.text as string).matchAll(/^(\d+)\. (.+)$/gm)].map((x) => ({
        n: Number(x[1]),
        title: x[2],
      }));
      expect(numbered.map((x) => x.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(numbered.map((x) => x.title)).toEqual(expected.slice(0, 10).map((p) => p.title));
      expect(new Set(numbered.map((x) => x.title)).size).toBe(10);
    }
    // The week's ranking is frozen as the weekly edition of its Sunday, beside (not instead of) that day's daily one.
    expect(h.ctx.digests.get(WEEK, 'weekly')!.papers.map((p) => p.id)).toEqual(expected.map((p) => p.id));
    expect(h.ctx.digests.get(WEEK, 'daily')).toBeUndefined();
    expect(h.ctx.ledger.byDate(WEEK, 'weekly')).toMatchObject({ status: 'done', sent: 3 });
    expect(h.ctx.ledger.byDate(WEEK, 'daily')).toBeUndefined();

    const again = await sendDigest(h.deps, { date: WEEK, cadence: 'weekly' });
    expect(again).toMatchObject({ outcome: 'done', reason: 'already sent', sent: 0 });
    expect(h.sink.messages).toHaveLength(3);
  });

  it('when the daily digest goes out, then weekly subscribers get none of it', async () => {
    const { h, daily } = await weekHarness();
    const result = await sendDigest(h.deps, { date: '2026-11-24' });
    expect(result).toMatchObject({ outcome: 'done', cadence: 'daily', sent: 2 });
    expect([...byRecipient(h.sink).keys()].sort()).toEqual(daily.map((id) => `daily${id}@example.com`).sort());
    expect(h.sink.messages.every((m) => /^Paperboy · Top 10 papers of Tue 24 Nov$/.test(m.parsed.subject ?? ''))).toBe(
      true,
    );
    expect(new Set(h.sink.messages.map((m) => m.parsed.headerLines.find((l) => l.key === 'list-id')?.line))).toEqual(
      new Set(['List-Id: "Paperboy daily digest" <daily.papers.example.org>']),
    );
    const dry = await dryRun(h.deps, WEEK, 'weekly');
    expect(dry).toMatchObject({ outcome: 'dry-run', cadence: 'weekly', recipients: 3 });
  });

  it('when the source cannot give a day of the week, then the week goes out with what is stored, and the log says which day', async () => {
    const { h, api } = await weekHarness();
    const lines: string[] = [];
    const logger = createLogger('warn', 'stdout', { destination: { write: (l: string) => void lines.push(l) } });
    // Thursday is refused (a 4xx is not retried: the source's retries of 5xx are its own tests').
    api.script('fixture', 'fixture', 'fixture', { status: 404, body: 'gone' });
    const result = await sendDigest({ ...h.deps, logger }, { date: WEEK, cadence: 'weekly' });
    expect(result).toMatchObject({ outcome: 'done', sent: 3 });
    const ids = h.ctx.digests.get(WEEK, 'weekly')!.papers.map((p) => p.id);
    expect(ids).not.toContain('2611.08101'); // only on Thursday's list
    expect(ids).toContain('2611.08803'); // Friday's
    expect(lines.join('\n')).toMatch(/"missingDays":\["2026-11-26"\]/);
  });
});
