import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileMjml } from '../../src/mail/mjml-compiler.ts';
import { loadTemplates, templatesDir } from '../../src/mail/templates.ts';
import { fixturePapers } from '../support/fixture-papers.ts';

const DATE = '2026-11-24';
const settings = { publicUrl: 'https://papers.example.org', postalAddress: 'Paperboy, 1 Example Street' };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'paperboy-template-cache-'));
  dirs.push(dir);
  return dir;
};

/** The real MJML compiler, counted. */
function countingCompiler() {
  const counter = {
    compiles: 0,
    compile: async (source: string) => {
      counter.compiles++;
      return compileMjml(source);
    },
  };
  return counter;
}

async function emails(cacheDir: string, dir = templatesDir) {
  const mjml = countingCompiler();
  const t = await loadTemplates({ ...settings, cacheDir }, dir, mjml.compile);
  const links = { preferencesUrl: 'https://papers.example.org/p', unsubscribeUrl: 'https://papers.example.org/u' };
  return {
    compiles: mjml.compiles,
    digest: (await t.compileDigest({ date: DATE, papers: fixturePapers(DATE).slice(0, 10) })).html,
    confirm: t.confirm({ confirmUrl: 'https://papers.example.org/c', preferencesUrl: links.preferencesUrl }).html,
    already: t.alreadySubscribed(links).html,
  };
}

describe('compiled templates kept between starts', () => {
  it('when the templates were compiled before, then a start compiles nothing and fills the same emails', async () => {
    const cacheDir = tempDir();
    const first = await emails(cacheDir);
    const second = await emails(cacheDir);

    expect(first.compiles).toBeGreaterThan(0);
    expect(second.compiles).toBe(0);
    expect(second).toEqual({ ...first, compiles: 0 });
    expect(second.digest).toContain('class="title"');
  });

  it('when a template changed since, then it is compiled again and the change shows', async () => {
    const cacheDir = tempDir();
    const dir = tempDir();
    cpSync(templatesDir, dir, { recursive: true });
    await emails(cacheDir, dir);
    const header = join(dir, 'partials/header.mjml');
    writeFileSync(header, readFileSync(header, 'utf8').replace('{{intro}}', '{{intro}} Fresh from the press.'));

    const changed = await emails(cacheDir, dir);
    expect(changed.compiles).toBeGreaterThan(0);
    expect(changed.digest).toContain('Fresh from the press.');
    expect((await emails(cacheDir, dir)).compiles).toBe(0);
  });

  it('when the kept file is damaged, then the templates are compiled again instead of failing the start', async () => {
    const cacheDir = tempDir();
    const good = await emails(cacheDir);
    writeFileSync(join(cacheDir, 'compiled-templates.json'), '{"key": "half a fi');

    const again = await emails(cacheDir);
    expect(again.compiles).toBeGreaterThan(0);
    expect(again.digest).toBe(good.digest);
  });
});
