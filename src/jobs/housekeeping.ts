import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { SubscribersStore } from '../db/subscribers-store.ts';
import type { MailQueueStore } from '../db/mail-queue-store.ts';
import type { ConfirmationWindowsStore } from '../db/confirmation-windows-store.ts';
import { CONFIRM_TOKEN_TTL_MS } from '../domain/subscriptions.ts';

const HOUR_MS = 3600_000;
/** How long addresses that never confirmed, and settled transactional mail, are kept. */
export const UNCONFIRMED_RETENTION_MS = 7 * 24 * HOUR_MS;

export interface HousekeepingDeps {
  subscribers: Pick<SubscribersStore, 'deletePendingBefore'>;
  mailQueue: Pick<MailQueueStore, 'expireQueuedBefore' | 'deleteSettledBefore'>;
  confirmationWindows: Pick<ConfirmationWindowsStore, 'pruneBefore'>;
  clock: Clock;
  logger: Logger;
}

/**
 * Keeps no address longer than it serves: sign-ups never confirmed and settled transactional mail
 * go after a week, queued confirmations whose link has expired are failed (their payload emptied),
 * and the caps' windows go once an hour old. Returns what it removed.
 */
export function purgeStaleData(deps: HousekeepingDeps) {
  const now = deps.clock.now().getTime();
  const before = (ms: number) => new Date(now - ms).toISOString();
  return {
    unconfirmedSignUps: deps.subscribers.deletePendingBefore(before(UNCONFIRMED_RETENTION_MS)),
    expiredMail: deps.mailQueue.expireQueuedBefore(before(CONFIRM_TOKEN_TTL_MS)),
    settledMail: deps.mailQueue.deleteSettledBefore(before(UNCONFIRMED_RETENTION_MS)),
    confirmationWindows: deps.confirmationWindows.pruneBefore(before(HOUR_MS)),
  };
}

export interface Housekeeping {
  stop(): void;
}

/** Runs purgeStaleData now and then every `everyMs` (an hour by default), logging what it removed. */
export function startHousekeeping(deps: HousekeepingDeps, everyMs = HOUR_MS): Housekeeping {
  const log = deps.logger.child({ job: 'housekeeping' });
  const pass = () => {
    try {
      const removed = purgeStaleData(deps);
      if (Object.values(removed).some((n) => n > 0)) log.info(removed, 'stale data removed');
    } catch (err) {
      log.error({ err }, 'housekeeping pass failed');
    }
  };
  pass();
  const timer = setInterval(pass, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
