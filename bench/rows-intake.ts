import type { IntakeResult } from './intake.ts';
import { fmt, verdict, type Row } from './report.ts';

/** The bounce intake's rows: throughput against the replay's ceiling, memory, /healthz, hostile parses. */
export function intakeRows(x: IntakeResult): Row[] {
  const section = 'intake';
  const rows: Row[] = [
    {
      section,
      figure: `reports/s, ${fmt.n(x.reports)} real reports, ${x.clients} clients`,
      value: fmt.rate(x.reportsPerSec),
      baseline: `sink ${fmt.rate(x.ceilingPerSec)}`,
      ratio: fmt.ratio(x.reportsPerSec / x.ceilingPerSec),
      target: '≥ 300/s',
      result: verdict(x.reportsPerSec, { min: 300 }),
      note: 'through the running service’s SMTP receiver: parsed on its thread, matched, recorded; baseline: the same replay into a sink that only counts',
    },
    {
      section,
      figure: `service RSS after ${fmt.n(x.reports)} reports`,
      value: fmt.mb(x.rssAtEndMb),
      baseline: `${fmt.mb(x.rssAt1kMb)} after 1k`,
      ratio: fmt.ratio(x.rssAtEndMb / x.rssAt1kMb),
      target: '≤ 1.10×',
      result: verdict(x.rssAtEndMb / x.rssAt1kMb, { max: 1.1 }),
    },
    {
      section,
      figure: '/healthz p99 during the burst',
      value: fmt.ms(x.healthP99Ms),
      baseline: `${fmt.ms(x.healthIdleP99Ms)} idle`,
      ratio: fmt.ratio(x.healthP99Ms / x.healthIdleP99Ms),
      target: '< 100 ms',
      result: verdict(x.healthP99Ms, { max: 100 }),
    },
  ];
  for (const h of x.hostile)
    rows.push({
      section,
      figure: `parse of a hostile report: ${h.name}, ${fmt.n(Math.round(h.bytes / 1000))} KB`,
      value: fmt.ms(h.ms),
      baseline: `${fmt.ms(x.realReportMs)} real (median)`,
      ratio: fmt.ratio(h.ms / x.realReportMs),
      target: '≤ 1 s',
      result: verdict(h.ms, { max: 1000 }),
    });
  return rows;
}
