import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyBounceEvent } from '../../src/bounces/policy.ts';
import { addressHash } from '../../src/db/suppressions-store.ts';
import { handleReportDeps } from '../../src/context.ts';
import { createSubscriberAdminStore } from '../../src/db/subscriber-admin-store.ts';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';
import { runScript } from '../support/cli.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { createBounceTest, type BounceTest } from './support.ts';

const hard = (email: string) => ({
  recipient: email,
  kind: 'hard' as const,
  reason: 'userunknown',
  status: '5.1.1',
  source: 'import:x.eml',
  reportKey: `k-${email}`,
  verified: true,
});

describe('the suppression list survives `subscribers remove` and re-imports', () => {
  let t: BounceTest | undefined;
  afterEach(() => t?.ctx.close());

  const cli = (args: string[]) =>
    runScript('subscribers', args, { DATABASE_PATH: t!.ctx.config.DATABASE_PATH, SECRET: t!.ctx.secret });

  it('when a hard-bounced address is removed and imported again, then the import skips it and says so', async () => {
    t = createBounceTest();
    t.subscribe('ada@example.org', 'bob@example.org');
    applyBounceEvent(t.deps(), hard('ada@example.org'));
    const row = t.ctx.db.prepare('SELECT * FROM suppressions').get() as { address_hash: string; reason: string };
    // No readable address on the list.
    expect(JSON.stringify(row)).not.toMatch(/ada/i);
    expect(row.address_hash).toBe(addressHash(t.ctx.secret, 'ADA@example.org'));

    expect((await cli(['remove', 'ada@example.org'])).code).toBe(0);
    const file = join(t.ctx.dir, 'back.csv');
    writeFileSync(file, 'email\nAda@Example.org\ncyd@example.org\n');
    const imported = await cli(['import', file]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/^1 imported as confirmed; 1 suppressed \(skipped\) \(/);
    expect(imported.stderr).toContain(
      `${file}:2: Ada@Example.org is suppressed (hard bounce: 5.1.1 userunknown (import:x.eml)): skipped`,
    );
    const listed = await cli(['list']);
    expect(listed.stdout).not.toMatch(/ada@/i);
    expect(listed.stdout).toMatch(/\tcyd@example\.org\tconfirmed\t/);
  });

  it('when an address the sender suppressed on its own is removed, then it is kept on the list first', async () => {
    t = createBounceTest();
    const [ada] = t.subscribe('ada@example.org');
    // The digest sender's own rule (three hard 5xx replies in a row) sets the status directly.
    t.ctx.db.prepare("UPDATE subscribers SET status = 'suppressed' WHERE id = ?").run(ada);
    expect((await cli(['remove', 'ada@example.org'])).code).toBe(0);
    const file = join(t.ctx.dir, 'back.csv');
    writeFileSync(file, 'email\nada@example.org\n');
    expect((await cli(['import', file])).stdout).toMatch(/^0 imported as confirmed; 1 suppressed \(skipped\)/);
  });

  it('when an unsuppressed address is removed and imported again, then it comes back', async () => {
    t = createBounceTest();
    t.subscribe('ada@example.org');
    expect((await cli(['remove', 'ada@example.org'])).code).toBe(0);
    const file = join(t.ctx.dir, 'back.csv');
    writeFileSync(file, 'email\nada@example.org\n');
    expect((await cli(['import', file])).stdout).toMatch(/^1 imported as confirmed/);
  });
});

describe('a new double opt-in through the form lifts a suppression', () => {
  let app: TestApp | undefined;
  afterEach(async () => app?.close());

  it('when a suppressed address signs up and confirms, then it is confirmed and off the list; signing up alone does not lift it', async () => {
    app = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' });
    const ctx = app.ctx;
    createSubscriberAdminStore(ctx.db).importConfirmed(
      [{ line: 2, email: 'ada@example.org', digestSize: 10, keywords: '' }],
      new Date(),
    );
    applyBounceEvent(
      handleReportDeps(ctx, async () => Promise.reject(new Error('unused'))),
      hard('ada@example.org'),
    );
    expect(ctx.subscribers.byEmail('ada@example.org')?.status).toBe('suppressed');

    const res = await app.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'email=ada%40example.org',
    });
    expect(res.statusCode).toBe(202);
    expect(ctx.suppressions.reasonFor('ada@example.org')).toBeDefined();

    const queued = ctx.db
      .prepare("SELECT kind, payload FROM mail_queue WHERE recipient = ? AND kind = 'confirm'")
      .get('ada@example.org') as { kind: string; payload: string };
    const mail = renderQueuedMail(app.templates, { kind: queued.kind, payload: JSON.parse(queued.payload) });
    const confirmUrl = /https:\/\/papers\.example\.org\/confirm\/[\w-]+/.exec(mail.text)![0];
    expect((await app.app.inject({ method: 'POST', url: new URL(confirmUrl).pathname })).statusCode).toBe(200);
    expect(ctx.subscribers.byEmail('ada@example.org')?.status).toBe('confirmed');
    expect(ctx.suppressions.reasonFor('ada@example.org')).toBeUndefined();
  });
});
