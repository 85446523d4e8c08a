import type { BounceStore, RunBounceCounts } from './events-store.ts';

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

export function runRates(c: RunBounceCounts): RunRates {
  const rate = (n: number) => (c.sent > 0 ? n / c.sent : 0);
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
  const lines = [
    `${label} ${r.date}: sent ${r.sent}, hard bounces ${r.hard} (${percent(r.hardRate)}), soft ${r.soft} (${percent(r.softRate)}), complaints ${r.complaints} (${percent(r.complaintRate, 2)})`,
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

/** send-now's closing lines: the previous run's rates and warnings, or nothing before a first run. */
export function previousRunSummary(store: Pick<BounceStore, 'runBefore'>, date: string): string[] {
  const r = previousRunRates(store, date);
  return r ? describeRates(r) : [];
}
