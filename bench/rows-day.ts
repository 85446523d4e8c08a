import type { DayResult } from './day.ts';
import type { SendRun } from './send.ts';
import { fmt, medianBy, verdict, type Row } from './report.ts';

const seconds = (s: number) => `${s.toFixed(1)} s`;

/**
 * The day replay's rows: the largest slice against the whole-list send measured in the same run
 * (`send`: the product's median at the largest size sent, if the send section ran), the other
 * slices' lags, the load per minute, and every reader once.
 */
export function dayRows(day: DayResult, send: SendRun | null): Row[] {
  const section = `day ${fmt.n(day.readers)}`;
  const bySize = [...day.slices].sort((a, b) => b.readers - a.readers);
  const largest = bySize[0];
  const others = bySize.slice(1).map((s) => s.lagS);
  const rate = largest && largest.lagS > 0 ? largest.readers / largest.lagS : null;
  const slowdown = rate && send ? send.msgsPerSec / rate : null;
  const peak = Math.max(0, ...day.perMinute.map(([, n]) => n));
  const once = day.recipients === day.readers && day.distinctRecipients === day.readers;
  const info = (figure: string, value: string, note?: string): Row => ({
    section,
    figure,
    value,
    baseline: '',
    ratio: '',
    target: '',
    result: '—',
    ...(note ? { note } : {}),
  });
  return [
    {
      section,
      figure: `largest slice (${largest ? `${largest.hour} UTC, ${largest.readers.toLocaleString('en-US')} readers` : 'none'}): lag to its last message`,
      value: largest ? `${seconds(largest.lagS)} · ${rate ? fmt.rate(rate) : '?'}` : 'none sent',
      baseline: send ? `send ${fmt.n(send.n)} ${fmt.rate(send.msgsPerSec)}` : '—',
      ratio: slowdown === null ? '—' : fmt.ratio(slowdown),
      target: '≤ 1.25× slower',
      result: verdict(slowdown, { max: 1.25 }),
      note: 'baseline: the product sending the whole list (send section, median, same run); ratio: how much slower the slice went',
    },
    info('median lag over the other slices', others.length ? seconds(medianBy(others, (x) => x)) : '—'),
    {
      section,
      figure: 'max lag over the other slices',
      value: others.length ? seconds(Math.max(...others)) : '—',
      baseline: largest ? `largest ${seconds(largest.lagS)}` : '—',
      ratio: largest && others.length ? fmt.ratio(Math.max(...others) / largest.lagS) : '—',
      target: '≤ 1.00×',
      result: largest && others.length ? verdict(Math.max(...others) / largest.lagS, { max: 1 }) : 'n/a',
      note: 'no smaller slice waits longer than the largest: a slice costs what its readers cost',
    },
    info('peak messages per clock minute', peak.toLocaleString('en-US'), `${day.perMinute.length} minutes with sends`),
    info('slices sent', String(day.slices.length), `${day.zones} zones`),
    {
      section,
      figure: 'every reader once',
      value: `${fmt.n(day.distinctRecipients)} readers got mail, ${fmt.n(day.recipients - day.distinctRecipients)} twice`,
      baseline: `${fmt.n(day.readers)} readers`,
      ratio: '',
      target: 'each once',
      result: once ? 'pass' : 'FAIL',
    },
  ];
}
