import { loadConfig, ConfigError, type Config } from './config.ts';
import { createLogger } from './logger.ts';
import { createContext, mailQueueDeps, sendDigestDeps } from './context.ts';
import { loadTemplates } from './mail/templates.ts';
import { startMailQueueWorker } from './mail/mail-queue.ts';
import { buildApp } from './app.ts';
import { startScheduler } from './jobs/scheduler.ts';
import { sendDigest } from './digest/run.ts';
import { limitHeapGrowth } from './heap.ts';
import { identityWarnings } from './mail/identity.ts';
import { startBounceReceiver } from './bounces/receiver.ts';
import { handleReportDeps } from './bounces/handle-report.ts';
import { parseReport } from './bounces/parse-report.ts';

limitHeapGrowth();

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const logger = createLogger(config.LOG_LEVEL, 'stdout', { development: config.NODE_ENV !== 'production' });
const ctx = createContext(config, logger);
for (const warning of identityWarnings(config)) logger.warn(warning);
const templates = await loadTemplates({ publicUrl: config.PUBLIC_URL, postalAddress: config.MAIL_POSTAL_ADDRESS });
const mailWorker = startMailQueueWorker(mailQueueDeps(ctx, templates));
const app = await buildApp(ctx, { templates, onMailQueued: mailWorker.kick });

await app.listen({ port: config.PORT, host: config.HOST });
const bounceReceiver =
  config.BOUNCE_SMTP_PORT === undefined ? undefined : await startBounceReceiver(handleReportDeps(ctx, parseReport), { host: config.HOST, port: config.BOUNCE_SMTP_PORT, maxBytes: config.BOUNCE_MAX_BYTES });
const digestDeps = await sendDigestDeps(ctx, templates);
const scheduler = startScheduler(ctx, { send: (o) => sendDigest(digestDeps, o) });
logger.info(
  {
    url: config.PUBLIC_URL,
    database: config.DATABASE_PATH,
    mail: ctx.mailer.kind === 'smtp' ? 'smtp' : `outbox ${config.OUTBOX_DIR}`,
    schedule: `${config.DIGEST_CRON} (${config.DIGEST_TZ})`,
  },
  'paperboy is running',
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: finishing work in flight');
  await Promise.all([app.close(), bounceReceiver?.close()]);
  await Promise.all([scheduler.stop(), mailWorker.stop()]);
  ctx.close();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
