import type { MailQueueStore, QueuedMail } from '../db/mail-queue-store.ts';
import type { Mailer } from './mailer.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Rendered, Templates } from './templates.ts';
import { Invalid } from '../errors.ts';
import { isPermanentReply } from './smtp/replies.ts';
import { retryDelayMs } from '../retry.ts';
import type { VerpIdentity } from '../bounces/verp.ts';
import type { MessageIdentity } from '../bounces/message-id.ts';

export interface MailQueueDeps {
  store: MailQueueStore;
  mailer: Pick<Mailer, 'sendTransactional'>;
  clock: Clock;
  logger: Logger;
  from: string;
  /** The signed VERP envelope sender of a subscriber's mail (src/bounces/verp.ts). */
  bounceAddress: (who: VerpIdentity) => string;
  /** The signed Message-ID of one message; for queued mail, its kind, the day it was queued and its row. */
  messageId: (who: MessageIdentity) => string;
  templates: Pick<Templates, 'confirm' | 'alreadySubscribed'>;
}

/** Queued mail carries its kind and values; it is rendered when it goes out. */
export function renderQueuedMail(
  templates: Pick<Templates, 'confirm' | 'alreadySubscribed'>,
  mail: Pick<QueuedMail, 'kind' | 'payload'>,
): Rendered {
  const { confirmUrl, preferencesUrl, unsubscribeUrl } = mail.payload;
  if (mail.kind === 'confirm' && typeof confirmUrl === 'string') return templates.confirm({ confirmUrl });
  if (mail.kind === 'already-subscribed' && typeof preferencesUrl === 'string' && typeof unsubscribeUrl === 'string') {
    return templates.alreadySubscribed({ preferencesUrl, unsubscribeUrl });
  }
  throw new Invalid(`queued mail of kind "${mail.kind}" cannot be rendered from ${JSON.stringify(mail.payload)}`);
}

const MAX_ATTEMPTS = 12;

/** 1, 2, 4 … minutes, at most an hour, after `attempts` failed tries: twelve span about seven hours of outage. */
export const queueRetryDelayMs = (attempts: number) => retryDelayMs(attempts + 1, 60_000, 3600_000);

const isPermanentFailure = (err: unknown) => {
  const e = err as { responseCode?: number; permanent?: boolean };
  return e.permanent === true || (typeof e.responseCode === 'number' && isPermanentReply(e.responseCode));
};

/**
 * Sends everything due now, one message at a time, and returns how many went out. Each message
 * leaves the due set whatever happens (sent, failed, or retried later), so this ends.
 */
export async function sendDueMail(deps: MailQueueDeps, batchSize = 20): Promise<number> {
  let sent = 0;
  for (;;) {
    const batch = deps.store.due(deps.clock.now().toISOString(), batchSize);
    for (const mail of batch) if (await sendOne(deps, mail)) sent++;
    if (batch.length < batchSize) return sent;
  }
}

async function sendOne(deps: MailQueueDeps, mail: QueuedMail): Promise<boolean> {
  const log = deps.logger.child({ mailId: mail.id, kind: mail.kind, attempts: mail.attempts + 1 });
  try {
    // Mail queued before payloads named their subscriber goes out from MAIL_FROM's address.
    const { subscriberId } = mail.payload;
    const envelopeFrom = typeof subscriberId === 'number' ? deps.bounceAddress({ subscriberId }) : undefined;
    const info = await deps.mailer.sendTransactional({
      from: deps.from,
      to: mail.recipient,
      envelopeFrom,
      messageId: deps.messageId({ edition: mail.kind, date: mail.createdAt.slice(0, 10), id: mail.id }),
      ...renderQueuedMail(deps.templates, mail),
    });
    deps.store.markSent(mail.id, deps.clock.now().toISOString());
    log.info({ messageId: info.messageId, response: info.response }, 'queued mail sent');
    return true;
  } catch (err) {
    const error = String((err as Error).message ?? err).slice(0, 500);
    if (err instanceof Invalid || isPermanentFailure(err) || mail.attempts + 1 >= MAX_ATTEMPTS) {
      deps.store.markFailed(mail.id, error);
      log.error({ err }, 'queued mail failed for good');
    } else {
      const next = new Date(deps.clock.now().getTime() + queueRetryDelayMs(mail.attempts)).toISOString();
      deps.store.retryLater(mail.id, next, error);
      log.warn({ err, next }, 'queued mail not sent, will retry');
    }
    return false;
  }
}

export interface MailQueueWorker {
  /** Look at the queue now (after something was queued). */
  kick(): void;
  /** Stop polling and wait for the message in flight. */
  stop(): Promise<void>;
}

/** Polls the queue in the background; one pass at a time, never overlapping. */
export function startMailQueueWorker(deps: MailQueueDeps, pollMs = 15_000): MailQueueWorker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let again = false;
  let stopped = false;

  const schedule = (ms: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(pass, ms);
    timer.unref();
  };
  function pass() {
    if (running) {
      again = true;
      return;
    }
    running = sendDueMail(deps)
      .catch((err) => deps.logger.error({ err }, 'mail queue pass failed'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          schedule(0);
        } else schedule(pollMs);
      });
  }
  const waiting = deps.store.makeAllDue(deps.clock.now().toISOString());
  if (waiting) deps.logger.info({ waiting }, 'mail queue: retrying queued mail now, after the restart');
  schedule(0);
  return {
    kick: () => schedule(0),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
