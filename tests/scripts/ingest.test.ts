import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.ts';
import { createPapersStore } from '../../src/db/papers-store.ts';
import { defaultDigestDate } from '../../src/domain/dates.ts';
import { fixturePath, startPapersApi, type PapersApi } from '../support/papers-api.ts';
import { projectTsNode, repoRoot } from '../support/server-process.ts';
import { runInProcess, runInProcessOn } from '../support/cli.ts';
import { cli } from '../../scripts/ingest.ts';

let api: PapersApi;
let dir: string;
beforeAll(async () => {
  api = await startPapersApi();
});
afterAll(() => api.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paperboy-cli-'));
  api.requests.length = 0;
  return () => rmSync(dir, { recursive: true, force: true });
});

/** The environment of a run: a temp database and the local API. */
const envOf = (env: Record<string, string>) => ({
  DATABASE_PATH: join(dir, 'paperboy.sqlite'),
  OUTBOX_DIR: join(dir, 'outbox'),
  SECRET: 'test-secret-test-secret-test-secret-0123',
  LOG_LEVEL: 'silent',
  PAPERS_API_URL: api.url,
  DIGEST_TZ: 'UTC',
  ...env,
});

/** Runs `tsx scripts/ingest.ts …` as an operator would, on a temp database and the local API. */
function ingest(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...projectTsNode, 'scripts/ingest.ts', ...args],
      { cwd: repoRoot, timeout: 30_000, env: { ...process.env, ...envOf(env) } },
      // A kill (timeout, signal) has no numeric code: -1 so it can never pass for exit 1.
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** The command's logic in this process; the saved-response import runs spawned, for the process contract. */
const run = (args: string[], env: Record<string, string> = {}) => runInProcessOn(cli, args, envOf(env));

function storedFor(date: string) {
  const db = openDatabase(join(dir, 'paperboy.sqlite'));
  try {
    return createPapersStore(db).forDay(date);
  } finally {
    db.close();
  }
}

describe('npm run ingest', () => {
  it('when --help, then it prints the usage and exits 0 without touching anything', async () => {
    const r = await runInProcess(cli, ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm run ingest -- \[--date YYYY-MM-DD\] \[--file path\.json\]/);
    expect(r.stdout).toContain('the last complete day of the feed');
    expect(api.requests).toHaveLength(0);
  });

  it('when an option is unknown or the date is not a real day, then it exits 2 with the usage', async () => {
    const unknown = await runInProcess(cli, ['--day', '2026-11-24']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^ingest: Unknown option '--day'/);
    expect(unknown.stderr).toContain('Usage: npm run ingest');
    const badDate = await runInProcess(cli, ['--date', '2026-02-30']);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--date must be a real day as YYYY-MM-DD, got "2026-02-30"');
    expect(api.requests).toHaveLength(0);
  });

  it('when --file points at a saved response, then it imports offline and reports new, then updated', async () => {
    const file = fixturePath('2026-11-24.json');
    const first = await ingest(['--file', file], { PAPERS_API_URL: 'http://127.0.0.1:9/unreachable' });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(`${file} (2026-11-24): 23 new, 0 updated, 0 skipped\n`);
    const second = await ingest(['--file', file]);
    expect(second.stdout).toBe(`${file} (2026-11-24): 0 new, 23 updated, 0 skipped\n`);
    expect(storedFor('2026-11-24')).toHaveLength(23);
    expect(api.requests).toHaveLength(0);
  });

  it('when --file does not exist, then it exits 1 and says why', async () => {
    const r = await run(['--file', join(dir, 'missing.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ingest failed: ENOENT: no such file or directory/);
  });

  it('when --date is given, then that day is fetched from PAPERS_API_URL and stored', async () => {
    const r = await run(['--date', '2026-11-23']);
    expect(r).toMatchObject({ code: 0, stdout: '2026-11-23: 14 new, 0 updated, 0 skipped\n' });
    expect(api.requests.map((q) => q.date)).toEqual(['2026-11-23']);
    expect(storedFor('2026-11-23')).toHaveLength(14);
  });

  it('when no date is given, then it fetches yesterday in DIGEST_TZ', async () => {
    const tz = 'Pacific/Kiritimati';
    const before = defaultDigestDate(new Date(), tz);
    const r = await run([], { DIGEST_TZ: tz });
    const after = defaultDigestDate(new Date(), tz);
    expect(r.code).toBe(0);
    expect([before, after]).toContain(api.requests[0]?.date);
  });

  it('when the API fails, then it exits 1 with the error naming the URL', async () => {
    api.script({ status: 404, body: 'no such endpoint' });
    const r = await run(['--date', '2026-11-23']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `ingest failed: GET ${api.url}?date=2026-11-23&p=0&limit=100 answered HTTP 404 Not Found: no such endpoint`,
    );
    expect(storedFor('2026-11-23')).toEqual([]);
  });
});
