import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/db/connection.ts';
import { migrate, migrationsDir } from '../../src/db/migrate.ts';

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
});
