import type { Db } from './connection.ts';

export type GroupCommit = ReturnType<typeof createGroupCommit>;

/**
 * Group commit for small write transactions from concurrent requests. A commit costs far more than
 * a sign-up's few row writes (WAL frames for every page touched, and now and then a checkpoint with
 * two fsyncs), so the transactions that arrive in the same turn of the event loop
 * share one: each runs in a savepoint of its own (its error undoes only its writes and rejects
 * only its promise), and all are committed at once before any promise resolves. Nothing is
 * acknowledged before it is durable.
 */
export function createGroupCommit(db: Db) {
  let batch: { work: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];

  const commit = () => {
    const items = batch;
    batch = [];
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      db.transaction(() => {
        for (const item of items) {
          try {
            // Nested: better-sqlite3 runs it in a savepoint, rolled back alone if it throws.
            outcomes.push({ ok: true, value: db.transaction(item.work)() });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      }).immediate();
    } catch (error) {
      // The commit itself failed: nothing of the batch was written.
      for (const item of items) item.reject(error);
      return;
    }
    items.forEach((item, i) => {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    });
  };

  return {
    /** Runs `work` in a transaction shared with the others of this turn; settles once committed. */
    run<T>(work: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        if (!batch.length) setImmediate(commit);
        batch.push({ work, resolve: resolve as (v: unknown) => void, reject });
      });
    },
  };
}
