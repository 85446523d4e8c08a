import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/connection.ts';
import { createLedgerStore } from '../../src/digest/ledger-store.ts';
import { openLedgerSession } from '../../src/digest/ledger-session.ts';
import { createTestContext, type TestContext } from '../support/test-context.ts';
import { DATE, NOW, seedSubscribers } from '../support/digest-harness.ts';

let ctx: TestContext;
beforeEach(() => {
  ctx = createTestContext();
});
afterEach(() => ctx.close());

/** Readers in the groups given, one after another round-robin (ids interleave across groups). */
function seedGroups(db: Db, n: number, groups: readonly [string | null, number | null][]): Map<string, number[]> {
  const set = db.prepare('UPDATE subscribers SET timezone = ?, delivery_hour = ? WHERE id = ?');
  const byKey = new Map<string, number[]>();
  seedSubscribers(db, n).forEach((id, i) => {
    const [zone, hour] = groups[i % groups.length]!;
    set.run(zone, hour, id);
    const key = zone === null ? '' : `${zone}|${hour ?? ''}`;
    byKey.set(key, [...(byKey.get(key) ?? []), id]);
  });
  return byKey;
}

describe('ledger store: a slice of readers', () => {
  it('when a slice of interleaved groups is claimed in small batches, then its readers come once each in id order, nobody else', () => {
    const byKey = seedGroups(ctx.db, 40, [
      ['Europe/Berlin', 7],
      [null, null],
      ['Asia/Tokyo', null],
      ['Europe/Paris', 7],
      ['Europe/Berlin', 8],
    ]);
    const slice = ['Europe/Berlin|7', '', 'Asia/Tokyo|'];
    const expected = slice.flatMap((k) => byKey.get(k)!).sort((a, b) => a - b);
    const run = ctx.ledger.open(DATE, NOW, 'daily', slice);
    expect(ctx.ledger.remainingAudience(run.id)).toBe(expected.length);
    const session = openLedgerSession(ctx.ledger, run.id);
    const claimed: number[] = [];
    for (let batch = session.claim(NOW, 4); batch.length; batch = session.claim(NOW, 4)) {
      expect(batch.length).toBeLessThanOrEqual(4);
      claimed.push(...batch.map((d) => d.subscriberId));
      session.record(
        batch.map((d) => ({ subscriberId: d.subscriberId, kind: 'sent' as const, reply: '250', messageId: 'm' })),
        NOW,
      );
    }
    expect(claimed).toEqual(expected);
    expect(ctx.ledger.byId(run.id)).toMatchObject({ sent: expected.length, enqueueDone: true });
    expect(ctx.ledger.remainingAudience(run.id)).toBe(0);
  });

  it('when a sender died in a slice, then resume hands back exactly its readers it never wrote', () => {
    const byKey = seedGroups(ctx.db, 12, [
      ['Europe/Berlin', 7],
      ['Europe/Paris', 7],
      ['Asia/Tokyo', 9],
    ]);
    const run = ctx.ledger.open(DATE, NOW, 'daily', ['Europe/Berlin|7', 'Europe/Paris|7']);
    const dead = openLedgerSession(ctx.ledger, run.id);
    const batch = dead.claim(NOW, 5);
    dead.record([{ subscriberId: batch[1]!.subscriberId, kind: 'sent', reply: '250', messageId: 'm' }], NOW);

    expect(ctx.ledger.resume(run.id, NOW)).toBe(4);
    const next = openLedgerSession(ctx.ledger, run.id);
    const rest = [...byKey.get('Europe/Berlin|7')!, ...byKey.get('Europe/Paris|7')!]
      .filter((id) => id !== batch[1]!.subscriberId)
      .sort((a, b) => a - b);
    expect(next.claim(NOW, 20).map((d) => d.subscriberId)).toEqual(rest);
  });

  it("when a slice's readers are claimed or counted, then the plan walks its groups, not the whole list", () => {
    // Every statement the ledger prepares, as SQLite plans it on this database.
    const sources: string[] = [];
    const recording = new Proxy(ctx.db, {
      get(target, key) {
        if (key === 'prepare')
          return (sql: string) => {
            sources.push(sql);
            return target.prepare(sql);
          };
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    createLedgerStore(recording);
    const ofSlices = sources.filter((sql) => sql.includes('json_each(@groups)') && /\bsubscribers s\b/.test(sql));
    expect(ofSlices.length).toBeGreaterThanOrEqual(3);
    for (const sql of ofSlices) {
      const params = Object.fromEntries([...sql.matchAll(/@(\w+)/g)].map(([, name]) => [name, 1]));
      const plan = (
        ctx.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ ...params, groups: '["Europe/Berlin|7"]' }) as {
          detail: string;
        }[]
      ).map((r) => r.detail);
      const walks = plan.filter((d) => /^(SCAN|SEARCH) [st]\b/.test(d));
      expect(walks.length, sql).toBeGreaterThan(0);
      for (const walk of walks) expect(walk, sql).toMatch(/subscribers_groups|INTEGER PRIMARY KEY/);
    }
  });
});
