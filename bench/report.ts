import { cpus, loadavg, totalmem, release, platform } from 'node:os';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  loadAvgAtStart: number[];
  loadAvgAtEnd?: number[];
}

export function machine(): Machine {
  const c = cpus();
  return {
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()}`,
    loadAvgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** The middle item by `value` (the upper one of two for an even count); items must not be empty. */
export function medianBy<T>(items: readonly T[], value: (item: T) => number): T {
  return [...items].sort((a, b) => value(a) - value(b))[Math.floor(items.length / 2)]!;
}

export type Verdict = 'pass' | 'FAIL' | '—' | 'n/a';

/** One line of the table; `value`/`baseline` are display strings, the numbers go to the JSON. */
export interface Row {
  section: string;
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  result: Verdict;
  note?: string;
}

export const fmt = {
  rate: (x: number) => `${Math.round(x).toLocaleString('en-US')}/s`,
  ms: (x: number) => (x >= 100 ? `${Math.round(x)} ms` : x >= 10 ? `${x.toFixed(1)} ms` : `${x.toFixed(2)} ms`),
  us: (x: number) => (x >= 100 ? `${Math.round(x)} µs` : `${x.toFixed(1)} µs`),
  mb: (x: number) => `${Math.round(x)} MB`,
  ratio: (x: number) => `${x.toFixed(2)}×`,
  pct: (x: number) => `${(x * 100).toFixed(1)} %`,
  n: (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n)),
};

/** Pass when ratio ≥ min (or ≤ max). */
export function verdict(ratio: number | null, target: { min?: number; max?: number }): Verdict {
  if (ratio === null || !Number.isFinite(ratio)) return 'n/a';
  if (target.min !== undefined && ratio < target.min) return 'FAIL';
  if (target.max !== undefined && ratio > target.max) return 'FAIL';
  return 'pass';
}

export function renderTable(rows: Row[]): string {
  const headers = ['figure', 'value', 'baseline', 'ratio', 'target', 'result'];
  const cells = rows.map((r) => [`${r.section}: ${r.figure}`, r.value, r.baseline, r.ratio, r.target, r.result]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  const out = [line(headers), widths.map((w) => '-'.repeat(w)).join('  ')];
  let section = rows[0]?.section;
  rows.forEach((r, i) => {
    if (r.section !== section) {
      out.push('');
      section = r.section;
    }
    out.push(line(cells[i]!));
  });
  const notes = rows.filter((r) => r.note).map((r) => `  * ${r.section}: ${r.figure}: ${r.note}`);
  return [...out, ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}

/** The same table as GitHub markdown, for bench/README.md. */
export function renderMarkdown(rows: Row[]): string {
  const out = ['| figure | value | baseline | ratio | target | result |', '|---|---:|---:|---:|---:|:---:|'];
  for (const r of rows)
    out.push(`| ${r.section}: ${r.figure} | ${r.value} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.result} |`);
  return out.join('\n');
}
