import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The layers of the repository, bottom first. A file may import from its own layer or any layer
 * below it, never from one above, and no files import each other in a circle. A name is a folder
 * or a file under src/ (a sub-folder named on its own is a layer of its own: the longest name a
 * path lies under decides), or the folder scripts/ or bench/ (entry points over src/).
 */
const LAYERS: readonly (readonly string[])[] = [
  [
    'src/config.ts',
    'src/clock.ts',
    'src/logger.ts',
    'src/errors.ts',
    'src/retry.ts',
    'src/secret.ts',
    'src/html.ts',
    'src/weekdays.ts',
  ],
  ['src/model'],
  ['src/db'],
  ['src/domain'],
  ['src/bounces/classify'],
  ['src/bounces'],
  ['src/bounces/sources'],
  ['src/mail', 'src/papers'],
  ['src/digest'],
  ['src/jobs', 'src/doctor', 'src/channels'],
  ['src/http'],
  ['src/context.ts', 'src/app.ts', 'src/main.ts', 'src/cli.ts', 'src/heap.ts'],
  ['scripts', 'bench'],
];

const IMPORT = /\bfrom\s+'(\.{1,2}\/[^']+)'|\bimport\s*\(?\s*'(\.{1,2}\/[^']+)'/g;

function tsFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** Every relative import of the files given, as repository paths. */
function importsOf(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) => relative(root, resolve(root, dirname(file), m[1] ?? m[2]!)));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The layer a path belongs to: the index of the longest name in LAYERS that it is or lies under. */
function layerOf(path: string): number | undefined {
  let best: { layer: number; length: number } | undefined;
  LAYERS.forEach((names, layer) => {
    for (const name of names)
      if ((path === name || path.startsWith(`${name}/`)) && (!best || name.length > best.length))
        best = { layer, length: name.length };
  });
  return best?.layer;
}

/** Imports from a layer to a higher one, as "from -> to". */
function upwardImports(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  for (const [from, targets] of graph)
    for (const to of targets) {
      const a = layerOf(from);
      const b = layerOf(to);
      if (a !== undefined && b !== undefined && b > a) found.push(`${from} -> ${to}`);
    }
  return found;
}

/** Groups of files that import each other in a circle (Tarjan's strongly connected components). */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(group.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const graph = importsOf([...tsFiles('src'), ...tsFiles('scripts'), ...tsFiles('bench')]);

describe('imports only point down', () => {
  it('when a file sits outside every layer, then the test names it', () => {
    expect([...graph.keys()].filter((f) => layerOf(f) === undefined)).toEqual([]);
  });

  it('when a file imports from a higher layer, then the test names the import', () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it('when files import each other in a circle, then the test names them', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('when a file imports a module one layer up, then the check finds it', () => {
    const planted = new Map([['src/db/planted.ts', ['src/http/pages.ts']]]);
    expect(upwardImports(planted)).toEqual(['src/db/planted.ts -> src/http/pages.ts']);
  });

  it('when a folder imports a sub-folder layered above it, or a sub-folder the folder above, then the check finds it', () => {
    const planted = new Map([
      ['src/bounces/handle-report.ts', ['src/bounces/sources/receiver.ts']],
      ['src/bounces/classify/rules.ts', ['src/bounces/policy.ts']],
    ]);
    expect(upwardImports(planted)).toEqual([
      'src/bounces/handle-report.ts -> src/bounces/sources/receiver.ts',
      'src/bounces/classify/rules.ts -> src/bounces/policy.ts',
    ]);
  });

  it('when two files import each other, then the check finds the circle', () => {
    const planted = new Map([
      ['src/mail/a.ts', ['src/mail/b.ts']],
      ['src/mail/b.ts', ['src/mail/a.ts']],
    ]);
    expect(circles(planted)).toEqual([['src/mail/a.ts', 'src/mail/b.ts']]);
  });
});
