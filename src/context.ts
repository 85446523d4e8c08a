import { mailFromDomain, type Config } from './config.ts';
import type { Logger } from './logger.ts';
import { systemClock, type Clock } from './clock.ts';
import { openDatabase, type Db } from './db/connection.ts';
import { migrate } from './db/migrate.ts';
import { createMailer, dkimFromConfig } from './mail/transport.ts';
import type { Mailer } from './mail/mailer.ts';
import { resolveSecret } from './secret.ts';
import { createSubscribersStore, type SubscribersStore } from './db/subscribers-store.ts';
import { createMailQueueStore, type MailQueueStore } from './db/mail-queue-store.ts';
import { createConfirmationWindowsStore, type ConfirmationWindowsStore } from './db/confirmation-windows-store.ts';
import { createPapersStore, type PapersStore } from './db/papers-store.ts';
import { createDigestsStore, type DigestsStore } from './db/digests-store.ts';
import { createPaperSource } from './papers/hf-daily-papers.ts';
import { createGroupCommit } from './db/group-commit.ts';
import { createLedgerStore, type LedgerStore } from './digest/ledger-store.ts';
import { defaultErrorBudget, type SendPolicy } from './digest/policy.ts';
import type { SendDigestDeps } from './digest/run-types.ts';
import { ingestDay, type PaperSource } from './domain/ingest.ts';
import { subscriberLinks } from './domain/tokens.ts';
import type { SubscriptionDeps } from './domain/subscriptions.ts';
import { loadTemplates, type TemplateSettings, type Templates } from './mail/templates.ts';
import { templateCacheDir } from './mail/template-cache.ts';
import { senderDomain } from './mail/raw-message.ts';
import { createBounceStore, type BounceStore } from './bounces/events-store.ts';
import { createQuarantineStore, type QuarantineStore } from './bounces/quarantine-store.ts';
import { createReportParser, type ReportParser } from './bounces/classify/report-parser.ts';
import { createSuppressionList, type SuppressionList } from './db/suppressions-store.ts';
import { createSubscriberAdminStore } from './db/subscriber-admin-store.ts';
import { createBounceErasureStore } from './db/bounce-erasure-store.ts';
import type { ErasureDeps } from './domain/erasure.ts';
import { eraseFromOutbox } from './mail/outbox-erasure.ts';
import { verpAddress, type VerpIdentity } from './bounces/verp.ts';
import { unsubscribeAddress } from './bounces/unsubscribe-address.ts';
import type { MailQueueDeps } from './mail/mail-queue.ts';
import { signedMessageId, type MessageIdentity } from './bounces/message-id.ts';
import { applyBounceEvent } from './bounces/policy.ts';
import type { RelayRefusal } from './digest/send-loop.ts';
import type { HandleReportDeps } from './bounces/handle-report.ts';
import { startImapPoller, type ImapPoller } from './bounces/sources/imap-poller.ts';
import { createImapStateStore } from './bounces/sources/imap-state-store.ts';
import { createSnsVerifier, snsFetch, type SnsFetch } from './bounces/sources/webhooks/sns.ts';
import { createMailgunVerifier } from './bounces/sources/webhooks/mailgun.ts';
import { createWebhookTokensStore } from './bounces/sources/webhooks/webhook-tokens-store.ts';
import type { WebhookRouteDeps } from './http/routes/webhooks.ts';
import { createChannelsStore, type ChannelsStore } from './db/channels-store.ts';
import type { ChannelPostDeps } from './channels/post-edition.ts';
import type { RankingDeps } from './digest/variants.ts';

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
  /** The ledger: runs, leases, deliveries. */
  ledger: LedgerStore;
  paperSource: PaperSource;
  /** Bounce events, and the send ledger's figures the bounce policy reads. */
  bounces: BounceStore;
  /** Addresses an import must not add back (by keyed hash). */
  suppressions: SuppressionList;
  /** Reports the bounce intake set aside. */
  quarantine: QuarantineStore;
  /** Team channels (Slack, Discord, JSON webhooks) and what each was posted. */
  channels: ChannelsStore;
  /** Bounce reports parsed on a worker thread, each within BOUNCE_PARSE_TIMEOUT_MS. */
  reportParser: ReportParser;
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
  const subscribers = createSubscribersStore(db);
  const clock = overrides.clock ?? systemClock;
  const bounces = createBounceStore(db);
  const reportParser = createReportParser({ timeoutMs: config.BOUNCE_PARSE_TIMEOUT_MS });
  return {
    config,
    logger,
    clock,
    db,
    mailer,
    secret,
    subscribers,
    mailQueue: createMailQueueStore(db),
    confirmationWindows: createConfirmationWindowsStore(db),
    papers: createPapersStore(db),
    digests: createDigestsStore(db),
    ledger: createLedgerStore(db),
    paperSource: createPaperSource({ baseUrl: config.PAPERS_API_URL, logger }),
    bounces,
    suppressions: createSuppressionList({ db, subscribers, secret, clock }),
    quarantine: createQuarantineStore(db),
    channels: createChannelsStore(db),
    reportParser,
    close() {
      void reportParser.close();
      mailer.close();
      db.close();
    },
  };
}

/** What erasing an address reaches: its rows, the bounce tables, and the outbox folder's files. */
export const erasureDeps = (ctx: Pick<Context, 'db' | 'config' | 'secret'>): ErasureDeps => ({
  admin: createSubscriberAdminStore(ctx.db),
  bounces: createBounceErasureStore(ctx.db),
  secret: ctx.secret,
  eraseFromOutbox: (email) => eraseFromOutbox(ctx.config.OUTBOX_DIR, email),
});

/** What the subscription routes share: one group commit, the stores, the confirmation settings. */
export function subscriptionDeps(ctx: Context, onMailQueued?: () => void): SubscriptionDeps {
  return {
    writes: createGroupCommit(ctx.db),
    subscribers: ctx.subscribers,
    mailQueue: ctx.mailQueue,
    suppressions: ctx.suppressions,
    confirmationWindows: ctx.confirmationWindows,
    clock: ctx.clock,
    logger: ctx.logger,
    publicUrl: ctx.config.PUBLIC_URL,
    secret: ctx.secret,
    defaultDigestSize: ctx.config.DIGEST_SIZE,
    confirmationsPerAddressPerHour: ctx.config.CONFIRMATIONS_PER_ADDRESS_PER_HOUR,
    confirmationsPerDomainPerHour: ctx.config.CONFIRMATIONS_PER_DOMAIN_PER_HOUR,
    ...(onMailQueued ? { onMailQueued } : {}),
  };
}

/** The send loop's policy from the config. */
export function sendPolicyFromConfig(config: Config): SendPolicy {
  return {
    batchSize: config.SEND_BATCH_SIZE,
    // Two per pooled connection keeps every connection busy (one being answered, one pipelined).
    maxInFlight: config.SMTP_POOL_SIZE * 2,
    // Bounds the crash window (see the header); larger batches cost fewer commits per message.
    recordBatch: config.SMTP_POOL_SIZE * 4,
    maxAttempts: config.SEND_MAX_ATTEMPTS,
    retryBaseMs: config.SEND_RETRY_BASE_MS,
    connectionRetries: config.SEND_CONNECT_RETRIES,
    errorBudget: defaultErrorBudget(config.SEND_ERROR_BUDGET),
    leaseMs: config.SEND_LEASE_SECONDS * 1000,
  };
}

/** The digest run wired to the context; templates are loaded unless given. */
/** The templates' settings; compiled templates are kept beside the database (mail/template-cache.ts). */
export const templateSettings = (c: Config): TemplateSettings => {
  const cacheDir = templateCacheDir(c.DATABASE_PATH);
  return { publicUrl: c.PUBLIC_URL, postalAddress: c.MAIL_POSTAL_ADDRESS, ...(cacheDir ? { cacheDir } : {}) };
};

export async function sendDigestDeps(ctx: Context, loaded?: Templates): Promise<SendDigestDeps> {
  const config = ctx.config;
  const templates = loaded ?? (await loadTemplates(templateSettings(config)));
  const domain = senderDomain(config.MAIL_FROM);
  return {
    ledger: ctx.ledger,
    digests: ctx.digests,
    async refreshDay(date, stop) {
      await ingestDay({ source: ctx.paperSource, papers: ctx.papers, logger: ctx.logger }, date, stop);
      return ctx.papers.forDay(date);
    },
    storedDay: (date) => ctx.papers.forDay(date),
    compileDigest: (d) => templates.compileDigest(d),
    digestAssembler: (date, cadence) => templates.digestAssembler(date, cadence),
    mailer: ctx.mailer,
    clock: ctx.clock,
    logger: ctx.logger,
    links: readerLinksFor(ctx),
    bounceAddress: bounceAddressFor(ctx),
    messageId: messageIdFor(ctx),
    messageSettings: {
      from: config.MAIL_FROM,
      unsubscribeMailto: config.MAIL_UNSUBSCRIBE_MAILTO,
      domain,
      // The sender id of Feedback-IDs: the signing domain, the one verified in Gmail Postmaster Tools.
      feedbackDomain: config.DKIM_DOMAIN?.toLowerCase() ?? domain,
    },
    policy: sendPolicyFromConfig(config),
    recordRefusal: recordRefusalFor(ctx),
  };
}

/**
 * A reader's personal links. While Paperboy reads its own mail (the receiver or the mailbox) and
 * no MAIL_UNSUBSCRIBE_MAILTO is set, the List-Unsubscribe mailto is the reader's own signed
 * unsubscribe+<token>@BOUNCE_DOMAIN (src/bounces/unsubscribe-address.ts).
 */
export const readerLinksFor = (ctx: Pick<Context, 'config' | 'secret'>) => {
  const config = ctx.config;
  const ownMailto =
    !config.MAIL_UNSUBSCRIBE_MAILTO && (config.BOUNCE_SMTP_PORT !== undefined || config.BOUNCE_IMAP_URL !== undefined);
  return (id: number) => ({
    ...subscriberLinks(config.PUBLIC_URL, ctx.secret, id),
    ...(ownMailto ? { unsubscribeMailto: unsubscribeAddress(id, ctx.secret, config.BOUNCE_DOMAIN) } : {}),
  });
};

/**
 * The relay's refusal of one recipient during a send, as a bounce event: verified (the relay
 * answered our own send, for the subscriber we sent to), through the same policy as a report.
 */
export const recordRefusalFor =
  (ctx: Context) =>
  (r: RelayRefusal): void => {
    const { bounces, subscribers, suppressions, clock, logger, secret } = ctx;
    applyBounceEvent(
      { bounces, subscribers, suppressions, clock, logger, secret, softLimit: ctx.config.BOUNCE_SOFT_LIMIT },
      {
        subscriberId: r.subscriberId,
        verified: true,
        recipient: r.email,
        kind: r.decision,
        reason: r.reason,
        status: r.status,
        diagnostic: r.reply,
        source: 'smtp:send',
        digestDate: r.digestDate,
        reportKey: r.reportKey,
      },
    );
  };

/** Each message's own envelope sender (VERP, src/bounces/verp.ts), signed with SECRET. */
export const bounceAddressFor = (ctx: Pick<Context, 'config' | 'secret'>) => (who: VerpIdentity) =>
  verpAddress(who, ctx.secret, ctx.config.BOUNCE_DOMAIN);

/** Each message's signed Message-ID (src/bounces/message-id.ts), on MAIL_FROM's domain. */
export const messageIdFor = (ctx: Pick<Context, 'config' | 'secret'>) => (who: MessageIdentity) =>
  signedMessageId(who, ctx.secret, senderDomain(ctx.config.MAIL_FROM));

/** The mail queue's worker wired to the context. */
export function mailQueueDeps(ctx: Context, templates: MailQueueDeps['templates']): MailQueueDeps {
  return {
    store: ctx.mailQueue,
    mailer: ctx.mailer,
    clock: ctx.clock,
    logger: ctx.logger,
    from: ctx.config.MAIL_FROM,
    bounceAddress: bounceAddressFor(ctx),
    messageId: messageIdFor(ctx),
    templates,
  };
}

/** The intake wired to the application's context; the parser defaults to the context's worker thread. */
export function handleReportDeps(ctx: Context, parseReport?: HandleReportDeps['parseReport']): HandleReportDeps {
  const config = ctx.config;
  return {
    bounces: ctx.bounces,
    subscribers: ctx.subscribers,
    suppressions: ctx.suppressions,
    clock: ctx.clock,
    logger: ctx.logger,
    secret: ctx.secret,
    softLimit: config.BOUNCE_SOFT_LIMIT,
    parseReport: parseReport ?? ((raw) => ctx.reportParser.parse(raw)),
    bounceDomain: config.BOUNCE_DOMAIN,
    messageIdDomain: mailFromDomain(config.MAIL_FROM) ?? config.BOUNCE_DOMAIN,
    queuedMailRecipient: (id) => ctx.mailQueue.recipientOf(id),
    quarantine: ctx.quarantine,
    maxBytes: config.BOUNCE_MAX_BYTES,
    fblAddress: config.BOUNCE_FBL_ADDRESS,
  };
}

/** The poller of BOUNCE_IMAP_URL, started for the service; undefined when it is not set. */
export function startBounceMailbox(ctx: Context): ImapPoller | undefined {
  const config = ctx.config;
  if (!config.BOUNCE_IMAP_URL) return undefined;
  return startImapPoller(
    { intake: handleReportDeps(ctx), state: createImapStateStore(ctx.db), logger: ctx.logger },
    {
      url: config.BOUNCE_IMAP_URL,
      after: config.BOUNCE_IMAP_AFTER,
      quarantineFolder: config.BOUNCE_IMAP_QUARANTINE,
      pollMs: config.BOUNCE_IMAP_POLL_SECONDS * 1000,
    },
  );
}

/** Each provider's route exists only when its secret is configured (404 otherwise). */
export function webhookRouteDeps(ctx: Context, fetchForSns: SnsFetch = snsFetch): WebhookRouteDeps {
  const config = ctx.config;
  return {
    bounces: handleReportDeps(ctx),
    ses: config.SES_SNS_TOPIC_ARNS
      ? createSnsVerifier({ fetch: fetchForSns, topics: config.SES_SNS_TOPIC_ARNS.split(',').map((t) => t.trim()) })
      : undefined,
    postmarkAuth: config.POSTMARK_WEBHOOK_AUTH,
    mailgun: config.MAILGUN_WEBHOOK_SIGNING_KEY
      ? createMailgunVerifier(config.MAILGUN_WEBHOOK_SIGNING_KEY, ctx.clock, createWebhookTokensStore(ctx.db))
      : undefined,
  };
}

/** The channel posts wired to the context, ranking as the digest run given does (its refresh and frozen editions). */
export function channelPostDeps(ctx: Context, ranking: RankingDeps): ChannelPostDeps {
  return {
    channels: ctx.channels,
    ranking,
    poster: { fetch: globalThis.fetch, clock: ctx.clock, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    clock: ctx.clock,
    logger: ctx.logger.child({ job: 'channels' }),
    publicUrl: ctx.config.PUBLIC_URL,
  };
}
