import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/db/connection.ts';
import { migrate, migrationsDir } from '../../src/db/migrate.ts';
import { runScript } from '../support/cli.ts';

const tables = (db: ReturnType<typeof openDatabase>) =>
  db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all();

describe('migrate', () => {
  it('when run twice on the project migrations, then each applies once, in order, with WAL and foreign keys on', () => {
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'paperboy-mig-')), 'db.sqlite'));
    const first = migrate(db);
    expect(first[0]).toBe('001_subscribers.sql');
    expect(first).toEqual([...first].sort());
    expect(migrate(db)).toEqual([]);
    expect(db.prepare('SELECT name FROM schema_migrations ORDER BY name').pluck().all()).toEqual(first);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(migrationsDir).toMatch(/migrations$/);
  });

  it('when a migration fails, then it leaves nothing behind, the ones before it stay, and the error names it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'paperboy-mig-'));
    writeFileSync(join(dir, '001_first.sql'), 'CREATE TABLE a (x INTEGER);');
    writeFileSync(join(dir, '002_broken.sql'), 'CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);');
    const db = openDatabase(join(dir, 'db.sqlite'));
    expect(() => migrate(db, dir)).toThrow(
      /^migration 002_broken\.sql failed, nothing of it was applied: no such table: nowhere$/,
    );
    expect(tables(db)).toEqual(['a', 'schema_migrations']);
    expect(db.prepare('SELECT name FROM schema_migrations').pluck().all()).toEqual(['001_first.sql']);
  });

  it(
    'when several processes start on a database with migrations pending, then each migration applies once and every process starts',
    { timeout: 60_000 },
    async () => {
      // The service and an operator's command after an upgrade: each reads what is applied, then
      // applies the rest; one that looked before another's commit must not apply it a second time.
      const DATABASE_PATH = join(mkdtempSync(join(tmpdir(), 'paperboy-mig-')), 'db.sqlite');
      const runs = await Promise.all(Array.from({ length: 4 }, () => runScript('migrate', [], { DATABASE_PATH })));
      expect(runs.map((r) => [r.code, r.stderr])).toEqual(Array(4).fill([0, '']));
      const db = openDatabase(DATABASE_PATH);
      const applied = db.prepare('SELECT name FROM schema_migrations ORDER BY name').pluck().all();
      expect(applied).toEqual(migrate(openDatabase(join(mkdtempSync(join(tmpdir(), 'paperboy-mig-')), 'db.sqlite'))));
      expect(runs.flatMap((r) => /^applied: (.*)$/m.exec(r.stdout)?.[1]?.split(', ') ?? []).sort()).toEqual(applied);
      db.close();
    },
  );
});

describe('migration 014 (cadence)', () => {
  it('when the ledger is rebuilt for (date, cadence) runs, then every run, delivery and frozen digest is kept, ids and cascades too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'paperboy-mig-'));
    const before = join(dir, 'migrations');
    mkdirSync(before);
    for (const f of readdirSync(migrationsDir).filter((f) => f < '014'))
      copyFileSync(join(migrationsDir, f), join(before, f));
    const db = openDatabase(join(dir, 'db.sqlite'));
    migrate(db, before);
    const now = '2026-11-25T07:00:00.000Z';
    const sub = db.prepare(
      `INSERT INTO subscribers (email, status, confirmed_at, created_at, updated_at) VALUES (?, 'confirmed', ?, ?, ?) RETURNING id`,
    );
    const [a, b] = ['a@example.org', 'b@example.org'].map((e) => (sub.get(e, now, now, now) as { id: number }).id) as [
      number,
      number,
    ];
    db.prepare(
      `INSERT INTO send_runs (id, digest_date, status, started_at, updated_at, sent) VALUES (7, '2026-11-24', 'done', ?, ?, 2)`,
    ).run(now, now);
    const delivery = db.prepare(
      `INSERT INTO send_deliveries (run_id, subscriber_id, status, attempts, message_id) VALUES (7, ?, 'sent', 1, ?)`,
    );
    delivery.run(a, 'digest.a');
    delivery.run(b, 'digest.b');
    db.prepare(`INSERT INTO digests (date, papers) VALUES ('2026-11-24', '[]')`).run();

    expect(migrate(db)).toContain('014_cadence.sql');
    expect(db.prepare('SELECT id, digest_date, cadence, status, sent FROM send_runs').all()).toEqual([
      { id: 7, digest_date: '2026-11-24', cadence: 'daily', status: 'done', sent: 2 },
    ]);
    expect(
      db.prepare('SELECT run_id, subscriber_id, message_id FROM send_deliveries ORDER BY subscriber_id').all(),
    ).toEqual([
      { run_id: 7, subscriber_id: a, message_id: 'digest.a' },
      { run_id: 7, subscriber_id: b, message_id: 'digest.b' },
    ]);
    expect(db.prepare('SELECT date, cadence FROM digests').all()).toEqual([{ date: '2026-11-24', cadence: 'daily' }]);
    expect(db.prepare('SELECT cadence FROM subscribers').pluck().all()).toEqual(['daily', 'daily']);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    // The deliveries still belong to the runs table by its own name: erasure and run deletion cascade.
    expect(db.prepare("SELECT sql FROM sqlite_master WHERE name = 'send_deliveries'").pluck().get()).toMatch(
      /REFERENCES "?send_runs"? \(id\)/,
    );
    // A weekly run of the same date is a run of its own; a second daily one is refused.
    db.prepare(
      `INSERT INTO send_runs (digest_date, cadence, status, started_at, updated_at) VALUES ('2026-11-24', 'weekly', 'running', ?, ?)`,
    ).run(now, now);
    expect(() =>
      db
        .prepare(
          `INSERT INTO send_runs (digest_date, status, started_at, updated_at) VALUES ('2026-11-24', 'running', ?, ?)`,
        )
        .run(now, now),
    ).toThrow(/UNIQUE/);
    expect(() => db.prepare(`UPDATE subscribers SET cadence = 'monthly'`).run()).toThrow(/CHECK/);
    db.prepare('DELETE FROM subscribers WHERE id = ?').run(a);
    db.prepare('DELETE FROM send_runs WHERE id = 7').run();
    expect(db.prepare('SELECT count(*) FROM send_deliveries').pluck().get()).toBe(0);
    db.close();
  });
});

describe('migration 022 (bounce kinds)', () => {
  it('when bounce_events is rebuilt for the sender and delayed kinds, then every event, its verified flag and the indexes are kept, and soft events about the sender or a delay take their kind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'paperboy-mig-'));
    const before = join(dir, 'migrations');
    mkdirSync(before);
    for (const f of readdirSync(migrationsDir).filter((f) => f < '022'))
      copyFileSync(join(migrationsDir, f), join(before, f));
    const db = openDatabase(join(dir, 'db.sqlite'));
    migrate(db, before);
    const now = '2026-11-25T07:00:00.000Z';
    const ada = (
      db
        .prepare(
          `INSERT INTO subscribers (email, status, confirmed_at, created_at, updated_at) VALUES ('ada@example.org', 'confirmed', ?, ?, ?) RETURNING id`,
        )
        .get(now, now, now) as { id: number }
    ).id;
    const event = db.prepare(
      `INSERT INTO bounce_events (id, subscriber_id, verified, kind, reason, status, source, digest_date, report_key, recipient_hash, created_at)
       VALUES (?, ?, ?, ?, ?, '5.0.0', 'imap:INBOX', '2026-11-24', ?, 'h', ?)`,
    );
    const rows: [number, number | null, number, string, string][] = [
      [3, ada, 1, 'hard', 'user-unknown'],
      [5, ada, 1, 'soft', 'mailbox-full'],
      [8, ada, 0, 'soft', 'spam'],
      [9, null, 1, 'soft', 'blocked'],
      [12, ada, 1, 'soft', 'delayed'],
      [13, ada, 1, 'complaint', 'feedback'],
    ];
    for (const [id, subscriber, verified, kind, reason] of rows)
      event.run(id, subscriber, verified, kind, reason, `report-${id}`, now);

    expect(migrate(db)[0]).toBe('022_bounce_kinds.sql');
    expect(
      db.prepare('SELECT id, subscriber_id, verified, kind, reason, domain FROM bounce_events ORDER BY id').all(),
    ).toEqual([
      { id: 3, subscriber_id: ada, verified: 1, kind: 'hard', reason: 'user-unknown', domain: null },
      { id: 5, subscriber_id: ada, verified: 1, kind: 'soft', reason: 'mailbox-full', domain: null },
      { id: 8, subscriber_id: ada, verified: 0, kind: 'sender', reason: 'spam', domain: null },
      { id: 9, subscriber_id: null, verified: 1, kind: 'sender', reason: 'blocked', domain: null },
      { id: 12, subscriber_id: ada, verified: 1, kind: 'delayed', reason: 'delayed', domain: null },
      { id: 13, subscriber_id: ada, verified: 1, kind: 'complaint', reason: 'feedback', domain: null },
    ]);
    expect(
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'bounce_events' ORDER BY name")
        .pluck()
        .all(),
    ).toEqual([
      'bounce_events_created',
      'bounce_events_digest',
      'bounce_events_kind_domain',
      'bounce_events_subscriber',
      'sqlite_autoindex_bounce_events_1',
    ]);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    // The same report and recipient once; the new kinds allowed, others refused.
    expect(() => event.run(99, ada, 1, 'soft', 'x', 'report-3', now)).toThrow(/UNIQUE/);
    expect(() => event.run(100, ada, 1, 'bounced', 'x', 'report-100', now)).toThrow(/CHECK/);
    event.run(101, ada, 1, 'sender', 'spam', 'report-101', now);
    // Erasing the subscriber still erases their events.
    db.prepare('DELETE FROM subscribers WHERE id = ?').run(ada);
    expect(db.prepare('SELECT id FROM bounce_events').pluck().all()).toEqual([9]);
    expect(db.prepare('SELECT bounces_counted_from FROM subscribers').all()).toEqual([]);
    db.close();
  });
});
