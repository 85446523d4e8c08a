import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { testConfig } from '../support/test-context.ts';
import { runInProcess, runScript } from '../support/cli.ts';
import { seedSubscribers } from '../support/digest-harness.ts';
import { cli } from '../../scripts/schedule.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const HEADER = 'timezone\tlocal_time\tutc_time\tdigest_date\treaders';

/** A database with readers in Tokyo (2), Berlin (1), New York (1) at 07:00 and 3 with no zone; its env. */
function setup() {
  const base = { DIGEST_CRON: '0 7 * * *', DIGEST_TZ: 'Europe/Berlin' };
  const t = testConfig(base);
  dir = t.dir;
  const ctx = createContext(t.config, createLogger('silent'));
  const ids = seedSubscribers(ctx.db, 7);
  const setZone = ctx.db.prepare('UPDATE subscribers SET timezone = ?, delivery_hour = ? WHERE id = ?');
  setZone.run('Asia/Tokyo', 7, ids[0]);
  setZone.run('Asia/Tokyo', null, ids[1]); // no hour: DIGEST_CRON's
  setZone.run('Europe/Berlin', 7, ids[2]);
  setZone.run('America/New_York', 7, ids[3]);
  ctx.close();
  return { ...base, DATABASE_PATH: t.config.DATABASE_PATH, OUTBOX_DIR: t.config.OUTBOX_DIR };
}

describe('npm run schedule', () => {
  it('when asked for help or given a bad argument, then it prints usage and exits 0 or 2', async () => {
    const help = await runInProcess(cli, ['--help']);
    const bad = await runInProcess(cli, ['--frobnicate']);
    const badDate = await runInProcess(cli, ['--on', '2026-02-30']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run schedule --/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/schedule: Unknown option '--frobnicate'/);
    expect(badDate.code).toBe(2);
  });

  it('when readers are in zones, then it prints one row per (zone, local time), no-zone readers under DIGEST_TZ, by UTC time', async () => {
    const env = setup();
    const r = await runScript('schedule', ['--on', '2026-11-25'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        HEADER,
        'Asia/Tokyo\t2026-11-25T07:00\t2026-11-24T22:00Z\t2026-11-23\t2',
        'Europe/Berlin\t2026-11-25T07:00\t2026-11-25T06:00Z\t2026-11-24\t4',
        'America/New_York\t2026-11-25T07:00\t2026-11-25T12:00Z\t2026-11-24\t1',
        '',
      ].join('\n'),
    );
  });

  it('when DELIVERY_MODE=batch, then one row per DIGEST_CRON time holds everyone; with --weekly and no weekly readers, the header alone', async () => {
    const env = setup();
    const batch = await runScript('schedule', ['--on', '2026-11-25'], { ...env, DELIVERY_MODE: 'batch' });
    expect(batch.stdout).toBe(`${HEADER}\nEurope/Berlin\t2026-11-25T07:00\t2026-11-25T06:00Z\t2026-11-24\t7\n`);
    const weekly = await runScript('schedule', ['--on', '2026-11-30', '--weekly'], env);
    expect(weekly).toMatchObject({ code: 0, stdout: `${HEADER}\n` });
  });
});
