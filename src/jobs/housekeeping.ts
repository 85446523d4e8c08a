import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { SubscribersStore } from '../db/subscribers-store.ts';
import type { MailQueueStore } from '../db/mail-queue-store.ts';
import type { ConfirmationWindowsStore } from '../db/confirmation-windows-store.ts';
import type { LedgerStore } from '../digest/ledger-store.ts';
import type { Config } from '../config.ts';
import { QUARANTINE_DAYS, type QuarantineStore } from '../bounces/quarantine-store.ts';
import { CONFIRM_TOKEN_TTL_MS } from '../domain/subscriptions.ts';

const HOUR_MS = 3600_000;
/** How long addresses that never confirmed, and settled transactional mail, are kept. */
const UNCONFIRMED_RETENTION_MS = 7 * 24 * HOUR_MS;
/** Delivery rows folded per transaction: a long list's old runs never hold the event loop long. */
export const FOLD_BATCH = 10_000;

export interface HousekeepingDeps {
  subscribers: Pick<SubscribersStore, 'deletePendingBefore' | 'deleteRequestsBefore'>;
  mailQueue: Pick<MailQueueStore, 'expireQueuedBefore' | 'deleteSettledBefore'>;
  confirmationWindows: Pick<ConfirmationWindowsStore, 'pruneBefore'>;
  ledger: Pick<LedgerStore, 'foldDeliveriesBefore'>;
  quarantine: Pick<QuarantineStore, 'purgeBefore'>;
  config: Pick<Config, 'RETENTION_DAYS'>;
  clock: Clock;
  logger: Logger;
}

/**
 * Keeps no address longer than it serves: sign-ups never confirmed and settled transactional mail
 * go after a week, sign-up requests whose link has expired go (with the settings they asked for),
 * queued confirmations whose link has expired are failed (their payload emptied), the caps' windows
 * go once an hour old, reports quarantined by the bounce intake after 30 days, and the first batch
 * of delivery rows of runs finished RETENTION_DAYS ago is folded into their runs' counts (see
 * foldOldDeliveries). Returns what it removed.
 */
export function purgeStaleData(deps: HousekeepingDeps) {
  const now = deps.clock.now().getTime();
  const before = (ms: number) => new Date(now - ms).toISOString();
  return {
    unconfirmedSignUps: deps.subscribers.deletePendingBefore(before(UNCONFIRMED_RETENTION_MS)),
    expiredSignupRequests: deps.subscribers.deleteRequestsBefore(before(CONFIRM_TOKEN_TTL_MS)),
    expiredMail: deps.mailQueue.expireQueuedBefore(before(CONFIRM_TOKEN_TTL_MS)),
    settledMail: deps.mailQueue.deleteSettledBefore(before(UNCONFIRMED_RETENTION_MS)),
    confirmationWindows: deps.confirmationWindows.pruneBefore(before(HOUR_MS)),
    quarantinedReports: deps.quarantine.purgeBefore(before(QUARANTINE_DAYS * 24 * HOUR_MS)),
    foldedDeliveries: foldOldDeliveries(deps),
  };
}

/** One batch (FOLD_BATCH rows, one transaction) of old finished runs' delivery rows; how many went. */
function foldOldDeliveries(deps: Pick<HousekeepingDeps, 'ledger' | 'config' | 'clock'>): number {
  const before = new Date(deps.clock.now().getTime() - deps.config.RETENTION_DAYS * 24 * HOUR_MS).toISOString();
  return deps.ledger.foldDeliveriesBefore(before, FOLD_BATCH);
}

export interface Housekeeping {
  stop(): void;
}

/** Runs purgeStaleData now and then every `everyMs` (an hour by default), logging what it removed. */
export function startHousekeeping(deps: HousekeepingDeps, everyMs = HOUR_MS): Housekeeping {
  const log = deps.logger.child({ job: 'housekeeping' });
  let more: NodeJS.Immediate | undefined;
  // The rest of the old deliveries a batch at a time, letting requests in between.
  const foldRest = (folded: number) => {
    more = undefined;
    try {
      const n = foldOldDeliveries(deps);
      if (n === FOLD_BATCH) more = setImmediate(foldRest, folded + n);
      else log.info({ foldedDeliveries: folded + n }, 'old deliveries folded into their runs');
    } catch (err) {
      log.error({ err }, 'folding old deliveries failed');
    }
  };
  const pass = () => {
    if (more) return;
    try {
      const removed = purgeStaleData(deps);
      if (removed.foldedDeliveries === FOLD_BATCH) more = setImmediate(foldRest, FOLD_BATCH);
      if (Object.values(removed).some((n) => n > 0)) log.info(removed, 'stale data removed');
    } catch (err) {
      log.error({ err }, 'housekeeping pass failed');
    }
  };
  pass();
  const timer = setInterval(pass, everyMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      if (more) clearImmediate(more);
    },
  };
}
