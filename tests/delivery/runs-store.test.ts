import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../support/test-context.ts';
import { CONFIRMED_AT, DATE, deliveryRows, NOW, seedSubscribers } from './harness.ts';

let ctx: TestContext;
beforeEach(() => {
  ctx = createTestContext();
});
afterEach(() => ctx.close());

const later = (ms: number) => new Date(NOW.getTime() + ms);

describe('runs store: the lease', () => {
  it('when one sender holds the lease, then another cannot take it until it lapses', () => {
    const run = ctx.runs.open(DATE, NOW);
    expect(ctx.runs.takeLease(run.id, 'a', NOW, 30_000)).toBe(true);
    expect(ctx.runs.takeLease(run.id, 'b', later(29_999), 30_000)).toBe(false);
    expect(ctx.runs.takeLease(run.id, 'b', later(30_000), 30_000)).toBe(true);
    // The old holder finds out when it tries to renew.
    expect(ctx.runs.renewLease(run.id, 'a', later(30_001), 30_000)).toBe(false);
    expect(ctx.runs.byId(run.id).leaseOwner).toBe('b');
  });

  it('when the holder releases it, then the next sender takes it at once', () => {
    const run = ctx.runs.open(DATE, NOW);
    ctx.runs.takeLease(run.id, 'a', NOW, 30_000);
    ctx.runs.releaseLease(run.id, 'a', NOW);
    expect(ctx.runs.takeLease(run.id, 'b', NOW, 30_000)).toBe(true);
  });

  it('when the run is opened twice, then it is one row and keeps its first cut-off', () => {
    const a = ctx.runs.open(DATE, NOW);
    const b = ctx.runs.open(DATE, later(3600_000));
    expect(b.id).toBe(a.id);
    expect(b.startedAt).toBe(NOW.toISOString());
  });
});

describe('runs store: claiming and recording', () => {
  it('when claiming, then subscribers come in id order, a batch at a time, only those confirmed before the cut-off', () => {
    const early = seedSubscribers(ctx.db, 7);
    seedSubscribers(ctx.db, 2, { confirmedAt: later(1000).toISOString(), prefix: 'late' });
    seedSubscribers(ctx.db, 2, { status: 'unsubscribed', prefix: 'gone' });
    const run = ctx.runs.open(DATE, NOW);

    const first = ctx.runs.claim(run.id, NOW, 3);
    expect(first.map((d) => d.subscriberId)).toEqual(early.slice(0, 3));
    expect(first[0]).toMatchObject({ email: `reader${early[0]}@example.com`, digestSize: 10, keywords: '', attempts: 1 });
    const second = ctx.runs.claim(run.id, NOW, 3);
    expect(second.map((d) => d.subscriberId)).toEqual(early.slice(3, 6));
    const third = ctx.runs.claim(run.id, NOW, 3);
    expect(third.map((d) => d.subscriberId)).toEqual(early.slice(6));
    expect(ctx.runs.claim(run.id, NOW, 3)).toEqual([]);
    expect(ctx.runs.byId(run.id).enqueueDone).toBe(true);
    expect(ctx.runs.deliveryCounts(run.id)).toMatchObject({ sending: 7, pending: 0 });
  });

  it('when outcomes are recorded, then rows, run counts and bounce counts change together', () => {
    const [a, b, c, d, e] = seedSubscribers(ctx.db, 5) as [number, number, number, number, number];
    const run = ctx.runs.open(DATE, NOW);
    ctx.runs.claim(run.id, NOW, 10);
    ctx.runs.record(
      run.id,
      [
        { subscriberId: a, kind: 'sent', reply: '250 ok', messageId: 'm1' },
        { subscriberId: b, kind: 'failed', reply: '550 5.1.1 unknown', hardBounce: true },
        { subscriberId: c, kind: 'skipped', reply: 'subscriber is unsubscribed' },
        { subscriberId: d, kind: 'deferred', reply: '451 later', nextAttemptAt: later(60_000).toISOString() },
        { subscriberId: e, kind: 'released' },
      ],
      NOW,
    );
    expect(ctx.runs.byId(run.id)).toMatchObject({ sent: 1, failed: 1, skipped: 1 });
    const rows = deliveryRows(ctx.db);
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([
      ['sent', 1],
      ['failed', 1],
      ['skipped', 1],
      ['pending', 1],
      ['pending', 0],
    ]);
    expect(ctx.db.prepare('SELECT hard_bounces FROM subscribers WHERE id = ?').pluck().get(b)).toBe(1);
    // The deferred one is not due yet; the released one is.
    expect(ctx.runs.claim(run.id, NOW, 10).map((x) => x.subscriberId)).toEqual([e]);
    expect(ctx.runs.claim(run.id, later(60_000), 10).map((x) => x.subscriberId)).toEqual([d]);
  });

  it('when an address hard-bounces in three runs in a row, then it is suppressed; a delivery in between resets the count', () => {
    const [id] = seedSubscribers(ctx.db, 1) as [number];
    const bounce = (date: string) => {
      const run = ctx.runs.open(date, NOW);
      ctx.runs.claim(run.id, NOW, 1);
      ctx.runs.record(run.id, [{ subscriberId: id, kind: 'failed', reply: '550', hardBounce: true }], NOW);
    };
    const status = () => ctx.db.prepare('SELECT status, hard_bounces AS n FROM subscribers WHERE id = ?').get(id);
    bounce('2026-11-20');
    bounce('2026-11-21');
    const run = ctx.runs.open('2026-11-22', NOW);
    ctx.runs.claim(run.id, NOW, 1);
    ctx.runs.record(run.id, [{ subscriberId: id, kind: 'sent', reply: '250', messageId: 'x' }], NOW);
    expect(status()).toEqual({ status: 'confirmed', n: 0 });
    bounce('2026-11-23');
    bounce('2026-11-24');
    expect(status()).toEqual({ status: 'confirmed', n: 2 });
    bounce('2026-11-25');
    expect(status()).toEqual({ status: 'suppressed', n: 3 });
  });

  it('when a sender died with rows in flight, then resetting puts them back to pending', () => {
    seedSubscribers(ctx.db, 4);
    const run = ctx.runs.open(DATE, NOW);
    ctx.runs.claim(run.id, NOW, 4);
    expect(ctx.runs.resetSending(run.id, NOW)).toBe(4);
    expect(ctx.runs.deliveryCounts(run.id)).toMatchObject({ pending: 4, sending: 0 });
  });

  it('when subscribers were confirmed at the cut-off or later, then the run leaves them out', () => {
    seedSubscribers(ctx.db, 1, { confirmedAt: NOW.toISOString(), prefix: 'edge' });
    seedSubscribers(ctx.db, 1, { confirmedAt: CONFIRMED_AT });
    const run = ctx.runs.open(DATE, NOW);
    expect(ctx.runs.claim(run.id, NOW, 10).map((d) => d.email)).toEqual(['reader2@example.com']);
  });
});
