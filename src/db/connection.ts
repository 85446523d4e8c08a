import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode survives a crash of the process (kill -9); only power loss can drop the
  // last commits. FULL costs an fsync per commit, which makes inserts several times slower.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Deleted rows are overwritten with zeros instead of lingering in free pages: erasing an address
  // (subscribers remove) must leave no copy of it in the file.
  db.pragma('secure_delete = ON');
  db.pragma('busy_timeout = 5000');
  // SQLite's own default page cache, 2 MB (better-sqlite3 raises it to 16 MB). A send reads the list
  // and writes its ledger in id order, each page about once, so the bigger cache only held pages it
  // was done with (docs/architecture.md, what the hot paths cost).
  db.pragma('cache_size = -2000');
  return db;
}
