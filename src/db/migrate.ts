import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './connection.ts';

export const migrationsDir = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Applies migrations/NNN_name.sql in order, each once, each in its own transaction. Forward only. */
export function migrate(db: Db, dir = migrationsDir): string[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    name TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  )`);
  const applied = new Set(db.prepare('SELECT name FROM schema_migrations').pluck().all() as string[]);
  const files = readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort();
  const record = db.prepare('INSERT INTO schema_migrations (name) VALUES (?)');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE name = ?').pluck();
  const done: string[] = [];
  for (const file of files) {
    if (applied.has(file)) continue;
    const sql = readFileSync(join(dir, file), 'utf8');
    let ran: boolean;
    try {
      // Checked again under the write lock: another process starting on the same database (the
      // service and an operator's command after an upgrade) may have applied it since we looked.
      ran = db
        .transaction(() => {
          if (isApplied.get(file)) return false;
          db.exec(sql);
          record.run(file);
          return true;
        })
        .immediate();
    } catch (err) {
      throw new Error(`migration ${file} failed, nothing of it was applied: ${(err as Error).message}`, { cause: err });
    }
    if (ran) done.push(file);
  }
  return done;
}
