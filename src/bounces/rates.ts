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
export function runRates(c: RunBounceCounts): RunRates {
  const tried = c.sent + c.failed;
  const rate = (n: number) => (tried > 0 ? n / tried : 0);
  const r = { ...c, hardRate: rate(c.hard), softRate: rate(c.soft), complaintRate: rate(c.complaints) };
  const alarms: RunRates['alarms'] = [];
  if (r.hardRate > HARD_BOUNCE_ALARM) alarms.push('hard');
  if (r.complaintRate > COMPLAINT_ALARM) alarms.push('complaints');
  return { ...r, alarms };
}

export const percent = (rate: number, digits = 1) => `${(rate * 100).toFixed(digits)} %`;

/** The rates of the last run before `date` that sent anything (what send-now's summary shows). */
export function previousRunRates(store: Pick<BounceStore, 'runBefore'>, date: string): RunRates | undefined {
  const run = store.runBefore(date);
  return run ? runRates(run) : undefined;
}

/** Lines for a summary: the rates, and a loud warning for each threshold crossed. */
export function describeRates(r: RunRates, label = 'previous run'): string[] {
  const failed = r.failed ? `, failed ${r.failed}` : '';
  const sender = r.sender ? `, refused for the sender's reasons ${r.sender}` : '';
  const lines = [
    `${label} ${r.date}: sent ${r.sent}${failed}, hard bounces ${r.hard} (${percent(r.hardRate)}), soft ${r.soft} (${percent(r.softRate)}), complaints ${r.complaints} (${percent(r.complaintRate, 2)})${sender}`,
  ];
  if (r.alarms.includes('hard')) {
    lines.push(
      `!!! WARNING: ${percent(r.hardRate)} of the ${r.date} run bounced hard, above ${percent(HARD_BOUNCE_ALARM, 0)}: the list has dead addresses (an old import?); providers throttle or block senders at this rate.`,
    );
  }
  if (r.alarms.includes('complaints')) {
    lines.push(
      `!!! WARNING: ${percent(r.complaintRate, 2)} of the ${r.date} run was reported as spam, above ${percent(COMPLAINT_ALARM, 1)}: providers send mail to spam or refuse it at this rate; check who is on the list and why.`,
    );
  }
  return lines;
}

/**
 * send-now's closing lines: the previous run's rates and warnings, and which receiving domains
 * refused it for the sender's reasons; nothing before a first run.
 */
export function previousRunSummary(store: Pick<BounceStore, 'runBefore' | 'runRefusals'>, date: string): string[] {
  const r = previousRunRates(store, date);
  if (!r) return [];
  return [...describeRates(r), ...describeSenderRefusals(store.runRefusals(r.date)).map((l) => `${r.date}: ${l}`)];
}
