import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

/**
 * The no-network guard compiled to JavaScript once for the whole test run (vitest's global setup),
 * for the processes the tests start: a command or the service runs dist/, plain JavaScript, and
 * loading the guard from TypeScript would need tsx in each of them, which costs every start more
 * than the command itself.
 */
const ENV = 'PAPERBOY_TEST_NO_NETWORK_GUARD';

export default function compileGuardOnce(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'paperboy-test-guard-'));
  const outfile = join(dir, 'no-network.mjs');
  buildSync({
    entryPoints: [fileURLToPath(new URL('./no-network.ts', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'error',
  });
  process.env[ENV] = outfile;
  return () => rmSync(dir, { recursive: true, force: true });
}

/** The compiled guard's file, for `--import`. */
export function compiledGuard(): string {
  const file = process.env[ENV];
  if (!file) throw new Error(`${ENV} is not set: tests/support/no-network-build.ts runs as vitest's global setup`);
  return file;
}
