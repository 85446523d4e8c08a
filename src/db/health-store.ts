import type { Db } from './connection.ts';

/** The statements of the health check: a read of the schema, and a one-row write. */
export function createHealthStore(db: Db) {
  const migrations = db.prepare('SELECT count(*) FROM schema_migrations').pluck();
  const touch = db.prepare(
    'INSERT INTO health (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at',
  );
  return {
    migrations: () => migrations.get() as number,
    touch(at: Date) {
      touch.run(at.toISOString());
    },
  };
}

export type HealthStore = ReturnType<typeof createHealthStore>;
