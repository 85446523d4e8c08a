import closeWithGrace from 'close-with-grace';
import Database from 'better-sqlite3';
import { loadConfig, ConfigError, checkHostResolves, type Config } from './config.ts';
import { createLogger } from './logger.ts';
import {
  channelPostDeps,
  createContext,
  handleReportDeps,
  mailQueueDeps,
  sendDigestDeps,
  startBounceMailbox,
  templateSettings,
  type Context,
} from './context.ts';
import { loadTemplates } from './mail/templates.ts';
import { startMailQueueWorker, type MailQueueWorker } from './mail/mail-queue.ts';
import { buildApp } from './app.ts';
import { startScheduler } from './jobs/scheduler.ts';
import { sendDigest } from './digest/run.ts';
import { postChannels } from './channels/post-edition.ts';
import { startHousekeeping } from './jobs/housekeeping.ts';
import { limitHeapGrowth } from './heap.ts';
import { identityWarnings } from './mail/identity.ts';
import { startBounceReceiver, type BounceReceiver } from './bounces/sources/receiver.ts';

/**
 * How long a shutdown may take before the process exits anyway (status 1). Work in flight is
 * safe to cut (a send resumes from its ledger, queued mail stays queued): this only bounds a hung
 * SMTP connection, whose socket timeout is 30 s.
 */
const SHUTDOWN_GRACE_MS = 20_000;

/** A start-up problem an operator can fix: one line, exit 1, before anything listens. */
function exitWith(line: string, ctx?: Context): never {
  ctx?.close();
  console.error(line);
  process.exit(1);
}

limitHeapGrowth();

let config: Config;
try {
  config = loadConfig();
  await checkHostResolves(config.HOST);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  exitWith(err.message);
}

const logger = createLogger(config.LOG_LEVEL, 'stdout', { development: config.NODE_ENV !== 'production' });
let ctx: Context;
try {
  ctx = createContext(config, logger);
} catch (err) {
  // Not a database, a damaged one, or a folder we may not write: the operator fixes the path.
  if (!(err instanceof Database.SqliteError)) throw err;
  exitWith(`DATABASE_PATH: cannot use ${config.DATABASE_PATH}: ${err.message} (${err.code})`);
}
for (const warning of identityWarnings(config)) logger.warn({ check: 'sending identity' }, warning);
const templates = await loadTemplates(templateSettings(config));
// Started once the port is ours: a service that cannot listen sends nothing. A sign-up that
// comes before it is picked up by the worker's first pass.
let mailWorker: MailQueueWorker | undefined;
const app = await buildApp(ctx, { templates, onMailQueued: () => mailWorker?.kick() });

// The bounce receiver binds before HTTP: a port either of them cannot have stops the start
// before the web service answers anyone.
let bounceReceiver: BounceReceiver | undefined;
if (config.BOUNCE_SMTP_PORT !== undefined) {
  try {
    // The service's intake: reports parsed on the report parser's thread, never on this one.
    bounceReceiver = await startBounceReceiver(handleReportDeps(ctx), {
      host: config.HOST,
      port: config.BOUNCE_SMTP_PORT,
      maxBytes: config.BOUNCE_MAX_BYTES,
      maxPerClient: config.BOUNCE_SMTP_MAX_PER_CLIENT,
    });
  } catch (err) {
    const line = listenProblem(err as NodeJS.ErrnoException, config, 'BOUNCE_SMTP_PORT', config.BOUNCE_SMTP_PORT);
    if (!line) throw err;
    exitWith(line, ctx);
  }
}
try {
  await app.listen({ port: config.PORT, host: config.HOST });
} catch (err) {
  const line = listenProblem(err as NodeJS.ErrnoException, config, 'PORT', config.PORT);
  if (!line) throw err;
  exitWith(line, ctx);
}
mailWorker = startMailQueueWorker(mailQueueDeps(ctx, templates));
const digestDeps = await sendDigestDeps(ctx, templates);
const scheduler = startScheduler(ctx, {
  send: (o) => sendDigest(digestDeps, o),
  postChannels: (date, cadence) => postChannels(channelPostDeps(ctx, digestDeps), date, cadence),
});
const housekeeping = startHousekeeping(ctx);
const bounceMailbox = startBounceMailbox(ctx);
logger.info(
  {
    url: config.PUBLIC_URL,
    database: config.DATABASE_PATH,
    mail: ctx.mailer.kind === 'smtp' ? 'smtp' : `outbox ${config.OUTBOX_DIR}`,
    schedule: `${config.DIGEST_CRON} (${config.DIGEST_TZ})`,
  },
  'paperboy is running',
);

// A signal (or a crash) stops taking work, lets what is in flight finish, and exits; a second
// signal exits at once.
const worker = mailWorker;
closeWithGrace({ delay: SHUTDOWN_GRACE_MS, logger }, async ({ signal, err }) => {
  if (err) logger.error({ err }, 'crashed: shutting down');
  else logger.info({ signal }, 'shutting down: finishing work in flight');
  await Promise.all([app.close(), bounceReceiver?.close()]);
  housekeeping.stop();
  await Promise.all([scheduler.stop(), worker.stop(), bounceMailbox?.stop()]);
  ctx.close();
  logger.info('stopped');
});

/** The operator's fix for a failed listen on `setting`'s port, in one line; undefined for anything else. */
function listenProblem(
  err: NodeJS.ErrnoException,
  c: Config,
  setting: 'PORT' | 'BOUNCE_SMTP_PORT',
  port: number,
): string | undefined {
  if (err.code === 'EADDRINUSE')
    return `${setting} ${port} is in use on ${c.HOST}: stop the other program or choose another ${setting}`;
  if (err.code === 'EACCES')
    return `${setting} ${port} needs privileges this user lacks: choose a ${setting} above 1023`;
  if (err.code === 'EADDRNOTAVAIL') return `invalid configuration: HOST: ${c.HOST} is not an address of this machine`;
  return undefined;
}
