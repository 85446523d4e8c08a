import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';

const isRoot = process.getuid?.() === 0;
let t: TestApp | undefined;
let mounted: string | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
  if (mounted) {
    execFileSync('umount', [mounted]);
    rmSync(mounted, { recursive: true, force: true });
    mounted = undefined;
  }
});

/** Writes a file until the file system is full; returns its path. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const chunk = Buffer.alloc(4096, 1);
  let size = 0;
  try {
    for (;;) {
      writeFileSync(filler, chunk, { flag: 'a' });
      size += chunk.length;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  expect(size).toBeGreaterThan(0);
  return filler;
}

describe('GET /healthz when the disk is full', () => {
  // A real full disk: the database on a 2 MiB tmpfs, filled up. Mounting needs root.
  it.skipIf(!isRoot)(
    'when the database cannot write, then 503 with the reason while sign-ups fail; once there is room, 200 again',
    async () => {
      mounted = mkdtempSync(join(tmpdir(), 'paperboy-full-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mounted]);
      const clock = new ManualClock();
      t = await createTestApp(
        { DATABASE_PATH: join(mounted, 'paperboy.sqlite'), SUBSCRIBE_RATE_PER_IP: '0' },
        { clock },
      );
      expect((await t.app.inject('/healthz')).statusCode).toBe(200);

      const filler = fill(mounted);
      const signUp = await t.app.inject({
        method: 'POST',
        url: '/subscribe',
        headers: { 'content-type': 'application/json' },
        payload: '{"email":"ada@example.org"}',
      });
      expect(signUp.statusCode).toBe(500);

      clock.advance(60_000);
      const full = await t.app.inject('/healthz');
      expect(full.statusCode).toBe(503);
      expect(full.json()).toEqual({ status: 'unavailable', reason: 'database not writable: SQLITE_FULL' });

      unlinkSync(filler);
      // The answer is kept a few seconds (a probe does not write on every request)...
      expect((await t.app.inject('/healthz')).statusCode).toBe(503);
      clock.advance(60_000);
      // ...and then the next write succeeds.
      expect((await t.app.inject('/healthz')).statusCode).toBe(200);
    },
  );

  it('when probes come often, then the health row is written at most once per interval', async () => {
    const clock = new ManualClock();
    t = await createTestApp({}, { clock });
    expect((await t.app.inject('/healthz')).statusCode).toBe(200);
    const checkedAt = () => t!.ctx.db.prepare('SELECT checked_at FROM health').pluck().get();
    const first = checkedAt();
    expect(first).toBe(clock.now().toISOString());
    clock.advance(1_000);
    for (let i = 0; i < 5; i++) expect((await t.app.inject('/healthz')).statusCode).toBe(200);
    expect(checkedAt()).toBe(first);
    clock.advance(60_000);
    await t.app.inject('/healthz');
    expect(checkedAt()).toBe(clock.now().toISOString());
  });
});
