import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/db/connection.ts';
import { migrate, migrationsDir } from '../../src/db/migrate.ts';
import { createMetricsStore } from '../../src/db/metrics-store.ts';
import { createSubscriberAdminStore } from '../../src/db/subscriber-admin-store.ts';

let dir: string;
let db: Db;
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const events = () =>
  Object.fromEntries(
    createMetricsStore(db)
      .subscriberEvents()
      .map((e) => [e.event, e.n]),
  );
const NOW = '2026-11-25T08:00:00.000Z';

describe('subscriber event counts (migration 015)', () => {
  it('when the list changes through any path, then the matching counter moves, once per change', () => {
    dir = mkdtempSync(join(tmpdir(), 'paperboy-metrics-'));
    db = openDatabase(join(dir, 'db.sqlite'));
    migrate(db);
    createSubscriberAdminStore(db).importConfirmed(
      [{ line: 2, email: 'imp@example.org', digestSize: 10, keywords: '' }],
      new Date(NOW),
    );
    db.prepare(
      `INSERT INTO subscribers (email, status, confirm_token_hash, created_at, updated_at) VALUES ('web@example.org', 'pending', 'h', ?, ?)`,
    ).run(NOW, NOW);
    const setStatus = db.prepare('UPDATE subscribers SET status = ? WHERE email = ?');
    setStatus.run('pending', 'web@example.org'); // a second confirmation email: no event
    setStatus.run('confirmed', 'web@example.org');
    setStatus.run('suppressed', 'imp@example.org');
    setStatus.run('unsubscribed', 'web@example.org');
    setStatus.run('pending', 'web@example.org'); // back again
    expect(events()).toEqual({ signup: 2, confirmation: 1, unsubscribe: 1, suppression: 1, import: 1 });
    // Erasing a subscriber leaves the totals alone: they count what happened.
    db.prepare('DELETE FROM subscribers').run();
    expect(events()).toEqual({ signup: 2, confirmation: 1, unsubscribe: 1, suppression: 1, import: 1 });
  });

  it('when the migration runs on an existing list, then the counters start from what its rows show', () => {
    dir = mkdtempSync(join(tmpdir(), 'paperboy-metrics-'));
    const before = join(dir, 'before');
    copyMigrationsBefore('015', before);
    db = openDatabase(join(dir, 'db.sqlite'));
    migrate(db, before);
    const add = db.prepare(
      `INSERT INTO subscribers (email, status, confirm_token_hash, confirmed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    add.run('a@example.org', 'confirmed', 'h1', NOW, NOW, NOW);
    add.run('b@example.org', 'pending', 'h2', null, NOW, NOW);
    add.run('c@example.org', 'unsubscribed', 'h3', NOW, NOW, NOW);
    add.run('d@example.org', 'confirmed', null, NOW, NOW, NOW);
    add.run('e@example.org', 'suppressed', null, NOW, NOW, NOW);
    expect(migrate(db)).toContain('015_subscriber_event_counts.sql');
    expect(events()).toEqual({ signup: 3, confirmation: 2, unsubscribe: 1, suppression: 1, import: 2 });
  });
});

function copyMigrationsBefore(prefix: string, to: string): void {
  mkdirSync(to);
  for (const f of readdirSync(migrationsDir).filter((f) => f < prefix)) {
    copyFileSync(join(migrationsDir, f), join(to, f));
  }
}
