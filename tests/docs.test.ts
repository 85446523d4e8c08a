import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { configSchema } from '../src/config.ts';

const envExample = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const settings = Object.keys(configSchema.shape).sort();

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
