import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const knip = join(root, 'node_modules', 'knip', 'bin', 'knip.js');
// Inside the project, so the copy finds the project's node_modules; test-artifacts/ is ignored by git and knip.
const artifacts = join(root, 'test-artifacts');
const copied = [
  'src',
  'scripts',
  'bench',
  'tests',
  'package.json',
  'knip.jsonc',
  'tsconfig.json',
  'vitest.config.ts',
  'eslint.config.js',
];
const copies: string[] = [];

/** The project's code and configuration in a folder of its own (recorded fixtures left out: no code imports them). */
function projectCopy(): string {
  mkdirSync(artifacts, { recursive: true });
  const dir = mkdtempSync(join(artifacts, 'knip-'));
  copies.push(dir);
  for (const name of copied) {
    cpSync(join(root, name), join(dir, name), {
      recursive: true,
      filter: (src) => src !== join(root, 'tests', 'fixtures'),
    });
  }
  return dir;
}

interface Finding {
  file: string;
  kind: string;
  name: string;
}

/** What knip finds in the folder: one entry per unused file, export, dependency, … */
function knipFindings(dir: string): Finding[] {
  const run = spawnSync(process.execPath, [knip, '--directory', dir, '--no-progress', '--reporter', 'json'], {
    encoding: 'utf8',
  });
  if (run.status !== 0 && run.status !== 1) throw new Error(`knip failed (${run.status}): ${run.stderr}`);
  const report = JSON.parse(run.stdout) as { issues: Record<string, unknown>[] };
  return report.issues.flatMap((issue) =>
    Object.entries(issue).flatMap(([kind, list]) =>
      Array.isArray(list) ? list.map((f: { name: string }) => ({ file: String(issue.file), kind, name: f.name })) : [],
    ),
  );
}

const LEFTOVER = { file: 'src/cli.ts', kind: 'exports', name: 'leftover' };
const UNUSED_DEPENDENCY = { file: 'package.json', kind: 'dependencies', name: 'left-pad' };

/** What knip finds in one copy holding every case below: a knip run reads the whole project, whatever changed. */
let findings: Finding[];

beforeAll(() => {
  const dir = projectCopy();
  writeFileSync(join(dir, 'src', 'mail', 'extra-worker.mjs'), "import { parentPort } from 'node:worker_threads';\n");
  writeFileSync(join(dir, 'scripts', 'extra.ts'), 'export async function cli(): Promise<number> {\n  return 0;\n}\n');
  writeFileSync(join(dir, 'bench', 'extra-worker.ts'), 'export const extraHandlers = () => ({});\n');
  appendFileSync(join(dir, 'src', 'cli.ts'), 'export const leftover = 1;\n');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  pkg.dependencies['left-pad'] = '^1.3.0';
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  findings = knipFindings(dir);
});

afterAll(() => {
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('npm run lint keeps leftovers out (knip)', () => {
  it('when a worker thread, a launcher command or a bench role is started only by name, then knip counts it as used', () => {
    expect(findings.filter((f) => f.name !== LEFTOVER.name && f.name !== UNUSED_DEPENDENCY.name)).toEqual([]);
  });

  it('when a module exports a name no other module imports, then knip reports the export', () => {
    expect(findings.filter((f) => f.name === LEFTOVER.name)).toEqual([LEFTOVER]);
  });

  it('when package.json lists a dependency no code loads, then knip reports it', () => {
    expect(findings.filter((f) => f.name === UNUSED_DEPENDENCY.name)).toEqual([UNUSED_DEPENDENCY]);
  });
});
