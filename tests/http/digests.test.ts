import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Paper } from '../../src/model/paper.ts';
import { digestRoutes } from '../../src/http/routes/digests.ts';
import { loadTemplates, type Templates } from '../../src/mail/templates.ts';
import { escapeHtml } from '../../src/html.ts';
import { fixturePapers } from '../support/fixture-papers.ts';
import { createTestContext, type TestContext } from '../support/test-context.ts';

const publicUrl = 'https://papers.example.org';
let templates: Templates;
beforeAll(async () => {
  templates = await loadTemplates({ publicUrl, postalAddress: 'Paperboy, 1 Example Street, Berlin' });
});

const markupPaper = (): Paper => ({
  ...fixturePapers('2026-11-25')[0]!,
  title: 'Top <script>alert(1)</script> & "friends" ]]>',
});

describe('digest archive routes', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let compiles: number;

  beforeEach(async () => {
    ctx = createTestContext();
    compiles = 0;
    const counting: Pick<Templates, 'compileDigest'> = {
      compileDigest: (d) => {
        compiles++;
        return templates.compileDigest(d);
      },
    };
    app = Fastify();
    await app.register(
      digestRoutes({ digests: ctx.digests, templates: counting, publicUrl: ctx.config.PUBLIC_URL, size: 10 }),
    );
    ctx.digests.save('2026-11-23', fixturePapers('2026-11-23'));
    ctx.digests.save('2026-11-24', fixturePapers('2026-11-24'));
    ctx.digests.save('2026-11-25', [markupPaper(), ...fixturePapers('2026-11-25').slice(1)]);
    ctx.digests.save('2026-11-21', []);
  });
  afterEach(async () => {
    await app.close();
    ctx.close();
  });

  describe('GET /digests/:date', () => {
    it('when a paper’s links from the paper data break the link rule, then the archive page shows the paper without them', async () => {
      const [first, ...rest] = fixturePapers('2026-11-24');
      const paper = { ...first!, githubRepo: 'https://t.co/abc', projectPage: 'https://github.com@evil.example/x' };
      ctx.digests.save('2026-11-22', [paper, ...rest]);
      const res = await app.inject('/digests/2026-11-22');
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain(`>${escapeHtml(paper.title)}</a>`);
      expect(res.body).not.toContain('t.co/abc');
      expect(res.body).not.toContain('evil.example');
    });

    it('when the day was sent, then it shows that digest with generic links, compiled once', async () => {
      const res = await app.inject('/digests/2026-11-24');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');

      const papers = fixturePapers('2026-11-24');
      for (const p of papers.slice(0, 10)) expect(res.body).toContain(`>${escapeHtml(p.title)}</a>`);
      expect(res.body).not.toContain(escapeHtml(papers[10]!.title));
      expect(res.body).not.toContain('{{');
      expect(res.body).toMatch(/<a href="https:\/\/papers\.example\.org\/"[^>]*>Unsubscribe<\/a>/);
      expect(res.body).toMatch(/<a href="https:\/\/papers\.example\.org\/"[^>]*>Preferences<\/a>/);

      await app.inject('/digests/2026-11-24');
      expect(compiles).toBe(1);
    });

    it.each([
      ['a day without a digest', '2026-11-20'],
      ['a day that had no papers', '2026-11-21'],
      ['an impossible date', '2026-02-30'],
      ['not a date', 'yesterday'],
      ['a traversal attempt', '..%2F..%2Fetc%2Fpasswd'],
    ])('when asked for %s, then it answers a friendly 404 page', async (_name, date) => {
      const res = await app.inject(`/digests/${date}`);
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('No digest that day');
      expect(res.body).toContain('href="/digests"');
      expect(compiles).toBe(0);
    });
  });

  describe('GET /digests', () => {
    it('when digests exist, then it lists the days with papers, newest first, escaped', async () => {
      const res = await app.inject('/digests');
      expect(res.statusCode).toBe(200);
      const order = ['2026-11-25', '2026-11-24', '2026-11-23'].map((d) => res.body.indexOf(`href="/digests/${d}"`));
      expect(order.every((at) => at > 0)).toBe(true);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(res.body).not.toContain('/digests/2026-11-21"');
      expect(res.body).toContain('Top 10 papers of Tue 24 Nov');
      expect(res.body).toContain('Top 6 papers of Wed 25 Nov');
      expect(res.body).toContain('#1: Top &#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;friends&#34; ]]&#62;');
      expect(res.body).not.toContain('<script>');
      expect(res.body).toContain('href="/digests.atom"');
    });
  });

  describe('weekly editions', () => {
    beforeEach(() => {
      // The week ending Sunday 29 Nov (and, same Sunday, nothing daily): its own page, list entry and feed entry.
      ctx.digests.save('2026-11-29', [...fixturePapers('2026-11-25'), ...fixturePapers('2026-11-24')], 'weekly');
    });

    it('when the week was sent, then /digests/weekly/<Sunday> shows it under a heading saying which week; the daily URL of that Sunday has none', async () => {
      const res = await app.inject('/digests/weekly/2026-11-29');
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('Week of 23–29 November 2026');
      expect(res.body).toContain('<title>Paperboy · Week of 23–29 Nov 2026</title>');
      expect(res.body).toContain(`>${escapeHtml(fixturePapers('2026-11-25')[0]!.title)}</a>`);
      expect((await app.inject('/digests/2026-11-29')).statusCode).toBe(404);
      expect((await app.inject('/digests/weekly/2026-11-24')).statusCode).toBe(404);
      expect((await app.inject('/digests/weekly/not-a-date')).statusCode).toBe(404);
    });

    it('when listed, then the week is there beside the days, newest first, with its own link', async () => {
      const list = await app.inject('/digests');
      const at = ['href="/digests/weekly/2026-11-29"', 'href="/digests/2026-11-25"'].map((h) => list.body.indexOf(h));
      expect(at[0]).toBeGreaterThan(0);
      expect(at[0]).toBeLessThan(at[1]!);
      expect(list.body).toContain('Week of 23–29 November 2026');
    });
  });
});
