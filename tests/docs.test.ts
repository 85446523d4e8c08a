import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../src/config.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const envExample = readFileSync(join(root, '.env.example'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const settings = Object.keys(configSchema.shape).sort();

/** The operator's documents: the README, every page under docs/, and the bench's README. */
function documents(): string[] {
  const docs = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs'))
        .filter((name) => name.endsWith('.md'))
        .map((name) => join(root, 'docs', name))
    : [];
  return [join(root, 'README.md'), ...docs, join(root, 'bench', 'README.md')];
}

/** Relative link targets of a Markdown text, anchors dropped; code blocks and spans hold examples, not links. */
function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((target) => !/^([a-z][a-z0-9+.-]*:|#)/i.test(target))
    .map((target) => decodeURIComponent(target.split('#')[0] ?? ''));
}

describe('the configuration is documented where operators look', () => {
  it('when a setting exists, then .env.example documents it, and it documents nothing else', () => {
    const documented = [...envExample.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(settings);
  });

  it('when a setting exists, then the README configuration table has a row for it, and only for those', () => {
    const table = readme.slice(readme.indexOf('## Configuration'));
    const rows = [...table.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(rows).toEqual(settings);
  });
});

describe('the docs are a front door and rooms that connect', () => {
  it('when the README is read, then it is at most 300 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
  });

  it('when the docs are read, then docs/ has the architecture, operating, deliverability and monitoring pages', () => {
    for (const page of ['architecture.md', 'operating.md', 'deliverability.md', 'monitoring.md'])
      expect(existsSync(join(root, 'docs', page)), `docs/${page}`).toBe(true);
  });

  it('when a document links to a relative path, then that file exists', () => {
    const broken: string[] = [];
    for (const file of documents()) {
      for (const target of relativeLinks(readFileSync(file, 'utf8'))) {
        if (target && !existsSync(join(dirname(file), target))) broken.push(`${relative(root, file)} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('when a document is read, then it names no numbered issue', () => {
    const mentions = documents().flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/\bissues?\s+#?\d+/gi)].map((m) => `${relative(root, file)}: ${m[0]}`),
    );
    expect(mentions).toEqual([]);
  });
});
