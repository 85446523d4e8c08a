import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { systemClock, type Clock } from './clock.ts';
import { openDatabase, type Db } from './db/connection.ts';
import { migrate } from './db/migrate.ts';
import { createMailer, dkimFromConfig, type Mailer } from './mail/transport.ts';
import { resolveSecret } from './secret.ts';
import { createSubscribersStore, type SubscribersStore } from './db/subscribers-store.ts';
import { createMailQueueStore, type MailQueueStore } from './db/mail-queue-store.ts';
import { createConfirmationWindowsStore, type ConfirmationWindowsStore } from './db/confirmation-windows-store.ts';
import { createPapersStore, type PapersStore } from './db/papers-store.ts';
import { createDigestsStore, type DigestsStore } from './db/digests-store.ts';
import { createRunsStore, type RunsStore } from './db/runs-store.ts';
import { createPaperSource, type PaperSource } from './sources/hf-daily-papers.ts';

/**
 * The composition root: everything HTTP, cron and the CLIs share, built once from the config.
 * Stores are created here from the one database handle so their statements are prepared at boot.
 */
export interface Context {
  config: Config;
  logger: Logger;
  clock: Clock;
  db: Db;
  mailer: Mailer;
  secret: string;
  subscribers: SubscribersStore;
  mailQueue: MailQueueStore;
  confirmationWindows: ConfirmationWindowsStore;
  papers: PapersStore;
  digests: DigestsStore;
  /** The send ledger: runs, leases, deliveries. */
  runs: RunsStore;
  paperSource: PaperSource;
  close(): void;
}

export interface ContextOverrides {
  clock?: Clock;
  mailer?: Mailer;
}

export function createContext(config: Config, logger: Logger, overrides: ContextOverrides = {}): Context {
  const db = openDatabase(config.DATABASE_PATH);
  const applied = migrate(db);
  if (applied.length) logger.info({ applied }, 'database migrations applied');
  const mailer =
    overrides.mailer ??
    createMailer({
      smtpUrl: config.SMTP_URL,
      outboxDir: config.OUTBOX_DIR,
      poolSize: config.SMTP_POOL_SIZE,
      ratePerSec: config.SEND_RATE_PER_SEC,
      dkim: dkimFromConfig(config),
      logger,
    });
  const secret = resolveSecret(config.SECRET, config.DATABASE_PATH, logger);
  return {
    config,
    logger,
    clock: overrides.clock ?? systemClock,
    db,
    mailer,
    secret,
    subscribers: createSubscribersStore(db),
    mailQueue: createMailQueueStore(db),
    confirmationWindows: createConfirmationWindowsStore(db),
    papers: createPapersStore(db),
    digests: createDigestsStore(db),
    runs: createRunsStore(db),
    paperSource: createPaperSource({ baseUrl: config.PAPERS_API_URL, logger }),
    close() {
      mailer.close();
      db.close();
    },
  };
}
