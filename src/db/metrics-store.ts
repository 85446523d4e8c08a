import type { Db } from './connection.ts';

interface RunCounts {
  digestDate: string;
  cadence: string;
  status: string;
  sent: number;
  failed: number;
  skipped: number;
  /** Left to send: open deliveries (retries) plus confirmed subscribers above the settled mark. 0 once finished. */
  pending: number;
}

interface LastRun {
  digestDate: string;
  cadence: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  updatedAt: string;
}

export type MetricsStore = ReturnType<typeof createMetricsStore>;

/**
 * The read-only statements GET /metrics runs at each scrape, prepared once. Each is served by an
 * index or a small table, so a scrape stays cheap on a long list, even during a send.
 */
export function createMetricsStore(db: Db) {
  const statements = {
    subscribers: db.prepare('SELECT status, count(*) AS n FROM subscribers GROUP BY status'),
    events: db.prepare('SELECT event, n FROM subscriber_event_counts'),
    capped: db.prepare('SELECT scope, n FROM confirmations_capped'),
    // Finished runs have nothing pending; counting the rest of the list is only worth it for open ones.
    // An open slice (DELIVERY_MODE=local) counts its own reader groups only (ledger-store.ts GROUP_KEY).
    recentRuns: db.prepare(
      `SELECT r.digest_date AS digestDate, r.cadence, r.status, r.sent, r.failed, r.skipped,
         CASE WHEN r.status IN ('done', 'empty') THEN 0 ELSE
           (SELECT count(*) FROM send_deliveries d WHERE d.run_id = r.id AND d.status IN ('pending', 'sending'))
           + (SELECT count(*) FROM subscribers s WHERE s.status = 'confirmed' AND s.cadence = r.cadence AND s.id > r.settled_through
                AND (r.slice_groups IS NULL OR (CASE WHEN s.timezone IS NULL THEN '' ELSE s.timezone || '|' || coalesce(s.delivery_hour, '') END)
                  IN (SELECT value FROM json_each(r.slice_groups))))
         END AS pending
       FROM send_runs r ORDER BY r.digest_date DESC LIMIT ?`,
    ),
    // The run worked on last, which is not always the latest date (a resumed or back-filled day).
    lastRun: db.prepare(
      `SELECT digest_date AS digestDate, cadence, status, started_at AS startedAt, finished_at AS finishedAt, updated_at AS updatedAt
       FROM send_runs ORDER BY updated_at DESC, id DESC LIMIT 1`,
    ),
    // The reader groups of a cadence (zone, hour as stored): when the next slice goes and its size.
    mailQueue: db.prepare(
      `SELECT status, count(*) AS n FROM mail_queue WHERE status IN ('queued', 'failed') GROUP BY status`,
    ),
    oldestQueued: db.prepare(`SELECT min(created_at) FROM mail_queue WHERE status = 'queued'`).pluck(),
    bounces: db.prepare('SELECT kind, count(*) AS n FROM bounce_events GROUP BY kind'),
    senderRefusals: db.prepare(
      `SELECT coalesce(domain, '') AS domain, count(*) AS n FROM bounce_events WHERE kind = 'sender' GROUP BY domain`,
    ),
    channels: db.prepare(
      `SELECT CASE enabled WHEN 1 THEN 'enabled' ELSE 'disabled' END AS state, count(*) AS n FROM channels GROUP BY enabled`,
    ),
  };
  return {
    subscribersByStatus: () => statements.subscribers.all() as { status: string; n: number }[],
    subscriberEvents: () => statements.events.all() as { event: string; n: number }[],
    confirmationsCapped: () => statements.capped.all() as { scope: string; n: number }[],
    recentRuns: (limit: number) => statements.recentRuns.all(limit) as RunCounts[],
    lastRun: () => statements.lastRun.get() as LastRun | undefined,
    mailQueueByStatus: () => statements.mailQueue.all() as { status: string; n: number }[],
    oldestQueuedAt: () => statements.oldestQueued.get() as string | null,
    bouncesByKind: () => statements.bounces.all() as { kind: string; n: number }[],
    /** Refusals about the sender per receiving domain ('' for events recorded before domains were kept). */
    senderRefusalsByDomain: () => statements.senderRefusals.all() as { domain: string; n: number }[],
    channelsByState: () => statements.channels.all() as { state: string; n: number }[],
  };
}
