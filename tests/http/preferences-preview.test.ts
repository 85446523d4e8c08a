import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { subscriberLinks } from '../../src/domain/tokens.ts';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';
import { fixturePapers } from '../support/fixture-papers.ts';
import type { Paper } from '../../src/model/paper.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
let t: TestApp;
let clock: ManualClock;

beforeEach(async () => {
  clock = new ManualClock();
  t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' }, { clock });
});
afterEach(async () => t.close());

/** A confirmed subscriber with these keywords, and the path of their preferences page. */
async function preferencesOf(email: string, keywords: string): Promise<string> {
  await t.app.inject({
    method: 'POST',
    url: '/subscribe',
    headers: FORM,
    payload: new URLSearchParams({ email, keywords }).toString(),
  });
  const { kind, payload } = t.ctx.db.prepare('SELECT kind, payload FROM mail_queue WHERE recipient = ?').get(email) as {
    kind: string;
    payload: string;
  };
  const confirmUrl = /https:\/\/papers\.example\.org(\/confirm\/[\w-]+)/.exec(
    renderQueuedMail(t.templates, { kind, payload: JSON.parse(payload) }).text,
  )![1]!;
  expect((await t.app.inject({ method: 'POST', url: confirmUrl })).body).toContain('You’re subscribed');
  const id = t.ctx.subscribers.byEmail(email)!.id;
  return new URL(subscriberLinks(t.ctx.config.PUBLIC_URL, t.ctx.secret, id).preferencesUrl).pathname;
}

const preview = (body: string) => /<p class="hint" id="keywords-preview">([^<]*)<\/p>/.exec(body)?.[1];

/** A fixture day's papers moved to another day, with their own ids (as the source would list them). */
const onDay = (papers: Paper[], day: string, tag: string) =>
  papers.map((p) => ({ ...p, id: `${p.id}${tag}`, featuredDate: day }));

describe('the preferences page: what the keywords would have matched', () => {
  it('when papers of the last days are stored, then the page says how many the keywords would have matched', async () => {
    for (const day of ['2026-11-23', '2026-11-24', '2026-11-25']) t.ctx.papers.upsertMany(fixturePapers(day));
    const path = await preferencesOf('ada@example.org', 'agent');
    const page = await t.app.inject(path);
    // 14 + 23 + 6 papers, one of them withdrawn; "agent": three "Retrieval Agents" and one "Agentic Web Browsing".
    expect(preview(page.body)).toBe('These keywords would have matched 4 of the last 3 days’ 42 papers.');
    expect(page.body).toContain('aria-describedby="keywords-preview"');

    const saved = await t.app.inject({
      method: 'POST',
      url: path,
      headers: FORM,
      payload: 'digest_size=10&keywords=reward+model%2C+LM',
    });
    expect(preview(saved.body)).toBe('These keywords would have matched 6 of the last 3 days’ 42 papers.');
    const cleared = await t.app.inject({
      method: 'POST',
      url: path,
      headers: FORM,
      payload: 'digest_size=10&keywords=',
    });
    expect(preview(cleared.body)).toBe(
      'No keywords: you get the top papers of the day, from all of the last 3 days’ 42 papers.',
    );
  });

  it('when more than seven days are stored, then only the last seven days with papers count', async () => {
    const day = fixturePapers('2026-11-25');
    const days = [
      '2026-11-10',
      '2026-11-12',
      '2026-11-13',
      '2026-11-16',
      '2026-11-17',
      '2026-11-18',
      '2026-11-19',
      '2026-11-20',
      '2026-11-23',
    ];
    days.forEach((d, i) => t.ctx.papers.upsertMany(onDay(day, d, `.${i}`)));
    const page = await t.app.inject(await preferencesOf('bob@example.org', 'retrieval agents'));
    expect(preview(page.body)).toBe(
      `These keywords would have matched 7 of the last 7 days’ ${7 * day.length} papers.`,
    );
  });

  it('when no paper is stored yet, then no count is shown', async () => {
    const page = await t.app.inject(await preferencesOf('cyd@example.org', 'agent'));
    expect(page.statusCode).toBe(200);
    expect(preview(page.body)).toBeUndefined();
  });

  it('when new papers arrive, then the count follows within ten minutes', async () => {
    t.ctx.papers.upsertMany(fixturePapers('2026-11-23'));
    const path = await preferencesOf('dee@example.org', 'agent');
    expect(preview((await t.app.inject(path)).body)).toBe(
      'These keywords would have matched 1 of the last day’s 14 papers.',
    );
    t.ctx.papers.upsertMany(fixturePapers('2026-11-25'));
    clock.advance(10 * 60_000);
    expect(preview((await t.app.inject(path)).body)).toBe(
      'These keywords would have matched 2 of the last 2 days’ 20 papers.',
    );
  });
});
