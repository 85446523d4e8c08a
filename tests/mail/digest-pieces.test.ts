import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Paper } from '../../src/model/paper.ts';
import { compileMjml } from '../../src/mail/mjml-compiler.ts';
import { loadTemplates, templatesDir, TemplateError, type Templates } from '../../src/mail/templates.ts';
import { fixturePapers } from '../support/fixture-papers.ts';

const DATE = '2026-11-24';
const settings = { publicUrl: 'https://papers.example.org', postalAddress: 'Paperboy <digest> & Co, 1 Example Street' };

let templates: Templates;
beforeAll(async () => {
  templates = await loadTemplates(settings);
});

/** A small deterministic generator, so a failing variant can be found again. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The fixture day plus papers that exercise every branch of a card: markup, missing links, et al., withdrawn. */
function dayOfPapers(): Paper[] {
  const day = fixturePapers(DATE);
  const odd = day.slice(0, 12).map((p, i): Paper => ({
    ...p,
    id: `2611.9${String(i).padStart(4, '0')}`,
    title: i % 2 ? `Odd <b>title</b> & "quotes" {{unsubscribe_url}} #${i}` : `${p.title} ${'long '.repeat(i * 5)}`,
    abstract: i % 3 ? 'Short.' : `${p.abstract} `.repeat(3),
    aiSummary: i % 4 === 0 ? 'A summary with <i>markup</i> & {{preferences_url}}.' : null,
    authors: ['Ada', 'Alan', 'Grace', 'Edsger'].slice(0, i % 5),
    githubRepo: i % 2 ? null : 'https://github.com/example/x?a=1&b=2',
    projectPage: i % 3 ? 'javascript:alert(1)' : 'https://example.org/p',
    upvotes: i * 7,
    numComments: i % 2,
    withdrawn: i === 5,
  }));
  return [...day, ...odd];
}

describe('digest variants assembled from compiled pieces', () => {
  it('when many random variants are assembled, then each is byte for byte the direct MJML compile of the same list', async () => {
    const papers = dayOfPapers();
    const next = random(16);
    const assemble = templates.digestAssembler(DATE);
    // 1 and 20 papers, the day's order, a reversed order, then random subsets, orders and sizes.
    const lists = [papers.slice(0, 1), papers.slice(0, 20), papers.slice(0, 10).reverse(), papers.slice(-1)];
    for (let k = 0; k < 36; k++) {
      const size = 1 + Math.floor(next() * 20);
      lists.push([...papers].sort(() => next() - 0.5).slice(0, size));
    }
    for (const list of lists) {
      const [assembled, direct] = await Promise.all([
        assemble(list),
        templates.referenceDigest({ date: DATE, papers: list }),
      ]);
      expect(assembled.html.length).toBeGreaterThan(10_000);
      expect(assembled).toStrictEqual(direct);
    }
  }, 60_000);

  it('when a send assembles its variants, then MJML compiles nothing: it compiled the templates once, at load', async () => {
    const papers = dayOfPapers();
    let compiles = 0;
    const counted = await loadTemplates(settings, templatesDir, async (source) => {
      compiles++;
      return compileMjml(source);
    });
    const atLoad = compiles;
    expect(atLoad).toBeGreaterThan(0);
    const assemble = counted.digestAssembler(DATE);
    const variants = await Promise.all(
      [papers.slice(0, 3), papers.slice(1, 4), papers.slice(0, 20).reverse()].map(assemble),
    );
    await counted.compileDigest({ date: DATE, papers: papers.slice(0, 5), cadence: 'weekly' });
    expect(compiles).toBe(atLoad);
    expect(variants.map((v) => v.html.match(/class="title"/g)?.length)).toEqual([3, 3, 20]);
  });

  it('when a card is not exactly one mj-section, then loading the templates fails instead of a send assembling garbage', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'paperboy-templates-'));
    try {
      await cp(templatesDir, dir, { recursive: true });
      const card = await readFile(join(dir, 'partials/paper.mjml'), 'utf8');
      await writeFile(
        join(dir, 'partials/paper.mjml'),
        `${card}\n<mj-section><mj-column><mj-text>after {{rank}}</mj-text></mj-column></mj-section>`,
      );
      await expect(loadTemplates(settings, dir)).rejects.toThrow(TemplateError);
      await expect(loadTemplates(settings, dir)).rejects.toThrow(/exactly one <mj-section>/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('when the list is empty, then the assembler refuses it as compileDigest does', async () => {
    await expect(templates.digestAssembler(DATE)([])).rejects.toThrow(/no papers/);
  });
});
