import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/db/connection.ts';
import { createGroupCommit } from '../../src/db/group-commit.ts';

let dir: string;
let db: Db;
let other: Db;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paperboy-gc-'));
  db = openDatabase(join(dir, 'db.sqlite'));
  db.exec('CREATE TABLE t (v TEXT NOT NULL UNIQUE)');
  // A second connection sees only what is committed.
  other = openDatabase(join(dir, 'db.sqlite'));
});
afterEach(() => {
  other.close();
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const insert = (v: string) => () => db.prepare('INSERT INTO t (v) VALUES (?)').run(v).changes;
const committed = () => other.prepare('SELECT v FROM t ORDER BY v').pluck().all();

describe('group commit', () => {
  it('when several writes arrive in one turn, then each settles with its own result once all are committed', async () => {
    const writes = createGroupCommit(db);
    const pending = [writes.run(insert('a')), writes.run(insert('b')), writes.run(() => 'no write')];
    expect(committed()).toEqual([]);
    expect(await Promise.all(pending)).toEqual([1, 1, 'no write']);
    expect(committed()).toEqual(['a', 'b']);
  });

  it('when one of them throws, then only its writes are undone and only its promise rejects', async () => {
    const writes = createGroupCommit(db);
    const results = await Promise.allSettled([
      writes.run(insert('a')),
      writes.run(() => {
        insert('b')();
        insert('a')(); // UNIQUE: fails after b was written
      }),
      writes.run(insert('c')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(((results[1] as PromiseRejectedResult).reason as Error).message).toMatch(/UNIQUE/);
    expect(committed()).toEqual(['a', 'c']);
  });

  it('when the commit itself fails, then every write of the batch rejects and nothing is written', async () => {
    const writes = createGroupCommit(db);
    const pending = [writes.run(insert('a')), writes.run(insert('b'))];
    db.close();
    const results = await Promise.allSettled(pending);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(committed()).toEqual([]);
  });

  it('when writes come in separate turns, then each gets its own commit', async () => {
    const writes = createGroupCommit(db);
    await writes.run(insert('a'));
    expect(committed()).toEqual(['a']);
    await writes.run(insert('b'));
    expect(committed()).toEqual(['a', 'b']);
  });
});
