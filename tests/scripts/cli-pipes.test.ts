import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createSubscriberAdminStore } from '../../src/db/subscriber-admin-store.ts';
import { planImport } from '../../src/domain/subscriber-import.ts';
import { repoRoot } from '../support/server-process.ts';

let dir: string;
let env: Record<string, string>;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paperboy-pipes-'));
  env = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', DATABASE_PATH: join(dir, 'paperboy.sqlite') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function seed(n: number) {
  const db = openDatabase(env.DATABASE_PATH!);
  migrate(db);
  const csv = ['email', ...Array.from({ length: n }, (_, i) => `reader${i}@example.org`)].join('\n');
  createSubscriberAdminStore(db).importConfirmed(planImport(csv).rows, new Date());
  db.close();
}

/** Runs a shell pipeline as an operator types it; `subscribers` stands for the CLI. */
function pipeline(command: string) {
  const cli = `"${process.execPath}" --import tsx scripts/subscribers.ts`;
  const child = spawn('bash', ['-c', `set -o pipefail; ${command.replace('subscribers', cli)}`], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

describe("when the reader of a CLI's output goes away early, then the CLI ends quietly", () => {
  it('subscribers count | true, the reader gone before the first line: exit 0, nothing on stderr', async () => {
    seed(3);
    // `true` exits at once, so every line count writes meets a closed pipe.
    const r = await pipeline('subscribers count | true');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('subscribers export | head -1 on a list longer than the pipe holds: the header, exit 0, nothing on stderr', async () => {
    seed(20_000);
    const r = await pipeline('subscribers export | head -1');
    expect(r.stdout).toBe('email,digest_size,keywords,cadence,timezone,delivery_hour\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
