import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { SubscribersStore } from '../db/subscribers-store.ts';
import { Conflict, NotFound } from '../errors.ts';
import type { BounceStore } from './events-store.ts';
import type { SuppressionList } from '../db/suppressions-store.ts';

export interface UnsuppressDeps {
  bounces: BounceStore;
  subscribers: SubscribersStore;
  suppressions: SuppressionList;
  clock: Clock;
  logger: Logger;
}

export interface Unsuppressed {
  subscriberId: number;
  email: string;
  /** What they are again: confirmed, or pending when they had never confirmed. */
  status: string;
  /** Why the address was on the suppression list, when it was. */
  was: string | undefined;
  /** Their soft bounces count from this digest day on. */
  countedFrom: string;
}

/**
 * An operator undoing a wrong suppression by bounces (`subscribers unsuppress`): the reader gets
 * digests again, the address leaves the suppression list, and their soft bounces count afresh.
 * Never someone who complained or unsubscribed: only they can ask for mail again, through the form.
 */
export function unsuppress(deps: UnsuppressDeps, address: string): Unsuppressed {
  const subscriber = deps.subscribers.byEmail(address.trim());
  if (!subscriber) throw new NotFound(`${address} is not on the list`);
  const { id, email, status } = subscriber;
  const was = deps.suppressions.reasonFor(email)?.reason;
  if (deps.bounces.complained(id) || was?.startsWith('complaint:'))
    throw new Conflict(`${email} reported a digest as spam: only they can sign up again, through the form`);
  if (status === 'unsubscribed')
    throw new Conflict(`${email} unsubscribed: only they can sign up again, through the form`);
  if (status !== 'suppressed') throw new Conflict(`${email} is ${status}, not suppressed: nothing to undo`);
  const now = deps.clock.now().toISOString();
  deps.bounces.transaction(() => {
    deps.subscribers.unsuppress(id, now);
    deps.suppressions.lift(email);
  });
  const restored = deps.subscribers.byId(id)!.status;
  const countedFrom = now.slice(0, 10);
  deps.logger.info(
    { subscriberId: id, status: restored, was, countedFrom },
    'suppression lifted by the operator: the reader gets digests again, and their bounces count afresh',
  );
  return { subscriberId: id, email, status: restored, was, countedFrom };
}
