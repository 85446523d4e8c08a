import type { BounceStore, RunBounceCounts } from './events-store.ts';
import { describeSenderRefusals } from './refusals.ts';

/**
 * The thresholds mailbox providers hold bulk senders to: above 5 % hard bounces or 0.3 % spam
 * complaints a sender's mail starts going to spam or being refused (Gmail and Yahoo's 2024 sender
 * rules name 0.3 % for complaints).
 */
export const HARD_BOUNCE_ALARM = 0.05;
export const COMPLAINT_ALARM = 0.003;

export interface RunRates extends RunBounceCounts {
  hardRate: number;
  softRate: number;
  complaintRate: number;
  /** The thresholds this run is above. */
  alarms: ('hard' | 'complaints')[];
}

/**
 * Rates out of the digests tried (sent, or refused by the relay while sending): a 5.1.1 the relay
 * answered at RCPT is as much a hard bounce as one a report returns later.
 */
export function runRates(counts: RunBounceCounts): RunRates {
  const tried = counts.sent + counts.failed;
  const rate = (n: number) => (tried > 0 ? n / tried : 0);
  const rates = {
    ...counts,
    hardRate: rate(counts.hard),
    softRate: rate(counts.soft),
    complaintRate: rate(counts.complaints),
  };
  const alarms: RunRates['alarms'] = [];
  if (rates.hardRate > HARD_BOUNCE_ALARM) alarms.push('hard');
  if (rates.complaintRate > COMPLAINT_ALARM) alarms.push('complaints');
  return { ...rates, alarms };
}

export const percent = (rate: number, digits = 1) => `${(rate * 100).toFixed(digits)} %`;

/** The rates of the last run before `date` that sent anything (what send-now's summary shows). */
export function previousRunRates(store: Pick<BounceStore, 'runBefore'>, date: string): RunRates | undefined {
  const run = store.runBefore(date);
  return run ? runRates(run) : undefined;
}

/** Lines for a summary: the rates, and a loud warning for each threshold crossed. */
export function describeRates(rates: RunRates, label = 'previous run'): string[] {
  const failed = rates.failed ? `, failed ${rates.failed}` : '';
  const sender = rates.sender ? `, refused for the sender's reasons ${rates.sender}` : '';
  const lines = [
    `${label} ${rates.date}: sent ${rates.sent}${failed}, hard bounces ${rates.hard} (${percent(rates.hardRate)}), soft ${rates.soft} (${percent(rates.softRate)}), complaints ${rates.complaints} (${percent(rates.complaintRate, 2)})${sender}`,
  ];
  if (rates.alarms.includes('hard')) {
    lines.push(
      `!!! WARNING: ${percent(rates.hardRate)} of the ${rates.date} run bounced hard, above ${percent(HARD_BOUNCE_ALARM, 0)}: the list has dead addresses (an old import?); providers throttle or block senders at this rate.`,
    );
  }
  if (rates.alarms.includes('complaints')) {
    lines.push(
      `!!! WARNING: ${percent(rates.complaintRate, 2)} of the ${rates.date} run was reported as spam, above ${percent(COMPLAINT_ALARM, 1)}: providers send mail to spam or refuse it at this rate; check who is on the list and why.`,
    );
  }
  return lines;
}

/**
 * send-now's closing lines: the previous run's rates and warnings, and which receiving domains
 * refused it for the sender's reasons; nothing before a first run.
 */
export function previousRunSummary(store: Pick<BounceStore, 'runBefore' | 'runRefusals'>, date: string): string[] {
  const rates = previousRunRates(store, date);
  if (!rates) return [];
  return [
    ...describeRates(rates),
    ...describeSenderRefusals(store.runRefusals(rates.date)).map((l) => `${rates.date}: ${l}`),
  ];
}
