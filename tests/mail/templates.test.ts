import { beforeAll, describe, expect, it } from 'vitest';
import { arxivUrl, paperPageUrl, type Paper } from '../../src/model/paper.ts';
import { EmptyDigestError, loadTemplates, personalise, type Templates } from '../../src/mail/templates.ts';
import { weekLine } from '../../src/mail/edition-names.ts';
import { escapeHtml } from '../../src/html.ts';
import { fixturePapers, twentyPapers } from '../support/fixture-papers.ts';

const publicUrl = 'https://papers.example.org';
const links = {
  unsubscribeUrl: `${publicUrl}/unsubscribe?s=7&t=abc`,
  preferencesUrl: `${publicUrl}/preferences?s=7&t=def`,
};

let templates: Templates;
beforeAll(async () => {
  templates = await loadTemplates({ publicUrl, postalAddress: 'Paperboy <digest> & Co, 1 Example Street, Berlin' });
});

const hrefs = (html: string) => [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!.replaceAll('&#38;', '&'));

function evilPaper(over: Partial<Paper> = {}): Paper {
  return {
    ...fixturePapers('2026-11-24')[0]!,
    id: '2611.99999',
    title: 'Pwn <img src=x onerror=alert(1)> {{unsubscribe_url}}',
    abstract: 'An abstract with <script>alert(1)</script> in it.',
    aiSummary: null,
    authors: ['<b>Mallory</b>'],
    githubRepo: 'javascript:alert(1)',
    projectPage: 'http://insecure.example.org/project',
    ...over,
  };
}

describe('compileDigest', () => {
  it('when given the day’s ranking, then every title appears escaped and in rank order', async () => {
    const papers = twentyPapers();
    const { html } = personalise(await templates.compileDigest({ date: '2026-11-24', papers }), links);

    const positions = papers.map((p) => html.indexOf(`>${escapeHtml(p.title)}</a>`));
    expect(positions.every((at) => at > 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    // The fixture's markup title shows as text: escaped form present, the raw tags nowhere.
    expect(papers.some((p) => p.title.includes('<b>Bold</b>'))).toBe(true);
    expect(html).toContain(
      'Why &#60;b&#62;Bold&#60;/b&#62; &#38; &#34;Quoted&#34; Titles Break Naive Templates — 大模型',
    );
    expect(html).not.toMatch(/<b>|<i>/);
  });

  it('when a paper carries markup, bad links and a placeholder, then none of it becomes live', async () => {
    const compiled = await templates.compileDigest({ date: '2026-11-24', papers: [evilPaper()] });
    const { html, text } = personalise(compiled, links);

    expect(html).not.toMatch(/<img|<script|<b>/);
    expect(html).toContain('Pwn &#60;img src=x onerror=alert(1)&#62; &#123;&#123;unsubscribe_url}}');
    expect(html).toContain('&#60;b&#62;Mallory&#60;/b&#62;');
    expect(hrefs(html).some((h) => h.includes('javascript') || h.startsWith('http:'))).toBe(false);
    expect(html).not.toContain('insecure.example.org');
    expect(text).not.toContain('javascript:');
    expect(text).not.toContain('insecure.example.org');
    // The title's "{{unsubscribe_url}}" is not filled with the recipient's link.
    expect(text).toContain('Pwn <img src=x onerror=alert(1)> { {unsubscribe_url}}');
    expect(text.split(links.unsubscribeUrl)).toHaveLength(2);
  });

  it('when rendered, then every link is absolute https and our own links are on PUBLIC_URL', async () => {
    const papers = [...twentyPapers().slice(0, 5), evilPaper()];
    const { html } = personalise(await templates.compileDigest({ date: '2026-11-24', papers }), links);
    const all = hrefs(html);

    expect(all.length).toBeGreaterThan(10);
    for (const href of all) expect(href).toMatch(/^https:\/\/[^/]+\//);
    const own = all.filter((h) => !/^https:\/\/(huggingface\.co|arxiv\.org|github\.com|example\.org)\//.test(h));
    expect(own).toEqual(
      expect.arrayContaining([
        `${publicUrl}/digests/2026-11-24`,
        links.preferencesUrl,
        links.unsubscribeUrl,
        `${publicUrl}/`,
      ]),
    );
    for (const h of own) expect(h.startsWith(`${publicUrl}/`)).toBe(true);
    expect(all).toContain(paperPageUrl(papers[0]!.id));
    expect(all).toContain(arxivUrl(papers[0]!.id));
    // Nothing is fetched when the email opens: no images, stylesheets or web fonts.
    expect(html).not.toMatch(/<img|<link|<[^>]*\ssrc=|@import|url\(|fonts\.googleapis/);
  });

  it('when it has 20 papers, then the HTML stays under Gmail’s clipping limit', async () => {
    const compiled = await templates.compileDigest({ date: '2026-11-24', papers: twentyPapers() });
    const { html } = personalise(compiled, links);
    expect(Buffer.byteLength(html)).toBeLessThan(100_000);
  });

  it('when read as plain text, then it holds every title, link and blurb and the footer links', async () => {
    const papers = twentyPapers();
    const { text } = personalise(await templates.compileDigest({ date: '2026-11-24', papers }), links);

    for (const [i, p] of papers.entries()) {
      expect(text).toContain(`${i + 1}. ${p.title}`);
      expect(text).toContain(paperPageUrl(p.id));
      expect(text).toContain((p.aiSummary ?? p.abstract).slice(0, 40));
      if (p.githubRepo) expect(text).toContain(p.githubRepo);
    }
    expect(text).toContain(`View in browser: ${publicUrl}/digests/2026-11-24`);
    expect(text).toContain(`Unsubscribe: ${links.unsubscribeUrl}`);
    expect(text).toContain(`Preferences: ${links.preferencesUrl}`);
    expect(text).toContain('Paperboy <digest> & Co');
    expect(text).not.toMatch(/&#\d+;/); // raw text, never HTML-escaped
  });

  it('when personalised, then both placeholders are filled (escaped in HTML) and none is left', async () => {
    const compiled = await templates.compileDigest({ date: '2026-11-24', papers: twentyPapers().slice(0, 10) });
    expect(compiled.html).toContain('{{unsubscribe_url}}');
    expect(compiled.html).toContain('{{preferences_url}}');
    expect(compiled.text).toContain('{{unsubscribe_url}}');

    const { html, text } = personalise(compiled, links);
    expect(html).toContain('href="https://papers.example.org/unsubscribe?s=7&#38;t=abc"');
    expect(html).toContain('href="https://papers.example.org/preferences?s=7&#38;t=def"');
    expect(html).not.toContain('{{');
    expect(text).not.toContain('{{');
  });

  it('when personalised with a non-http link, then it refuses', async () => {
    const compiled = await templates.compileDigest({ date: '2026-11-24', papers: twentyPapers().slice(0, 1) });
    expect(() => personalise(compiled, { ...links, unsubscribeUrl: 'javascript:alert(1)' })).toThrow(/http/);
  });

  it('when built, then subject, preheader and header name the day and the top paper', async () => {
    const papers = twentyPapers().slice(0, 10);
    const compiled = await templates.compileDigest({ date: '2026-11-24', papers });
    expect(compiled.subject).toBe('Paperboy · Top 10 papers of Tue 24 Nov');
    expect(compiled.html).toContain(`Top 10 papers of Tue 24 Nov — #1: ${escapeHtml(papers[0]!.title)}`);
    expect(compiled.html).toContain('Tuesday, 24 November 2026');
  });

  it('when a card is built, then it cuts long text, shortens authors and prefers the AI summary', async () => {
    const long = evilPaper({
      title: 'Long',
      abstract: 'word '.repeat(200),
      authors: ['A One', 'B Two', 'C Three', 'D Four'],
      withdrawn: true,
    });
    const summarised = evilPaper({ title: 'Short', aiSummary: 'The gist in one line.', authors: ['Solo Author'] });
    const { html } = await templates.compileDigest({ date: '2026-11-24', papers: [long, summarised] });

    const blurb = /word(?: word)*…/.exec(html)?.[0] ?? '';
    expect(blurb.length).toBeGreaterThan(200);
    expect(blurb.length).toBeLessThanOrEqual(300);
    expect(html).toContain('A One, B Two, C Three et al.');
    expect(html).not.toContain('D Four');
    expect(html).toContain('withdrawn');
    expect(html).toContain('The gist in one line.');
    expect(html).not.toContain('An abstract with');
  });

  it('when the list is empty, then it throws a typed error instead of rendering nothing', async () => {
    await expect(templates.compileDigest({ date: '2026-11-24', papers: [] })).rejects.toBeInstanceOf(EmptyDigestError);
  });
});

describe('the weekly edition’s heading', () => {
  it('says which week, across a month or a year too', () => {
    expect(weekLine('2026-11-29')).toBe('Week of 23–29 Nov 2026');
    expect(weekLine('2026-11-29', 'long')).toBe('Week of 23–29 November 2026');
    expect(weekLine('2026-12-06')).toBe('Week of 30 Nov – 6 Dec 2026');
    expect(weekLine('2027-01-03')).toBe('Week of 28 Dec 2026 – 3 Jan 2027');
  });
});
