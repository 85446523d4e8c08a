import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../support/test-context.ts';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/db/connection.ts';
import { migrate, migrationsDir } from '../../src/db/migrate.ts';
import { createLedgerStore } from '../../src/digest/ledger-store.ts';
import { openLedgerSession } from '../../src/digest/ledger-session.ts';
import { CONFIRMED_AT, DATE, deliveryRows, NOW, seedSubscribers } from '../support/digest-harness.ts';

let ctx: TestContext;
beforeEach(() => {
  ctx = createTestContext();
});
afterEach(() => ctx.close());

const later = (ms: number) => new Date(NOW.getTime() + ms);

describe('ledger store: the lease', () => {
  it('when one sender holds the lease, then another cannot take it until it lapses', () => {
    const run = ctx.ledger.open(DATE, NOW);
    expect(ctx.ledger.takeLease(run.id, 'a', NOW, 30_000)).toBe(true);
    expect(ctx.ledger.takeLease(run.id, 'b', later(29_999), 30_000)).toBe(false);
    expect(ctx.ledger.takeLease(run.id, 'b', later(30_000), 30_000)).toBe(true);
    // The old holder finds out when it tries to renew.
    expect(ctx.ledger.renewLease(run.id, 'a', later(30_001), 30_000)).toBe(false);
    expect(ctx.ledger.byId(run.id).leaseOwner).toBe('b');
  });

  it('when the holder releases it, then the next sender takes it at once', () => {
    const run = ctx.ledger.open(DATE, NOW);
    ctx.ledger.takeLease(run.id, 'a', NOW, 30_000);
    ctx.ledger.releaseLease(run.id, 'a', NOW);
    expect(ctx.ledger.takeLease(run.id, 'b', NOW, 30_000)).toBe(true);
  });

  it('when the run is opened twice, then it is one row and keeps its first cut-off', () => {
    const a = ctx.ledger.open(DATE, NOW);
    const b = ctx.ledger.open(DATE, later(3600_000));
    expect(b.id).toBe(a.id);
    expect(b.startedAt).toBe(NOW.toISOString());
  });
});

describe('ledger store: claiming and recording', () => {
  it('when claiming, then subscribers come in id order, a batch at a time, only those confirmed before the cut-off', () => {
    const early = seedSubscribers(ctx.db, 7);
    seedSubscribers(ctx.db, 2, { confirmedAt: later(1000).toISOString(), prefix: 'late' });
    seedSubscribers(ctx.db, 2, { status: 'unsubscribed', prefix: 'gone' });
    const run = ctx.ledger.open(DATE, NOW);
    const session = openLedgerSession(ctx.ledger, run.id);

    const first = session.claim(NOW, 3);
    expect(first.map((d) => d.subscriberId)).toEqual(early.slice(0, 3));
    expect(first[0]).toMatchObject({
      email: `reader${early[0]}@example.com`,
      digestSize: 10,
      keywords: '',
      attempts: 1,
      status: 'confirmed',
    });
    const second = session.claim(NOW, 3);
    expect(second.map((d) => d.subscriberId)).toEqual(early.slice(3, 6));
    const third = session.claim(NOW, 3);
    expect(third.map((d) => d.subscriberId)).toEqual(early.slice(6));
    expect(session.claim(NOW, 3)).toEqual([]);
    // A first attempt is written when its outcome is known: claiming moved the cursor only.
    expect(ctx.ledger.byId(run.id)).toMatchObject({ enqueueDone: true, enqueuedThrough: early[6], settledThrough: 0 });
    expect(deliveryRows(ctx.db)).toEqual([]);
  });

  it('when outcomes are recorded, then rows, run counts and the mark change together', () => {
    const [a, b, c, d, e] = seedSubscribers(ctx.db, 5) as [number, number, number, number, number];
    const run = ctx.ledger.open(DATE, NOW);
    const session = openLedgerSession(ctx.ledger, run.id);
    session.claim(NOW, 10);
    session.record(
      [
        { subscriberId: a, kind: 'sent', reply: '250 ok', messageId: 'm1' },
        { subscriberId: b, kind: 'failed', reply: '550 5.1.1 unknown' },
        { subscriberId: c, kind: 'skipped', reply: 'subscriber is unsubscribed' },
        { subscriberId: d, kind: 'deferred', reply: '451 later', nextAttemptAt: later(60_000).toISOString() },
        { subscriberId: e, kind: 'released' },
      ],
      NOW,
    );
    expect(ctx.ledger.byId(run.id)).toMatchObject({ sent: 1, failed: 1, skipped: 1, settledThrough: e });
    const rows = deliveryRows(ctx.db);
    expect(rows.map((r) => [r.status, r.attempts, r.lastReply, r.messageId])).toEqual([
      ['sent', 1, '250 ok', 'm1'],
      ['failed', 1, '550 5.1.1 unknown', null],
      ['skipped', 1, 'subscriber is unsubscribed', null],
      ['pending', 1, '451 later', null],
      ['pending', 0, null, null],
    ]);
    // The deferred one is not due yet; the released one is.
    expect(session.claim(NOW, 10).map((x) => x.subscriberId)).toEqual([e]);
    const [retry] = session.claim(later(60_000), 10);
    expect(retry).toMatchObject({ subscriberId: d, attempts: 2 });
    session.record([{ subscriberId: d, kind: 'sent', reply: '250 at last', messageId: 'm4' }], later(60_000));
    expect(deliveryRows(ctx.db)[3]).toMatchObject({
      status: 'sent',
      attempts: 2,
      lastReply: '250 at last',
      messageId: 'm4',
    });
  });

  it('when a subscriber is erased between their claim and its outcome, then the outcome leaves no row and the others are written', () => {
    const [a, b, c] = seedSubscribers(ctx.db, 3) as [number, number, number];
    const run = ctx.ledger.open(DATE, NOW);
    const session = openLedgerSession(ctx.ledger, run.id);
    session.claim(NOW, 10);
    ctx.db.prepare('DELETE FROM subscribers WHERE id IN (?, ?)').run(a, b);
    session.record(
      [
        { subscriberId: a, kind: 'sent', reply: '250 ok', messageId: 'm1' },
        { subscriberId: b, kind: 'skipped', reply: 'subscriber is gone' },
        { subscriberId: c, kind: 'sent', reply: '250 ok', messageId: 'm3' },
      ],
      NOW,
    );
    expect(deliveryRows(ctx.db).map((r) => [r.subscriberId, r.status])).toEqual([[c, 'sent']]);
    expect(ctx.ledger.byId(run.id)).toMatchObject({ sent: 2, skipped: 1, settledThrough: c });
  });

  it('when an outcome names a delivery this session never claimed, then it throws and writes nothing', () => {
    const [a] = seedSubscribers(ctx.db, 1) as [number];
    const run = ctx.ledger.open(DATE, NOW);
    expect(() =>
      openLedgerSession(ctx.ledger, run.id).record(
        [{ subscriberId: a, kind: 'sent', reply: '250', messageId: 'x' }],
        NOW,
      ),
    ).toThrow(/no claimed delivery/);
    expect(deliveryRows(ctx.db)).toEqual([]);
  });

  it('when some domains are held back, then their deliveries due again are left pending, and the counts leave them out', () => {
    const [a, b, c, d] = seedSubscribers(ctx.db, 4) as [number, number, number, number];
    ctx.db.prepare("UPDATE subscribers SET email = 'ada@Blocked.example' WHERE id = ?").run(b);
    ctx.db.prepare("UPDATE subscribers SET email = 'odd@name@blocked.example' WHERE id = ?").run(d);
    const run = ctx.ledger.open(DATE, NOW);
    const session = openLedgerSession(ctx.ledger, run.id);
    session.claim(NOW, 10);
    const soon = later(60_000).toISOString();
    session.record(
      [a, b, c, d].map((id) => ({
        subscriberId: id,
        kind: 'deferred' as const,
        reply: '451 later',
        nextAttemptAt: soon,
      })),
      NOW,
    );
    const held = ['blocked.example'];
    expect(ctx.ledger.pendingCount(run.id)).toBe(4);
    expect(ctx.ledger.pendingCount(run.id, held)).toBe(2);
    expect(ctx.ledger.nextDue(run.id, held)).toBe(soon);
    const claimed = session.claim(later(60_000), 10, held);
    expect(claimed.map((x) => x.subscriberId)).toEqual([a, c]);
    // Only the claimed ones moved to 'sending': the held ones wait, untouched, for the next attempt.
    const rows = deliveryRows(ctx.db);
    expect(rows.map((r) => [r.subscriberId, r.status, r.attempts])).toEqual([
      [a, 'sending', 2],
      [b, 'pending', 1],
      [c, 'sending', 2],
      [d, 'pending', 1],
    ]);
    expect(ctx.ledger.pendingCount(run.id, held)).toBe(0);
    expect(ctx.ledger.nextDue(run.id, held)).toBeNull();
    expect(session.claim(later(60_000), 10).map((x) => x.subscriberId)).toEqual([b, d]);
  });

  it('when a sender died between claiming and recording, then resume hands back exactly what it never wrote', () => {
    const [a, b, c, d, e, f] = seedSubscribers(ctx.db, 6) as [number, number, number, number, number, number];
    const run = ctx.ledger.open(DATE, NOW);
    const dead = openLedgerSession(ctx.ledger, run.id);
    dead.claim(NOW, 6);
    const sent = (id: number) => ({ subscriberId: id, kind: 'sent' as const, reply: '250', messageId: `m${id}` });
    dead.record(
      [sent(b), sent(d), { subscriberId: a, kind: 'deferred', reply: '421 busy', nextAttemptAt: NOW.toISOString() }],
      NOW,
    );
    // a is retried (its row goes to 'sending'); then the process dies with c, e, f and a unwritten.
    expect(dead.claim(NOW, 6).map((x) => x.subscriberId)).toEqual([a]);
    expect(ctx.ledger.byId(run.id)).toMatchObject({ settledThrough: b, enqueuedThrough: f, enqueueDone: true });

    expect(ctx.ledger.resume(run.id, NOW)).toBe(4);
    expect(ctx.ledger.byId(run.id)).toMatchObject({ enqueuedThrough: b, enqueueDone: false });
    const next = openLedgerSession(ctx.ledger, run.id);
    // a's second attempt may have gone out before the crash: it counts.
    expect(next.claim(NOW, 10).map((x) => [x.subscriberId, x.attempts])).toEqual([
      [a, 3],
      [c, 1],
      [e, 1],
      [f, 1],
    ]);
    next.record([a, c, e, f].map(sent), NOW);
    expect(deliveryRows(ctx.db).map((r) => [r.subscriberId, r.status])).toEqual(
      [a, b, c, d, e, f].map((id) => [id, 'sent']),
    );
    expect(ctx.ledger.byId(run.id)).toMatchObject({ sent: 6, settledThrough: f });
    // Nothing left to hand back.
    expect(ctx.ledger.resume(run.id, NOW)).toBe(0);
  });

  it('when a run was cut off before the upgrade that writes rows once, then it resumes with nobody skipped or sent twice', () => {
    // A database as the previous release left it: rows written at claim time, two still 'sending'.
    const dir = mkdtempSync(join(tmpdir(), 'paperboy-upgrade-'));
    try {
      const before = join(dir, 'migrations');
      mkdirSync(before);
      for (const f of readdirSync(migrationsDir).filter((f) => f < '009'))
        copyFileSync(join(migrationsDir, f), join(before, f));
      const db = openDatabase(join(dir, 'db.sqlite'));
      migrate(db, before);
      const [a, b, c, d] = seedSubscribers(db, 4) as [number, number, number, number];
      db.prepare(
        `INSERT INTO send_runs (id, digest_date, status, started_at, updated_at, enqueued_through) VALUES (1, ?, 'running', ?, ?, ?)`,
      ).run(DATE, NOW.toISOString(), NOW.toISOString(), c);
      const row = db.prepare(
        `INSERT INTO send_deliveries (run_id, subscriber_id, status, attempts) VALUES (1, ?, ?, ?)`,
      );
      row.run(a, 'sent', 1);
      row.run(b, 'sending', 1);
      row.run(c, 'sending', 1);

      expect(migrate(db)).toContain('009_deliveries_written_once.sql');
      const ledger = createLedgerStore(db);
      expect(ledger.byId(1)).toMatchObject({ enqueuedThrough: c, settledThrough: c });
      expect(ledger.resume(1, NOW)).toBe(2);
      const session = openLedgerSession(ledger, 1);
      expect(session.claim(NOW, 10).map((x) => x.subscriberId)).toEqual([b, c, d]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when a claimed subscriber leaves (unsubscribe, erasure), then their status right before sending says so', () => {
    const [a, b, c] = seedSubscribers(ctx.db, 3) as [number, number, number];
    const [pending] = seedSubscribers(ctx.db, 1, { status: 'pending', prefix: 'new' }) as [number];
    const departures = () => ctx.db.prepare('SELECT n FROM subscriber_departures').pluck().get();
    const session = openLedgerSession(ctx.ledger, ctx.ledger.open(DATE, NOW).id);
    session.claim(NOW, 10);
    expect([a, b, c].map((id) => session.statusNow(id))).toEqual(['confirmed', 'confirmed', 'confirmed']);

    // Changes that leave nobody unconfirmed do not move the counter.
    ctx.db.prepare("UPDATE subscribers SET digest_size = 5, keywords = 'agents' WHERE id = ?").run(b);
    ctx.db.prepare("UPDATE subscribers SET status = 'confirmed' WHERE id = ?").run(pending);
    expect(departures()).toBe(0);

    ctx.subscribers.unsubscribe(a, NOW.toISOString());
    ctx.db.prepare('DELETE FROM subscribers WHERE id = ?').run(c);
    expect(departures()).toBe(2);
    expect([a, b, c].map((id) => session.statusNow(id))).toEqual(['unsubscribed', 'confirmed', undefined]);
  });

  it('when one reading serves several checks, then a departure is seen by the check after them at the latest', () => {
    const [a, b] = seedSubscribers(ctx.db, 2) as [number, number];
    const session = openLedgerSession(ctx.ledger, ctx.ledger.open(DATE, NOW).id, { checksPerReading: 3 });
    session.claim(NOW, 10);
    ctx.subscribers.unsubscribe(a, NOW.toISOString());
    // The claim's reading serves up to three checks (or DEPARTURES_FRESH_MS); the fourth reads again.
    for (let i = 0; i < 3; i++) expect(session.statusNow(b)).toBe('confirmed');
    expect(session.statusNow(a)).toBe('unsubscribed');
  });

  it('when the ledger records outcomes, then it takes a fresh reading of departures with them', () => {
    const [a, b] = seedSubscribers(ctx.db, 2) as [number, number];
    // Readings serve many checks here: only the record's own reading can show the departure.
    const session = openLedgerSession(ctx.ledger, ctx.ledger.open(DATE, NOW).id, { checksPerReading: 100 });
    session.claim(NOW, 10);
    ctx.subscribers.unsubscribe(b, NOW.toISOString());
    session.record([{ subscriberId: a, kind: 'sent', reply: '250', messageId: 'm' }], NOW);
    expect(session.statusNow(b)).toBe('unsubscribed');
  });

  it('when subscribers were confirmed at the cut-off or later, then the run leaves them out', () => {
    seedSubscribers(ctx.db, 1, { confirmedAt: NOW.toISOString(), prefix: 'edge' });
    seedSubscribers(ctx.db, 1, { confirmedAt: CONFIRMED_AT });
    const run = ctx.ledger.open(DATE, NOW);
    expect(
      openLedgerSession(ctx.ledger, run.id)
        .claim(NOW, 10)
        .map((d) => d.email),
    ).toEqual(['reader2@example.com']);
  });
});
