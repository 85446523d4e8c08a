import { medianRun, type SendRun, type SenderKind } from './send.ts';
import { intakeRows } from './rows-intake.ts';
import { dayRows } from './rows-day.ts';
import { fmt, medianBy, verdict, type Row } from './report.ts';
import type { Plan } from './plan.ts';
import { appRows } from './rows-app.ts';
import type { Results } from './results.ts';

/** The table rows a bench run's results make. */

/** The sink's ceiling: the faster of the two raw-replay senders (either may be missing). */
const fastest = (...runs: (SendRun | null | undefined)[]): SendRun | undefined =>
  runs.filter((x): x is SendRun => !!x).sort((x, y) => y.msgsPerSec - x.msgsPerSec)[0];

/** Each run over its baseline in the same round; the median and every ratio, in round order. */
function pairedRatio(
  runs: SendRun[],
  baselineOfRound: (round: number | undefined) => SendRun | undefined,
): { median: number; all: number[] } | null {
  const all = runs.flatMap((r) => {
    const b = baselineOfRound(r.round);
    return b ? [r.msgsPerSec / b.msgsPerSec] : [];
  });
  return all.length ? { median: medianBy(all, (x) => x), all } : null;
}

export function buildRows(p: Plan, r: Results): Row[] {
  const rows: Row[] = [];
  const runsOf = (kind: SenderKind, n: number, series?: SendRun['series']) =>
    r.send.filter((s) => s.kind === kind && s.n === n && s.series === series);
  const med = (kind: SenderKind, n: number) => {
    const runs = runsOf(kind, n);
    return runs.length ? medianRun(runs) : null;
  };
  const firstMessage = (s: SendRun | null) =>
    s?.firstMessageMs === undefined ? '?' : `${Math.round(s.firstMessageMs)} ms`;
  const perf = (s: SendRun) => `${fmt.rate(s.msgsPerSec)} · ${s.cpuMsPerMsg.toFixed(2)} ms CPU/msg`;
  const problems = (s: SendRun | null) => (s?.problems.length ? ` PROBLEMS: ${s.problems.join('; ')}` : '');

  for (const n of p.sendSizes) {
    if (!p.sections.includes('send')) break;
    const section = `send ${fmt.n(n)}`;
    const a = med('nodemailer', n);
    const b1 = med('nodemailer-raw', n);
    const b2 = med('pipelined-raw', n);
    const nodb = med('fastpath-nodb', n);
    const prod = med('product', n);
    const ceiling = fastest(b1, b2) ?? null;
    const reps = runsOf('product', n).length;
    const info = (label: string, s: SendRun | null, note?: string) =>
      rows.push({
        section,
        figure: label,
        value: s ? perf(s) : 'failed',
        baseline: '',
        ratio: '',
        target: '',
        result: '—',
        ...(note || problems(s) ? { note: `${note ?? ''}${problems(s)}` } : {}),
      });
    info('(a) plain pooled sendMail() loop', a, 'same HTML+text, same pool, no DB');
    info('(b1) ceiling: nodemailer pool, raw replay', b1);
    info(
      '(b2) ceiling: pipelined raw client',
      b2,
      b2 ? `sink CPU ${b2.sinkCpuMsPerMsg.toFixed(2)} ms/msg, ${Math.round(b2.bytesPerMsg / 1024)} KB/msg` : undefined,
    );
    info('fast path without DB', nodb, 'same templates, raw-message builder and mailer; in-memory recipient list');
    const prodNote = prod
      ? `median of ${reps}; sink CPU ${prod.sinkCpuMsPerMsg.toFixed(2)} ms/msg, ${Math.round(prod.bytesPerMsg / 1024)} KB/msg; first message after ${firstMessage(prod)} (no-DB path ${firstMessage(nodb)}): the run's fixed costs`
      : 'product path not measured';
    rows.push({
      section,
      figure: 'product sendDigest vs (a)',
      value: prod ? perf(prod) : 'failed',
      baseline: a ? fmt.rate(a.msgsPerSec) : '—',
      ratio: prod && a ? fmt.ratio(prod.msgsPerSec / a.msgsPerSec) : '—',
      target: '≥ 2.00×',
      result: prod?.problems.length ? 'FAIL' : verdict(prod && a ? prod.msgsPerSec / a.msgsPerSec : null, { min: 2 }),
      note: `${prodNote}${problems(prod)}`,
    });
    rows.push({
      section,
      figure: 'sender CPU/msg: (a) ÷ product',
      value: prod ? `${prod.cpuMsPerMsg.toFixed(2)} ms` : '—',
      baseline: a ? `${a.cpuMsPerMsg.toFixed(2)} ms` : '—',
      ratio: prod && a ? fmt.ratio(a.cpuMsPerMsg / prod.cpuMsPerMsg) : '—',
      target: '',
      result: '—',
      note: 'CPU time is less sensitive than msgs/s to other load on a shared box',
    });
    // Ratios between kinds that ran several times are taken per round (the kinds of a round run
    // back to back, so a drift in the box's speed hits both) and the median of those is shown.
    const inRound = (kind: SenderKind, round: number | undefined) => runsOf(kind, n).find((x) => x.round === round);
    const roundCeiling = (round: number | undefined) =>
      fastest(inRound('nodemailer-raw', round), inRound('pipelined-raw', round));
    const vsCeiling = pairedRatio(runsOf('product', n), roundCeiling);
    // Judged from 10k subscribers up: a 1k send is half a second in a fresh process, mostly fixed costs.
    const ceilingJudged = n >= 10_000;
    rows.push({
      section,
      figure: 'product vs sink ceiling max(b1,b2)',
      value: prod ? fmt.rate(prod.msgsPerSec) : 'failed',
      baseline: ceiling ? fmt.rate(ceiling.msgsPerSec) : '—',
      ratio: vsCeiling ? fmt.pct(vsCeiling.median) : '—',
      target: ceilingJudged ? '≥ 60 %' : '(≥ 60 % from 10k)',
      result: ceilingJudged ? verdict(vsCeiling?.median ?? null, { min: 0.6 }) : '—',
      ...(vsCeiling && vsCeiling.all.length > 1
        ? { note: `median of the rounds' ratios ${vsCeiling.all.map(fmt.pct).join(', ')}` }
        : {}),
    });
    if (prod && b1)
      rows.push({
        section,
        figure: 'product vs (b1) nodemailer raw replay',
        value: fmt.rate(prod.msgsPerSec),
        baseline: fmt.rate(b1.msgsPerSec),
        ratio: fmt.pct(prod.msgsPerSec / b1.msgsPerSec),
        target: '',
        result: '—',
        note: 'the ceiling of any sender that hands raw messages to nodemailer',
      });
    const vsNoDb = pairedRatio(runsOf('product', n), (round) => inRound('fastpath-nodb', round));
    const overhead = vsNoDb ? 1 - vsNoDb.median : null;
    const rounds =
      vsNoDb && vsNoDb.all.length > 1
        ? `median of the rounds' ${vsNoDb.all.map((r) => fmt.pct(1 - r)).join(', ')}; `
        : '';
    rows.push({
      section,
      figure: 'bookkeeping (1 − product / no-DB)',
      ...(prod && nodb
        ? {
            note: `${rounds}by sender CPU: ${fmt.pct(1 - nodb.cpuMsPerMsg / prod.cpuMsPerMsg)} of the product's CPU/msg (${prod.cpuMsPerMsg.toFixed(2)} vs ${nodb.cpuMsPerMsg.toFixed(2)} ms)`,
          }
        : {}),
      value: overhead === null ? '—' : fmt.pct(overhead),
      baseline: nodb ? fmt.rate(nodb.msgsPerSec) : '—',
      ratio: vsNoDb ? fmt.ratio(vsNoDb.median) : '—',
      target: 'reported (accepted ≤ ~20 % of CPU)',
      result: '—',
    });
  }

  /** A paired section's row: `kind` over `baseKind`, ratio per round, the median judged against `min` when `judged`. */
  const pairedRow = (
    series: 'variants' | 'dkim',
    n: number,
    kind: SenderKind,
    baseKind: SenderKind,
    o: { section: string; figure: string; target: string; min: number; judged: boolean; pct: boolean; note: string },
  ) => {
    const run = (k: SenderKind) => {
      const runs = runsOf(k, n, series);
      return runs.length ? medianRun(runs) : null;
    };
    const [x, base] = [run(kind), run(baseKind)];
    const ratio = pairedRatio(runsOf(kind, n, series), (round) =>
      runsOf(baseKind, n, series).find((b) => b.round === round),
    );
    const show = (v: number) => (o.pct ? fmt.pct(v) : fmt.ratio(v));
    rows.push({
      section: o.section,
      figure: o.figure,
      value: x ? perf(x) : 'failed',
      baseline: base ? perf(base) : '—',
      ratio: ratio ? show(ratio.median) : '—',
      target: o.judged ? o.target : `(${o.target} from 10k)`,
      result:
        x?.problems.length || base?.problems.length
          ? 'FAIL'
          : o.judged
            ? verdict(ratio?.median ?? null, { min: o.min })
            : '—',
      note: `${o.note}${ratio && ratio.all.length > 1 ? `; median of the rounds' ratios ${ratio.all.map(show).join(', ')}` : ''}; CPU/msg over all threads ${x?.cpuMsPerMsg.toFixed(2) ?? '?'} vs ${base?.cpuMsPerMsg.toFixed(2) ?? '?'} ms; first message after ${firstMessage(x)} vs ${firstMessage(base)}${problems(x)}${problems(base)}`,
    });
  };
  if (p.sections.includes('variants')) {
    const n = p.variantsAt;
    pairedRow('variants', n, 'product-variants', 'product', {
      section: `variants ${fmt.n(n)}`,
      figure: `product over ${r.variantLists ?? '?'} variants vs one variant`,
      target: '≥ 90 %',
      min: 0.9,
      judged: n >= 10_000,
      pct: true,
      note: `${p.variantPreferences} preferences (3 topics × size 5/10) that rank to ${r.variantLists ?? '?'} distinct digests, each the compiled templates filled (no MJML in the send)`,
    });
  }
  if (p.sections.includes('dkim')) {
    const n = p.dkimAt;
    pairedRow('dkim', n, 'product-dkim-workers', 'product-dkim-main', {
      section: `dkim ${fmt.n(n)}`,
      figure: `signed send, DKIM_WORKERS=default (${r.cores ?? '?'}) vs 0`,
      target: '≥ 1.60×',
      min: 1.6,
      judged: n >= 10_000,
      pct: false,
      note: 'product sendDigest, RSA-2048 rsa-sha256; baseline signs on the main thread (DKIM_WORKERS=0)',
    });
  }

  if (r.startup) {
    const x = r.startup;
    const section = 'start-up';
    const npm = `npm run env ${fmt.ms(x.npmRunEnvMs)}`;
    const start = (figure: string, ms: number, judged: boolean, note: string) =>
      rows.push({
        section,
        figure,
        value: fmt.ms(ms),
        baseline: npm,
        ratio: fmt.ratio(ms / x.npmRunEnvMs),
        target: judged ? '≤ 1.50×' : '',
        result: judged ? verdict(ms / x.npmRunEnvMs, { max: 1.5 }) : '—',
        note,
      });
    start(
      'npm run send-now -- --help',
      x.helpMs,
      true,
      `medians of ${x.reps}, wall time to exit; npm --version ${fmt.ms(x.npmVersionMs)}; through tsx from the sources: ${fmt.ms(x.helpTsxMs)}`,
    );
    start('npm run subscribers -- count', x.countMs, true, `1k subscribers; medians of ${x.reps}`);
    start(
      'npm run send-now -- --dry-run',
      x.dryRunMs,
      false,
      `1k subscribers, the day refreshed from the local papers API, ranked, its digest assembled; medians of ${x.reps}`,
    );
  }

  if (r.intake) rows.push(...intakeRows(r.intake));
  if (r.day)
    rows.push(
      ...dayRows(
        r.day,
        [...p.sendSizes].reverse().reduce<SendRun | null>((m, n) => m ?? med('product', n), null),
      ),
    );

  if (p.sections.includes('memory')) {
    const peak = (n: number) => r.sendNow.find((m) => m.n === n);
    const base = peak(1000);
    for (const n of p.memorySizes) {
      const m = peak(n);
      const ratio = m && base ? m.peakMb / base.peakMb : null;
      // The targets: at most 130 MB at 1k and at 100k, and flat: 100k and 1M within 1.3× of 1k.
      const capped = n === 1000 || n === 100_000;
      const flat = n >= 100_000;
      const result =
        !m || m.problems.length
          ? 'FAIL'
          : capped && m.peakMb > 130
            ? 'FAIL'
            : flat
              ? verdict(ratio, { max: 1.3 })
              : capped
                ? 'pass'
                : '—';
      rows.push({
        section: 'memory',
        figure: `npm run send-now peak RSS, ${fmt.n(n)} subscribers`,
        value: m ? fmt.mb(m.peakMb) : 'failed',
        baseline: base ? `${fmt.mb(base.peakMb)} @1k` : '—',
        ratio: ratio === null ? '—' : fmt.ratio(ratio),
        target: [capped ? '≤ 130 MB' : '', flat ? '≤ 1.30×' : ''].filter(Boolean).join(', '),
        result,
        ...(m
          ? {
              note: `node scripts/launch.mjs send-now (dist/, no tsx), the whole process's maxRSS; ${fmt.ms(m.wallMs)} from spawn to exit${m.problems.length ? `; PROBLEMS: ${m.problems.join('; ')}` : ''}`,
            }
          : {}),
      });
    }
    if (p.mode === 'quick')
      rows.push({
        section: 'memory',
        figure: '100k ≤ 130 MB and ≤ 1.3× 1k',
        value: 'not run',
        baseline: '',
        ratio: '',
        target: '≤ 130 MB, ≤ 1.30×',
        result: 'n/a',
        note: 'the 100k run is in the default and --full runs',
      });
  }

  rows.push(...appRows(p, r));
  return rows;
}
