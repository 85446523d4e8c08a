import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/db/connection.ts';
import { migrate, migrationsDir } from '../../src/db/migrate.ts';
import { runScript } from '../support/cli.ts';

const tables = (db: ReturnType<typeof openDatabase>) =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();

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
    expect(() => migrate(db, dir)).toThrow(/^migration 002_broken\.sql failed, nothing of it was applied: no such table: nowhere$/);
    expect(tables(db)).toEqual(['a', 'schema_migrations']);
    expect(db.prepare('SELECT name FROM schema_migrations').pluck().all()).toEqual(['001_first.sql']);
  });

  it('when several processes start on a database with migrations pending, then each migration applies once and every process starts', { timeout: 60_000 }, async () => {
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
  });
});
