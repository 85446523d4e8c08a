import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { openDatabase, type Db } from '../src/db/connection.ts';
import { migrate } from '../src/db/migrate.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import type { Handlers } from './ipc.ts';
import { BENCH_PUBLIC_URL, BENCH_SECRET } from './fixtures.ts';
import { cpuSince, rssMb, vmHwmMb } from './memory.ts';

/**
 * The HTTP side of the subscribe bench, one server per process: either the product's app
 * (buildApp with its real routes) or the baseline, a bare Fastify route doing one prepared
 * INSERT OR IGNORE on a database opened the product's way (same pragmas). `abuse` is the product
 * as deployed behind a proxy on the loopback (TRUST_PROXY), its per-IP limit at the default, so
 * each request's X-Forwarded-For is the client address the limiter counts.
 */

export type ServerMode = 'bare' | 'product' | 'abuse';

async function bareApp(db: Db): Promise<FastifyInstance> {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO subscribers (email, status, created_at, updated_at) VALUES (?, 'pending', ?, ?)`,
  );
  const app = Fastify({ logger: false });
  app.post<{ Body: { email?: unknown } }>('/subscribe', async (req, reply) => {
    const email = typeof req.body?.email === 'string' ? req.body.email : '';
    if (!email) return reply.code(400).send({ error: 'invalid_input' });
    const now = new Date().toISOString();
    insert.run(email, now, now);
    return reply.code(202).send({ status: 'pending' });
  });
  return app;
}

/** The service as main.ts starts it: its heap setting, context, templates and app. */
async function productApp(dir: string, run: number, abuse: boolean): Promise<{ app: FastifyInstance; close(): void }> {
  const { limitHeapGrowth } = await import('../src/heap.ts');
  limitHeapGrowth();
  const { createContext, templateSettings } = await import('../src/context.ts');
  const { loadTemplates } = await import('../src/mail/templates.ts');
  const { buildApp } = await import('../src/app.ts');
  const config = loadConfig({
    DATABASE_PATH: join(dir, `subscribe-${abuse ? 'abuse' : 'product'}-${run}.sqlite`),
    OUTBOX_DIR: join(dir, 'outbox'),
    PUBLIC_URL: BENCH_PUBLIC_URL,
    SECRET: BENCH_SECRET,
    // Without a proxy every request comes from 127.0.0.1: the per-IP limit off. Under abuse, the
    // limit's default and the loopback as the trusted proxy.
    ...(abuse ? { TRUST_PROXY: '127.0.0.1' } : { SUBSCRIBE_RATE_PER_IP: '0' }),
    LOG_LEVEL: 'silent',
  });
  const ctx = createContext(config, createLogger('silent'));
  const templates = await loadTemplates(templateSettings(config));
  // No mail queue worker is started: confirmations are queued (the request's job), never sent.
  const app = await buildApp(ctx, { templates });
  return { app, close: () => ctx.close() };
}

export function subscribeServerHandlers(): Handlers {
  let app: FastifyInstance | null = null;
  let closeDb: () => void = () => {};
  let cpuStart = process.cpuUsage();
  return {
    async start(p: { mode: ServerMode; dir: string; run: number }): Promise<{ port: number }> {
      if (p.mode === 'bare') {
        const db = openDatabase(join(p.dir, `subscribe-bare-${p.run}.sqlite`));
        migrate(db);
        app = await bareApp(db);
        closeDb = () => db.close();
      } else {
        const built = await productApp(p.dir, p.run, p.mode === 'abuse');
        app = built.app;
        closeDb = built.close;
      }
      await app.listen({ host: '127.0.0.1', port: 0 });
      return { port: (app.server.address() as AddressInfo).port };
    },
    resetUsage() {
      cpuStart = process.cpuUsage();
    },
    usage(): { cpuMs: number; rssMb: number; vmHwmMb: number | null; rows: number } {
      return { cpuMs: cpuSince(cpuStart), rssMb: rssMb(), vmHwmMb: vmHwmMb(), rows: 0 };
    },
    async stop() {
      await app?.close();
      closeDb();
      app = null;
    },
  };
}
