import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.ts';
import type { HealthStore } from '../../db/health-store.ts';

/** How long a successful write answers for: probes (Docker's every 30 s, or anyone's) cost no more than this. */
const HEALTH_WRITE_INTERVAL_MS = 10_000;

export type Health = { ok: true; migrations: number } | { ok: false; reason: string; err: unknown };

/**
 * The database answers a read on every call and takes a write at most once per interval: a full
 * or read-only disk fails every sign-up while reads still work. A failed write is retried at the
 * next interval, so the answer follows the disk within that time.
 */
export function healthCheck(deps: { store: HealthStore; clock: Clock; intervalMs?: number }): () => Health {
  const interval = deps.intervalMs ?? HEALTH_WRITE_INTERVAL_MS;
  let lastWrite: { at: number; error?: { reason: string; err: unknown } } | undefined;
  return () => {
    const now = deps.clock.now();
    let migrations: number;
    try {
      migrations = deps.store.migrations();
    } catch (err) {
      return { ok: false, reason: `database unreachable: ${codeOf(err)}`, err };
    }
    if (!lastWrite || now.getTime() - lastWrite.at >= interval) {
      try {
        deps.store.touch(now);
        lastWrite = { at: now.getTime() };
      } catch (err) {
        lastWrite = { at: now.getTime(), error: { reason: `database not writable: ${codeOf(err)}`, err } };
      }
    }
    return lastWrite.error ? { ok: false, ...lastWrite.error } : { ok: true, migrations };
  };
}

const codeOf = (err: unknown) => (err as { code?: string }).code ?? (err as Error).message;

export const healthRoutes =
  (check: () => Health): FastifyPluginAsync =>
  async (app) => {
    app.get('/healthz', async (req, reply) => {
      const health = check();
      if (health.ok) return reply.send({ status: 'ok', migrations: health.migrations });
      req.log.error({ err: health.err }, `health check: ${health.reason}`);
      return reply.code(503).send({ status: 'unavailable', reason: health.reason });
    });
  };
