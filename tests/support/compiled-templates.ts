import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compiledTemplatesFile, templateCacheDir } from '../../src/mail/template-cache.ts';
import { loadTemplates } from '../../src/mail/templates.ts';

/**
 * The templates compiled once for the whole test run (vitest's global setup), then copied beside
 * each test's database, where the service and the CLIs look for them (src/mail/template-cache.ts):
 * a compile costs a process ~1 s (MJML's thread starting, then the compiles and their check), and
 * most tests start the app or a CLI on a fresh folder. Compiling them is tested where it is the
 * point: tests/mail/template-cache.test.ts, templates-load.test.ts, digest-pieces.test.ts.
 */
const ENV = 'PAPERBOY_TEST_COMPILED_TEMPLATES';

export default async function compileOnceForTheRun(): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'paperboy-test-templates-'));
  await loadTemplates({ publicUrl: 'https://papers.example.org', postalAddress: 'Paperboy', cacheDir: dir });
  process.env[ENV] = compiledTemplatesFile(dir);
  return () => rmSync(dir, { recursive: true, force: true });
}

/** Puts the run's compiled templates where a service or CLI with its database at `databasePath` reads them. */
export function seedCompiledTemplates(databasePath: string): void {
  const file = process.env[ENV];
  const cacheDir = templateCacheDir(databasePath);
  if (!file || !cacheDir) return;
  mkdirSync(cacheDir, { recursive: true });
  copyFileSync(file, compiledTemplatesFile(cacheDir));
}
